package client

import (
	"math"
	"math/rand/v2"
	"time"
)

// backoff computes reconnection delays as socket.io-client does: the base
// delay doubles with each attempt, is moved up or down by a random part of
// itself (at most jitter times it), and is capped at max.
type backoff struct {
	min, max time.Duration
	jitter   float64
	attempts int
	rand     func() float64 // [0, 1); rand.Float64 unless a test sets it
}

func newBackoff(min, max time.Duration, jitter float64) *backoff {
	return &backoff{min: min, max: max, jitter: jitter, rand: rand.Float64}
}

// duration returns the next delay and counts the attempt.
func (b *backoff) duration() time.Duration {
	ms := float64(b.min.Milliseconds()) * math.Pow(2, float64(b.attempts))
	b.attempts++
	if b.jitter > 0 {
		r := b.rand()
		deviation := math.Floor(r * b.jitter * ms)
		if int(math.Floor(r*10))&1 == 0 {
			ms -= deviation
		} else {
			ms += deviation
		}
	}
	d := time.Duration(ms) * time.Millisecond
	if d > b.max || ms > float64(math.MaxInt64/int64(time.Millisecond)) {
		d = b.max
	}
	return d
}

func (b *backoff) reset() { b.attempts = 0 }
