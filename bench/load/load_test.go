package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/bench/raw/rawsrv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newContractServer is the benchmark contract of bench/server (siobench),
// in process.
func newContractServer() *socketio.Server {
	return newContractServerWith(&socketio.ServerOptions{})
}

// newContractServerWith is newContractServer with opts (its Logger is set).
func newContractServerWith(opts *socketio.ServerOptions) *socketio.Server {
	opts.Logger = slog.New(slog.DiscardHandler)
	io := socketio.NewServer(opts)
	io.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(e *socketio.Event) {
			_ = e.Ack().Send(e.Args.Values()...)
		})
		s.On("join", func(e *socketio.Event) {
			var room string
			if err := e.Bind(&room); err != nil {
				return
			}
			s.Join(room)
			_ = e.Ack().Send()
		})
		s.On("bcast", func(e *socketio.Event) {
			var room string
			if len(e.Args) < 2 || e.Args[0].Decode(&room) != nil {
				return
			}
			_ = io.To(room).Emit("msg", e.Args[1])
		})
		s.On("bcastall", func(e *socketio.Event) {
			if len(e.Args) >= 1 {
				_ = io.Emit("msg", e.Args[0])
			}
		})
	})
	return io
}

// The keys every JSON line has, and each scenario's results.
var (
	topKeys     = []string{"schema", "time", "scenario", "proto", "transport", "target", "params", "results", "cpu", "cpu_total", "generator_saturated", "gomaxprocs", "disconnects", "warnings", "ok", "error"}
	paramKeys   = []string{"n", "n_requested", "c", "dial_concurrency", "duration_s", "warmup_s", "rate", "window", "payload_bytes", "room", "hold_s", "server_pid", "timeout_s", "drain_s", "storm_timeout_s", "fd_limit"}
	cpuKeys     = []string{"user_s", "sys_s", "wall_s", "cores"}
	latencyKeys = []string{"count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"}
	resultKeys  = map[string][]string{
		"connections":         {"connections", "failed", "first_error", "connect_s", "connect_rate", "handshake_latency", "held_s", "open_after_hold", "rss_before_bytes", "rss_up_bytes", "rss_held_bytes", "rss_bytes_per_conn", "rss_error"},
		"echo":                {"clients", "failed", "first_error", "acks", "measured_s", "acks_per_s", "latency", "bad_acks", "errors", "unfinished"},
		"polling-echo":        {"clients", "failed", "first_error", "acks", "measured_s", "acks_per_s", "latency", "bad_acks", "errors", "unfinished"},
		"polling-connections": {"connections", "failed", "first_error", "connect_s", "connect_rate", "handshake_latency", "held_s", "open_after_hold", "rss_before_bytes", "rss_up_bytes", "rss_held_bytes", "rss_bytes_per_conn", "rss_error"},
		"fanout":              {"mode", "receivers", "failed", "first_error", "broadcasts_sent", "broadcasts_measured", "measured_s", "broadcasts_per_s", "deliveries", "deliveries_expected", "deliveries_per_s", "latency", "lost", "duplicated", "out_of_order", "malformed", "sender_lag_max_ms", "stalled", "drain_s"},
		"storm":               {"clients", "failed", "first_error", "initial_connect_s", "reconnect_concurrency", "reconnected", "reconnect_failed", "reconnect_first_error", "retries", "drop_s", "reconnect_s", "reconnect_rate", "reconnect_latency"},
	}
	latencyOf = map[string]string{"connections": "handshake_latency", "polling-connections": "handshake_latency", "echo": "latency", "polling-echo": "latency", "fanout": "latency", "storm": "reconnect_latency"}
)

func hasKeys(t *testing.T, what string, m map[string]any, keys []string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: no %q in %v", what, k, m)
		}
	}
	if len(m) != len(keys) {
		t.Errorf("%s: %d keys, want %d: %v", what, len(m), len(keys), m)
	}
}

// runLoad runs sioload with args and returns its JSON line, checked for
// the fields of the contract.
func runLoad(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, args, &out, &errb)
	if err != nil {
		t.Errorf("sioload %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one JSON line, got %q", out.String())
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rep); err != nil {
		t.Fatalf("JSON line: %v: %s", err, lines[0])
	}
	hasKeys(t, "report", rep, topKeys)
	if rep["ok"] != true || rep["error"] != "" {
		t.Fatalf("ok=%v error=%v", rep["ok"], rep["error"])
	}
	scenario, _ := rep["scenario"].(string)
	hasKeys(t, "params", rep["params"].(map[string]any), paramKeys)
	hasKeys(t, "cpu", rep["cpu"].(map[string]any), cpuKeys)
	hasKeys(t, "cpu_total", rep["cpu_total"].(map[string]any), cpuKeys)
	res, ok := rep["results"].(map[string]any)
	if !ok {
		t.Fatalf("results: %v", rep["results"])
	}
	hasKeys(t, "results", res, resultKeys[scenario])
	hasKeys(t, "latency", res[latencyOf[scenario]].(map[string]any), latencyKeys)
	if d := rep["disconnects"].(float64); d != 0 {
		t.Errorf("disconnects = %v, want 0", d)
	}
	return rep
}

func num(t *testing.T, rep map[string]any, key string) float64 {
	t.Helper()
	v, ok := rep["results"].(map[string]any)[key].(float64)
	if !ok {
		t.Fatalf("results.%s: not a number: %v", key, rep["results"])
	}
	return v
}

// checkScenarios runs every scenario briefly against target and checks
// what does not depend on timing: every request answered, every broadcast
// delivered once.
func checkScenarios(t *testing.T, proto, target string) {
	common := []string{"-proto", proto, "-target", target, "-timeout", "10s"}
	t.Run("connections", func(t *testing.T) {
		rep := runLoad(t, append(common, "-scenario", "connections", "-n", "20", "-dial-concurrency", "5", "-server-pid", strconv.Itoa(os.Getpid()))...)
		if num(t, rep, "connections") != 20 || num(t, rep, "failed") != 0 || num(t, rep, "open_after_hold") != 20 {
			t.Errorf("results: %v", rep["results"])
		}
		if num(t, rep, "rss_before_bytes") == 0 || num(t, rep, "rss_up_bytes") == 0 {
			t.Errorf("no RSS read: %v", rep["results"])
		}
	})
	t.Run("echo", func(t *testing.T) {
		rep := runLoad(t, append(common, "-scenario", "echo", "-c", "3", "-duration", "500ms", "-warmup", "50ms")...)
		if num(t, rep, "clients") != 3 || num(t, rep, "acks") == 0 || num(t, rep, "bad_acks") != 0 || num(t, rep, "errors") != 0 || num(t, rep, "unfinished") != 0 {
			t.Errorf("results: %v", rep["results"])
		}
	})
	for _, rate := range []string{"100", "0"} {
		t.Run("fanout-rate-"+rate, func(t *testing.T) {
			rep := runLoad(t, append(common, "-scenario", "fanout", "-n", "5", "-rate", rate, "-window", "4", "-duration", "300ms", "-warmup", "50ms")...)
			if num(t, rep, "receivers") != 5 || num(t, rep, "broadcasts_sent") == 0 {
				t.Errorf("results: %v", rep["results"])
			}
			if num(t, rep, "deliveries") != num(t, rep, "deliveries_expected") || num(t, rep, "lost") != 0 || num(t, rep, "duplicated") != 0 || num(t, rep, "malformed") != 0 {
				t.Errorf("lost or duplicated deliveries: %v", rep["results"])
			}
		})
	}
	t.Run("storm", func(t *testing.T) {
		rep := runLoad(t, append(common, "-scenario", "storm", "-n", "10")...)
		if num(t, rep, "clients") != 10 || num(t, rep, "reconnected") != 10 || num(t, rep, "reconnect_failed") != 0 {
			t.Errorf("results: %v", rep["results"])
		}
	})
	if proto == "sio" {
		t.Run("polling-echo", func(t *testing.T) {
			rep := runLoad(t, append(common, "-scenario", "polling-echo", "-c", "2", "-duration", "500ms", "-warmup", "50ms")...)
			if rep["transport"] != "polling" || num(t, rep, "clients") != 2 || num(t, rep, "acks") == 0 || num(t, rep, "bad_acks") != 0 || num(t, rep, "errors") != 0 {
				t.Errorf("results: %v", rep)
			}
		})
	}
}

// serveContract serves sio on a test server for the test's duration and
// returns its URL.
func serveContract(t *testing.T, sio *socketio.Server) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(sio.Path(), sio)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sio.Shutdown(ctx)
		ts.Close()
	})
	return ts.URL
}

func TestScenariosSocketIO(t *testing.T) {
	checkScenarios(t, "sio", serveContract(t, newContractServer()))
}

// TestPollingConnectionsHeld holds idle polling sessions for longer than
// a ping interval and timeout: the generator answers the pings, so none is
// lost (unanswered, every session would end after 1.7 s).
func TestPollingConnectionsHeld(t *testing.T) {
	opts := &socketio.ServerOptions{}
	opts.PingInterval, opts.PingTimeout = 200*time.Millisecond, 1500*time.Millisecond
	url := serveContract(t, newContractServerWith(opts))
	rep := runLoad(t, "-target", url, "-scenario", "polling-connections", "-n", "8", "-dial-concurrency", "3", "-hold", "2500ms", "-server-pid", strconv.Itoa(os.Getpid()))
	if rep["transport"] != "polling" || num(t, rep, "connections") != 8 || num(t, rep, "failed") != 0 || num(t, rep, "open_after_hold") != 8 {
		t.Errorf("results: %v", rep)
	}
	if num(t, rep, "rss_held_bytes") == 0 {
		t.Errorf("no RSS read: %v", rep["results"])
	}
}

func TestScenariosRaw(t *testing.T) {
	for _, mode := range []string{rawsrv.FanoutPrepared, rawsrv.FanoutCopy} {
		t.Run(mode, func(t *testing.T) {
			rs := rawsrv.New(&rawsrv.Options{Fanout: mode})
			ts := httptest.NewServer(rs)
			defer ts.Close()
			defer rs.Close()
			checkScenarios(t, "raw", "ws"+strings.TrimPrefix(ts.URL, "http")+"/")
		})
	}
}

func TestSetup(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"-scenario", "nope"}, "-scenario"},
		{[]string{"-proto", "raw", "-scenario", "polling-echo"}, "needs -proto sio"},
		{[]string{"-proto", "raw", "-scenario", "polling-connections"}, "needs -proto sio"},
		{[]string{"-proto", "nope"}, "-proto"},
		{[]string{"-target", "https://127.0.0.1:1"}, "TLS"},
		{[]string{"-scenario", "fanout", "-rate", "0", "-window", "0"}, "-window"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), tc.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.err)
		}
		var rep Report
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil || rep.OK || rep.Error == "" {
			t.Errorf("%v: want a JSON line with ok=false: %q", tc.args, out.String())
		}
	}

	// More connections than files: clamped, with a warning.
	g := &gen{opts: options{scenario: "connections", proto: "sio", n: 1 << 30, c: 10, timeout: time.Second, duration: time.Second, stormTimeout: time.Second, payload: 1, room: "r"}, stderr: &bytes.Buffer{}}
	rep := &Report{}
	if err := g.setup(rep); err != nil {
		t.Fatal(err)
	}
	if limit := fdLimit(); limit > 64 && (g.opts.n != int(limit-64) || len(g.warnings) != 1 || rep.Params.NRequested != 1<<30 || rep.Params.N != g.opts.n) {
		t.Errorf("limit %d: n = %d, params %+v, warnings %q", limit, g.opts.n, rep.Params, g.warnings)
	}
}

func TestHist(t *testing.T) {
	var h hist
	for v := int64(1); v <= 100000; v++ {
		h.record(v * 1000) // 1 µs .. 100 ms
	}
	for _, tc := range []struct {
		q    float64
		want float64
	}{{0.5, 50e6}, {0.9, 90e6}, {0.99, 99e6}, {0.999, 99.9e6}} {
		got := float64(h.quantile(tc.q))
		if d := (got - tc.want) / tc.want; d < -0.01 || d > 0.01 {
			t.Errorf("quantile(%v) = %v, want %v ±1%%", tc.q, got, tc.want)
		}
	}
	if h.max.Load() != 100e6 || h.total.Load() != 100000 {
		t.Errorf("max %d total %d", h.max.Load(), h.total.Load())
	}
	for v := uint64(0); v < 1<<20; v += 7 {
		lo, w := bucketBounds(bucketOf(v))
		if v < lo || v >= lo+w {
			t.Fatalf("%d not in bucket [%d, %d)", v, lo, lo+w)
		}
	}
	if i := bucketOf(1<<64 - 1); i >= histBuckets {
		t.Fatalf("bucket %d out of range", i)
	}
}

func TestCodec(t *testing.T) {
	for _, raw := range []bool{false, true} {
		c := newCodec(raw, 3, "r1")
		wantEcho, answer := `4242["echo","xxx"]`, `4342["xxx"]`
		if raw {
			wantEcho, answer = `e42:"xxx"`, `a42:"xxx"`
		}
		if got := string(c.echo(nil, 42)); got != wantEcho {
			t.Errorf("echo = %s, want %s", got, wantEcho)
		}
		if id, same, ok := c.ack([]byte(answer)); !ok || !same || id != 42 {
			t.Errorf("ack(%s) = %d %v %v", answer, id, same, ok)
		}
		if _, same, ok := c.ack([]byte(answer + "x")); !ok || same {
			t.Errorf("ack of changed args: same=%v ok=%v", same, ok)
		}
		bc := string(c.bcast(nil, 7, 123456789))
		wantBC := `42["bcast","r1",[7,123456789,"xxx"]]`
		delivery := `42["msg",[7,123456789,"xxx"]]`
		if raw {
			wantBC, delivery = `br1:[7,123456789,"xxx"]`, `m[7,123456789,"xxx"]`
		}
		if bc != wantBC {
			t.Errorf("bcast = %s, want %s", bc, wantBC)
		}
		if seq, ts, ok := c.delivery([]byte(delivery)); !ok || seq != 7 || ts != 123456789 {
			t.Errorf("delivery(%s) = %d %d %v", delivery, seq, ts, ok)
		}
		for _, bad := range []string{"", "42", `42["msg",]`, `42["msg",[x,1]]`, `42["other",[1,2]]`, `m[1`, `m[99999999999999999999,1]`} {
			if _, _, ok := c.delivery([]byte(bad)); ok {
				t.Errorf("delivery(%q) accepted", bad)
			}
		}
	}
	c := newCodec(false, 2, "room")
	buf := make([]byte, 0, 256)
	ack := []byte(`4312345["xx"]`)
	msg := []byte(`42["msg",[1,2,"xx"]]`)
	if allocs := testing.AllocsPerRun(100, func() {
		buf = c.echo(buf[:0], 12345)
		_, _, _ = c.ack(ack)
		buf = c.bcast(buf[:0], 1, 2)
		_, _, _ = c.delivery(msg)
	}); allocs != 0 {
		t.Errorf("hot path allocates %v times", allocs)
	}
}
