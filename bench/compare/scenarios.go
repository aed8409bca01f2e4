package main

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The three servers compared, in the order of the tables.
const (
	ours = "ours"
	node = "node"
	raw  = "raw"
)

var targetNames = []string{ours, node, raw}

// targetLabel is how the tables and the plot name a target.
var targetLabel = map[string]string{
	ours: "ours (siobench)",
	node: "Node (socket.io)",
	raw:  "raw (gws)",
}

// sizes are the parameters of one comparison: the full one, or -quick.
type sizes struct {
	Duration    time.Duration // measured time of echo, polling-echo and fanout
	Warmup      time.Duration
	Drain       time.Duration
	Conns       int           // connections: idle WebSocket connections
	Hold        time.Duration // connections: how long they are held before RSS is read
	EchoC       [2]int        // echo: concurrent clients, small and large
	PollingC    int           // polling-echo: concurrent clients
	FanoutN     [2]int        // fanout: receivers, small and large
	FanoutRate  float64       // fanout at a fixed rate: deliveries per second (broadcasts/s × receivers)
	StormN      int           // storm: clients dropped and reconnected
	Payload     int           // bytes of padding of echo and fanout
	DialConc    int           // connections opened at once (connections, fanout, storm's first connect)
	RunTimeout  time.Duration // bound of one generator run beyond its own phases
	ServerStart time.Duration // bound of a server's start
	Pause       time.Duration // between two runs, for the sockets of the last to close
}

func fullSizes() sizes {
	return sizes{
		// Drain: at 10,000 receivers and max rate the 32 broadcasts in
		// flight take seconds to reach everyone (p99 2–4 s here); what is
		// still due after the drain counts as lost, so it must outlast that.
		Duration: 10 * time.Second, Warmup: time.Second, Drain: 15 * time.Second,
		// Each process may hold 20,000 files: the server and the
		// generator hold one per connection each, plus a few of their own.
		Conns: 19000, Hold: 3 * time.Second,
		EchoC: [2]int{100, 1000}, PollingC: 100,
		FanoutN: [2]int{1000, 10000}, FanoutRate: 50000,
		StormN:  5000,
		Payload: 64, DialConc: 100,
		RunTimeout: 120 * time.Second, ServerStart: 30 * time.Second, Pause: time.Second,
	}
}

func quickSizes() sizes {
	return sizes{
		Duration: time.Second, Warmup: 300 * time.Millisecond, Drain: 2 * time.Second,
		Conns: 300, Hold: 300 * time.Millisecond,
		EchoC: [2]int{10, 50}, PollingC: 10,
		FanoutN: [2]int{50, 200}, FanoutRate: 5000,
		StormN:  100,
		Payload: 64, DialConc: 100,
		RunTimeout: 60 * time.Second, ServerStart: 30 * time.Second, Pause: 200 * time.Millisecond,
	}
}

// metric is one number a scenario reports, read from the results of the
// generator's JSON line (a dotted path under "results").
type metric struct {
	Key    string // unique within its scenario
	Path   string // in results, e.g. "latency.p99_ms"
	Name   string // in the tables
	Unit   string // in the tables, after the value
	Scale  float64
	Higher bool // higher is better
	Sum    bool // a count that the tables show summed over the rounds, not as a median
	Plot   string
}

// value reads m from the results of one run.
func (m metric) value(results map[string]any) (float64, bool) {
	v, ok := lookup(results, m.Path)
	if !ok {
		return 0, false
	}
	if m.Scale != 0 {
		v *= m.Scale
	}
	return v, true
}

// scenario is one measurement: one generator run per target and round.
type scenario struct {
	Key     string   // unique, stable: the checks refer to it
	Group   string   // what -scenarios selects: connections (WebSocket and polling), echo, fanout, polling-echo, storm
	Title   string   // in the tables, with the sizes
	Args    []string // the generator's flags (-target, -proto and -server-pid are added)
	Targets []string // the targets it runs on
	Metrics []metric
	Timeout time.Duration // bound of one generator run
	MemPID  bool          // the generator reads the server's RSS (-server-pid)
}

// runsOn reports whether s runs on target t in a comparison of targets.
func (s scenario) runsOn(t string, targets []string) bool {
	return slices.Contains(s.Targets, t) && slices.Contains(targets, t)
}

var latencyMetrics = []metric{
	{Key: "p50", Path: "latency.p50_ms", Name: "latency p50", Unit: "ms"},
	{Key: "p99", Path: "latency.p99_ms", Name: "latency p99", Unit: "ms"},
	{Key: "p999", Path: "latency.p999_ms", Name: "latency p99.9", Unit: "ms"},
}

// scenarios returns the comparison's scenarios for sz, in the order they
// run within a round.
func scenarios(sz sizes) []scenario {
	d := func(x time.Duration) string { return x.String() }
	common := []string{"-payload", strconv.Itoa(sz.Payload), "-dial-concurrency", strconv.Itoa(sz.DialConc)}
	phases := func() []string {
		return []string{"-duration", d(sz.Duration), "-warmup", d(sz.Warmup), "-drain", d(sz.Drain)}
	}
	bound := func(extra time.Duration) time.Duration {
		return 2*(sz.Duration+sz.Warmup+sz.Drain+sz.Hold) + extra + sz.RunTimeout
	}
	var out []scenario
	// memMetrics are the metrics of an idle-connections scenario, the
	// first two plotted under these labels ("": not plotted).
	memMetrics := func(memPlot, ratePlot string) []metric {
		return []metric{
			{Key: "mem", Path: "rss_bytes_per_conn", Name: "server memory per connection", Unit: "KiB", Scale: 1.0 / 1024, Plot: memPlot},
			{Key: "rate", Path: "connect_rate", Name: "connect rate", Unit: "conn/s", Higher: true, Plot: ratePlot},
			{Key: "hs99", Path: "handshake_latency.p99_ms", Name: "handshake p99", Unit: "ms"},
			{Key: "rss", Path: "rss_held_bytes", Name: "server RSS with N open", Unit: "MiB", Scale: 1.0 / (1 << 20)},
		}
	}
	out = append(out, scenario{
		Key: "connections", Group: "connections",
		Title:   fmt.Sprintf("idle WebSocket connections, N=%s", thousands(sz.Conns)),
		Args:    append([]string{"-scenario", "connections", "-n", strconv.Itoa(sz.Conns), "-hold", d(sz.Hold)}, common...),
		Targets: []string{ours, node, raw},
		Metrics: memMetrics("memory / conn (lower is better)", "connect rate"),
		Timeout: bound(0),
		MemPID:  true,
	}, scenario{
		Key: "polling-connections", Group: "connections",
		Title:   fmt.Sprintf("idle HTTP long-polling sessions (a GET pending each), N=%s", thousands(sz.Conns)),
		Args:    append([]string{"-scenario", "polling-connections", "-n", strconv.Itoa(sz.Conns), "-hold", d(sz.Hold)}, common...),
		Targets: []string{ours, node}, // the raw server speaks WebSocket only
		Metrics: memMetrics("polling memory / session (Node = 1)", ""),
		Timeout: bound(0),
		MemPID:  true,
	})
	for i, c := range sz.EchoC {
		out = append(out, scenario{
			Key: []string{"echo-small", "echo-large"}[i], Group: "echo",
			Title:   fmt.Sprintf("echo with ack over WebSocket, C=%s", thousands(c)),
			Args:    append(append([]string{"-scenario", "echo", "-c", strconv.Itoa(c)}, phases()...), common...),
			Targets: []string{ours, node, raw},
			Metrics: append([]metric{
				{Key: "acks", Path: "acks_per_s", Name: "acks/s", Higher: true, Plot: fmt.Sprintf("echo C=%s acks/s", thousands(c))},
			}, latencyMetrics...),
			Timeout: bound(0),
		})
	}
	for i, n := range sz.FanoutN {
		size := []string{"small", "large"}[i]
		rate := sz.FanoutRate / float64(n)
		loss := []metric{
			{Key: "lost", Path: "lost", Name: "lost", Sum: true},
			{Key: "dup", Path: "duplicated", Name: "duplicated", Sum: true},
		}
		out = append(out, scenario{
			Key: "fanout-" + size + "-max", Group: "fanout",
			Title:   fmt.Sprintf("fan-out to %s receivers, max rate", thousands(n)),
			Args:    append(append([]string{"-scenario", "fanout", "-n", strconv.Itoa(n), "-rate", "0"}, phases()...), common...),
			Targets: []string{ours, node, raw},
			Metrics: append([]metric{
				{Key: "deliveries", Path: "deliveries_per_s", Name: "deliveries/s", Higher: true, Plot: fmt.Sprintf("fan-out %s deliveries/s", thousands(n))},
				{Key: "p99", Path: "latency.p99_ms", Name: "latency p99", Unit: "ms"},
			}, loss...),
			Timeout: bound(time.Duration(n) * time.Millisecond),
		})
		out = append(out, scenario{
			Key: "fanout-" + size + "-rate", Group: "fanout",
			Title: fmt.Sprintf("fan-out to %s receivers, %s broadcasts/s (%s deliveries/s)",
				thousands(n), strconv.FormatFloat(rate, 'f', -1, 64), thousands(int(sz.FanoutRate))),
			Args:    append(append([]string{"-scenario", "fanout", "-n", strconv.Itoa(n), "-rate", strconv.FormatFloat(rate, 'f', -1, 64)}, phases()...), common...),
			Targets: []string{ours, node, raw},
			Metrics: append([]metric{
				{Key: "deliveries", Path: "deliveries_per_s", Name: "deliveries/s", Higher: true},
				latencyMetrics[0], latencyMetrics[1], latencyMetrics[2],
			}, loss...),
			Timeout: bound(time.Duration(n) * time.Millisecond),
		})
	}
	out = append(out, scenario{
		Key: "polling-echo", Group: "polling-echo",
		Title:   fmt.Sprintf("echo with ack over HTTP long-polling, C=%s", thousands(sz.PollingC)),
		Args:    append(append([]string{"-scenario", "polling-echo", "-c", strconv.Itoa(sz.PollingC)}, phases()...), common...),
		Targets: []string{ours, node}, // the raw server speaks WebSocket only
		Metrics: append([]metric{
			{Key: "acks", Path: "acks_per_s", Name: "acks/s", Higher: true, Plot: "polling echo acks/s (Node = 1)"},
		}, latencyMetrics...),
		Timeout: bound(0),
	})
	out = append(out, scenario{
		Key: "storm", Group: "storm",
		Title: fmt.Sprintf("reconnect storm: %s clients dropped at once, reconnecting %s at a time",
			thousands(sz.StormN), thousands(min(sz.StormN, 1000))),
		Args:    []string{"-scenario", "storm", "-n", strconv.Itoa(sz.StormN), "-payload", strconv.Itoa(sz.Payload)},
		Targets: []string{ours, node, raw},
		Metrics: []metric{
			{Key: "rate", Path: "reconnect_rate", Name: "reconnections/s", Higher: true, Plot: "storm reconnections/s"},
			{Key: "time", Path: "reconnect_s", Name: "time until all are back", Unit: "s"},
			{Key: "p99", Path: "reconnect_latency.p99_ms", Name: "reconnect latency p99", Unit: "ms"},
		},
		Timeout: bound(time.Minute),
	})
	return out
}

// thousands writes n with comma separators: 19,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 1000 {
		return s
	}
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}
