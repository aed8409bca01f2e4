package client

import (
	"testing"
	"time"
)

// The delays follow socket.io-client's back-off: base·2^n, moved down (even
// first decimal of the random draw) or up (odd) by floor(r·f·base·2^n) ms,
// capped at the maximum.
func TestBackoffDurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    float64
		want []time.Duration
	}{
		{"no jitter draw", 0, []time.Duration{1000, 2000, 4000, 5000, 5000}},
		{"down", 0.25, []time.Duration{875, 1750, 3500, 5000, 5000}}, // floor(2.5)=2 even: minus r·0.5
		{"up", 0.35, []time.Duration{1175, 2350, 4700, 5000, 5000}},  // floor(3.5)=3 odd: plus
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackoff(time.Second, 5*time.Second, 0.5)
			b.rand = func() float64 { return tc.r }
			for i, want := range tc.want {
				if got := b.duration(); got != want*time.Millisecond {
					t.Fatalf("attempt %d: %v, want %v", i, got, want*time.Millisecond)
				}
			}
			if b.attempts != len(tc.want) {
				t.Fatalf("attempts %d", b.attempts)
			}
			b.reset()
			if got := b.duration(); got != tc.want[0]*time.Millisecond {
				t.Fatalf("after reset: %v", got)
			}
		})
	}
}

func TestBackoffWithinFactor(t *testing.T) {
	b := newBackoff(100*time.Millisecond, 10*time.Second, 0.5)
	for n := 0; n < 7; n++ {
		base := 100 * time.Millisecond << n
		d := b.duration()
		if lo, hi := base/2, base+base/2; d < lo || d > hi {
			t.Fatalf("attempt %d: %v not within [%v, %v]", n, d, lo, hi)
		}
	}
	huge := newBackoff(time.Second, 3*time.Second, 0.5)
	for i := 0; i < 200; i++ { // 2^200 ms: must cap, not overflow
		if d := huge.duration(); d > 3*time.Second || d < 0 {
			t.Fatalf("attempt %d: %v", i, d)
		}
	}
}
