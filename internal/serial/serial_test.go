package serial

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOrderAndBound(t *testing.T) {
	var q Queue
	var mu sync.Mutex
	var got []int
	release := make(chan struct{})
	started := make(chan struct{})
	q.Push(func() { close(started); <-release }) // holds the goroutine: later jobs wait
	<-started                                    // running, it no longer counts as waiting
	for i := 0; i < 100; i++ {
		if !q.TryPush(func() { mu.Lock(); got = append(got, i); mu.Unlock() }, 100) {
			t.Fatalf("job %d refused below the bound", i)
		}
	}
	if q.TryPush(func() {}, 100) {
		t.Fatal("job accepted past the bound")
	}
	close(release)
	done := make(chan struct{})
	q.Push(func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("queue did not drain")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range got {
		if v != i {
			t.Fatalf("job %d ran as %d-th", v, i)
		}
	}
	if len(got) != 100 {
		t.Fatalf("%d jobs ran, want 100", len(got))
	}
}
