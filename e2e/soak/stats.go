package main

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// counter names a cumulative count of the run.
type counter int

const (
	cLives         counter = iota // client lives started (a manager each)
	cConnects                     // socket connections, first ones and reconnections
	cReconnects                   // connections of a socket after its first
	cRecovered                    // reconnections whose session the server restored
	cConnectErrors                // connect_error seen by a client (expected ones included)
	cEchoOK                       // echoes acknowledged, with the right content
	cEchoFail                     // echoes without acknowledgement (timeout, disconnection)
	cSayOK                        // room broadcasts requested and acknowledged
	cSayFail                      // room broadcasts not acknowledged
	cAskOK                        // server-to-client acknowledgements that came back right
	cAskFail                      // ... that did not come back
	cJoins                        // room joins acknowledged
	cLeaves                       // room leaves acknowledged
	cRoomMsgs                     // room messages delivered to clients
	cTicks                        // volatile ticks delivered
	cLostClean                    // room messages a client without faults never got
	cLostFaulted                  // room messages a client behind the fault proxy never got
	cDupFaulted                   // room messages a client behind the proxy got twice or late
	cExtraFaulted                 // room messages a client behind the proxy got outside its membership
	cDynSwitches                  // dynamic namespaces joined
	cAuthRefused                  // refusals of the /auth middleware, as expected
	cRogueAttempts                // misbehaving clients started
	cRogueCut                     // ... cut off by the server as expected
	cRogueFailed                  // ... not cut off, or answered wrongly
	cFaults                       // faults injected by the proxy (drops, cuts, stalls)
	cAnomalies                    // broken invariants (the run fails)
	nCounters
)

var counterNames = []string{
	"lives", "connects", "reconnects", "recovered", "connect_errors",
	"echo_ok", "echo_fail", "say_ok", "say_fail", "ask_ok", "ask_fail",
	"joins", "leaves", "room_msgs", "ticks",
	"lost_clean", "lost_faulted", "dup_faulted", "extra_faulted",
	"dyn_switches", "auth_refused",
	"rogue_attempts", "rogue_cut", "rogue_failed", "faults", "anomalies",
}

type countersSnapshot [nCounters]int64

// stats are the counters of a run and what went wrong, by kind.
type stats struct {
	c            [nCounters]atomic.Int64
	clientsAlive atomic.Int64
	start        time.Time

	mu       sync.Mutex
	problems map[string]*problem // by kind
}

// problem is one kind of thing that went wrong: fatal ones are broken
// invariants; the others are what the faults are expected to cause.
type problem struct {
	Kind    string
	Fatal   bool
	Count   int
	Samples []string // the first few, with their time
}

const problemSamples = 8

func newStats() *stats {
	return &stats{start: time.Now(), problems: make(map[string]*problem)}
}

func (st *stats) add(c counter, n int64) { st.c[c].Add(n) }
func (st *stats) inc(c counter)          { st.c[c].Add(1) }
func (st *stats) get(c counter) int64    { return st.c[c].Load() }

func (st *stats) snapshot() countersSnapshot {
	var s countersSnapshot
	for i := range s {
		s[i] = st.c[i].Load()
	}
	return s
}

// anomaly records a broken invariant: the run will fail.
func (st *stats) anomaly(kind, format string, args ...any) {
	st.inc(cAnomalies)
	st.record(kind, true, format, args...)
}

// note records something expected under faults, for the report.
func (st *stats) note(kind, format string, args ...any) { st.record(kind, false, format, args...) }

func (st *stats) record(kind string, fatal bool, format string, args ...any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := st.problems[kind]
	if p == nil {
		p = &problem{Kind: kind, Fatal: fatal}
		st.problems[kind] = p
	}
	p.Count++
	if len(p.Samples) < problemSamples {
		at := time.Since(st.start).Round(100 * time.Millisecond)
		p.Samples = append(p.Samples, fmt.Sprintf("%v: %s", at, fmt.Sprintf(format, args...)))
	}
}

// problemList returns the problems, fatal ones first, then by count.
func (st *stats) problemList() []problem {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []problem
	for _, k := range slices.Sorted(maps.Keys(st.problems)) {
		p := *st.problems[k]
		p.Samples = slices.Clone(p.Samples)
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b problem) int {
		if a.Fatal != b.Fatal {
			if a.Fatal {
				return -1
			}
			return 1
		}
		return b.Count - a.Count
	})
	return out
}

// tally counts strings (close reasons...), safely.
type tally struct {
	mu sync.Mutex
	m  map[string]int64
}

func (t *tally) add(k string) {
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[string]int64)
	}
	t.m[k]++
	t.mu.Unlock()
}

func (t *tally) snapshot() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.m)
}
