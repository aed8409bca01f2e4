package delivery

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// tb is what the code of a variant needs of a test: *testing.T, or a
// recorder when the variants run concurrently.
type tb interface {
	Helper()
	Log(args ...any)
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

var _ tb = (*testing.T)(nil)

// recorder collects what a variant reports, to be replayed on its subtest
// afterwards: the variants run on goroutines of their own, all at once
// whatever -parallel says, since they mostly wait (on timers, on the
// network, on Node). Fatal ends the variant's goroutine (runtime.Goexit),
// as it ends a test's.
type recorder struct {
	mu    sync.Mutex
	lines []recLine
	fatal bool
}

type recLine struct {
	fail bool
	text string
}

func (r *recorder) Helper() {}

func (r *recorder) add(fail bool, text string) {
	r.mu.Lock()
	r.lines = append(r.lines, recLine{fail: fail, text: text})
	r.mu.Unlock()
}

func (r *recorder) Log(args ...any)                   { r.add(false, fmt.Sprint(args...)) }
func (r *recorder) Logf(format string, args ...any)   { r.add(false, fmt.Sprintf(format, args...)) }
func (r *recorder) Errorf(format string, args ...any) { r.add(true, fmt.Sprintf(format, args...)) }
func (r *recorder) Fatal(args ...any) {
	r.add(true, fmt.Sprint(args...))
	r.mu.Lock()
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }

// replay reports on t what was recorded, in order.
func (r *recorder) replay(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if l.fail {
			t.Error(l.text)
		} else {
			t.Log(l.text)
		}
	}
	if r.fatal {
		t.FailNow()
	}
}
