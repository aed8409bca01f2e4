// Command sioload is the load generator of the benchmarks: it drives the
// benchmark contract of bench/server (siobench), of its Node.js twin
// (bench/node) and of the plain WebSocket ceiling (bench/raw, -proto raw)
// and prints one JSON line per run. bench/README.md ("The load generator")
// documents its flags and the JSON fields, which are the contract the
// comparison scripts read.
//
// It speaks Engine.IO v4 / Socket.IO v5 itself over gws client connections
// (and over HTTP long-polling for polling-echo), with frames built into
// reused buffers and parsed only as far as needed, so that it costs the
// machine as little as possible next to the server it measures. It reports
// its own CPU use and flags a run where it was near one core busy
// ("generator_saturated").
//
//	go build -o /tmp/sioload ./bench/load      # from the repository root
//	/tmp/sioload -scenario echo -c 10 -duration 10s -target http://127.0.0.1:3000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio/bench/internal/cli"
)

func main() { cli.Main("sioload", run) }

// schemaVersion is the version of the JSON line; it changes only when a
// field changes meaning or goes away.
const schemaVersion = 1

// saturatedCores is the CPU use (in cores, over the measured phase) above
// which the generator may have limited the result.
const saturatedCores = 0.9

type options struct {
	scenario     string
	proto        string
	target       string
	path         string
	n            int
	c            int
	dialConc     int
	duration     time.Duration
	warmup       time.Duration
	rate         float64
	window       int
	payload      int
	room         string
	hold         time.Duration
	serverPID    int
	timeout      time.Duration
	drain        time.Duration
	stormTimeout time.Duration
}

// Params is the run's parameters as the JSON line reports them (every field
// always present; 0 where a scenario does not use it).
type Params struct {
	N               int     `json:"n"`
	NRequested      int     `json:"n_requested"`
	C               int     `json:"c"`
	DialConcurrency int     `json:"dial_concurrency"`
	DurationS       float64 `json:"duration_s"`
	WarmupS         float64 `json:"warmup_s"`
	Rate            float64 `json:"rate"`
	Window          int     `json:"window"`
	PayloadBytes    int     `json:"payload_bytes"`
	Room            string  `json:"room"`
	HoldS           float64 `json:"hold_s"`
	ServerPID       int     `json:"server_pid"`
	TimeoutS        float64 `json:"timeout_s"`
	DrainS          float64 `json:"drain_s"`
	StormTimeoutS   float64 `json:"storm_timeout_s"`
	FDLimit         uint64  `json:"fd_limit"`
}

// Report is the JSON line.
type Report struct {
	Schema             int      `json:"schema"`
	Time               string   `json:"time"`
	Scenario           string   `json:"scenario"`
	Proto              string   `json:"proto"`
	Transport          string   `json:"transport"`
	Target             string   `json:"target"`
	Params             Params   `json:"params"`
	Results            any      `json:"results"`
	CPU                CPU      `json:"cpu"`
	CPUTotal           CPU      `json:"cpu_total"`
	GeneratorSaturated bool     `json:"generator_saturated"`
	GOMAXPROCS         int      `json:"gomaxprocs"`
	Disconnects        int64    `json:"disconnects"`
	Warnings           []string `json:"warnings"`
	OK                 bool     `json:"ok"`
	Error              string   `json:"error"`
}

// gen is one run of the generator.
type gen struct {
	opts     options
	raw      bool
	codec    *codec
	wsURL    string // ws://host:port/socket.io/?EIO=4&transport=websocket (raw: the target)
	pollURL  string // http://host:port/socket.io/?EIO=4&transport=polling
	hostPort string
	dialer   *net.Dialer
	t0       time.Time

	dialConcSet bool // -dial-concurrency was given
	stderr      io.Writer

	readers     sync.WaitGroup // the read loops of the WebSocket clients
	disconnects atomic.Int64   // connections the server closed

	// measured is the CPU use over the phase the results describe, set by
	// the scenario.
	measured *CPU
	warnings []string
}

// now is the time since the run started, in nanoseconds (monotonic clock).
func (g *gen) now() int64 { return int64(time.Since(g.t0)) }

func (g *gen) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	g.warnings = append(g.warnings, msg)
	fmt.Fprintln(g.stderr, "sioload: warning:", msg)
}

func (g *gen) logf(format string, args ...any) {
	fmt.Fprintf(g.stderr, "sioload: "+format+"\n", args...)
}

var scenarios = map[string]func(context.Context, *gen) (any, error){
	"connections":         runConnections,
	"echo":                runEcho,
	"fanout":              runFanout,
	"polling-echo":        runPollingEcho,
	"polling-connections": runConnections,
	"storm":               runStorm,
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := markCPU()
	fset := flag.NewFlagSet("sioload", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var o options
	fset.StringVar(&o.scenario, "scenario", "echo", "what to run: connections, echo, fanout, polling-echo, polling-connections or storm")
	fset.StringVar(&o.proto, "proto", "sio", "protocol: sio (Socket.IO v5 over Engine.IO v4) or raw (bench/raw's framing over plain WebSocket)")
	fset.StringVar(&o.target, "target", "", "server `URL` (http, https, ws or wss); default http://127.0.0.1:3000, with -proto raw ws://127.0.0.1:3002/")
	fset.StringVar(&o.path, "path", "/socket.io/", "Socket.IO server path (-proto sio)")
	fset.IntVar(&o.n, "n", 0, "connections (connections: default 10000), receivers (fanout: default 100) or clients (storm: default 1000)")
	fset.IntVar(&o.c, "c", 10, "concurrent clients of echo and polling-echo, each with one request in flight")
	fset.IntVar(&o.dialConc, "dial-concurrency", 0, "connections opened at once; 0: 100, and for storm's reconnection min(n, 1000)")
	fset.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of echo, polling-echo and fanout")
	fset.DurationVar(&o.warmup, "warmup", time.Second, "load before the measured time (echo, polling-echo, fanout), not counted")
	fset.Float64Var(&o.rate, "rate", 200, "fanout: broadcasts per second; 0: as fast as the receivers keep up (at most -window in flight)")
	fset.IntVar(&o.window, "window", 32, "fanout with -rate 0: broadcasts sent and not yet received by every receiver, at most")
	fset.IntVar(&o.payload, "payload", 64, "bytes of padding in each echo and broadcast")
	fset.StringVar(&o.room, "room", "bench", "fanout: the room the receivers join")
	fset.DurationVar(&o.hold, "hold", 0, "connections: how long to hold the connections open once all are up")
	fset.IntVar(&o.serverPID, "server-pid", 0, "connections: `pid` of the server (same machine) whose VmRSS to read before and after")
	fset.DurationVar(&o.timeout, "timeout", 10*time.Second, "bound of one connection's handshake, and of one echo's answer")
	fset.DurationVar(&o.drain, "drain", 5*time.Second, "after the measured time, how long to wait for answers and deliveries still due")
	fset.DurationVar(&o.stormTimeout, "storm-timeout", 60*time.Second, "storm: how long the reconnection may take at most")
	if err := cli.Parse(fset, args); err != nil {
		return err
	}

	g := &gen{opts: o, stderr: stderr, dialer: netDialer(), t0: time.Now()}
	rep := &Report{
		Schema:     schemaVersion,
		Time:       g.t0.UTC().Format(time.RFC3339),
		Scenario:   o.scenario,
		Proto:      o.proto,
		Transport:  "websocket",
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	err := g.setup(rep)
	var res any
	if err == nil {
		res, err = scenarios[o.scenario](ctx, g)
	}
	g.closeReaders()

	rep.Results = res
	rep.CPUTotal = cpuSince(start)
	if g.measured != nil {
		rep.CPU = *g.measured
	} else {
		rep.CPU = rep.CPUTotal
	}
	if rep.CPU.Cores > saturatedCores {
		rep.GeneratorSaturated = true
		g.warn("the generator used %.2f cores during the measured phase (more than %.1f): it may have limited the result", rep.CPU.Cores, saturatedCores)
	}
	rep.Disconnects = g.disconnects.Load()
	rep.Warnings = g.warnings
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	rep.OK = err == nil
	if err != nil {
		rep.Error = err.Error()
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if eerr := enc.Encode(rep); eerr != nil && err == nil {
		err = eerr
	}
	return err
}

// setup checks the options, fills the report's target and parameters, and
// clamps the number of connections to the open-file limit.
func (g *gen) setup(rep *Report) error {
	o := &g.opts
	if _, ok := scenarios[o.scenario]; !ok {
		return fmt.Errorf("-scenario %q: want connections, echo, fanout, polling-echo, polling-connections or storm", o.scenario)
	}
	switch o.proto {
	case "sio":
	case "raw":
		g.raw = true
		if strings.HasPrefix(o.scenario, "polling-") {
			return fmt.Errorf("-scenario %s needs -proto sio (the raw server speaks WebSocket only)", o.scenario)
		}
	default:
		return fmt.Errorf("-proto %q: want sio or raw", o.proto)
	}
	if strings.HasPrefix(o.scenario, "polling-") {
		rep.Transport = "polling"
	}
	if o.target == "" {
		o.target = "http://127.0.0.1:3000"
		if g.raw {
			o.target = "ws://127.0.0.1:3002/"
		}
	}
	rep.Target = o.target
	if err := g.urls(); err != nil {
		return err
	}
	if o.n == 0 {
		switch o.scenario {
		case "connections", "polling-connections":
			o.n = 10000
		case "fanout":
			o.n = 100
		case "storm":
			o.n = 1000
		}
	}
	// echo and polling-echo run -c clients; the others -n connections.
	perClient := o.scenario == "echo" || o.scenario == "polling-echo"
	if perClient {
		o.n = 0
	} else {
		o.c = 0
	}
	if o.n < 0 || o.c < 0 || o.payload < 0 || o.window < 0 || o.rate < 0 || math.IsInf(o.rate, 0) || math.IsNaN(o.rate) {
		return errors.New("-n, -c, -payload, -window and -rate must not be negative")
	}
	if o.timeout <= 0 || o.duration <= 0 || o.warmup < 0 || o.drain < 0 || o.hold < 0 || o.stormTimeout <= 0 {
		return errors.New("-timeout, -duration and -storm-timeout must be positive; -warmup, -drain and -hold not negative")
	}
	if perClient && o.c < 1 {
		return errors.New("-c must be at least 1")
	}
	if !perClient && o.n < 1 {
		return errors.New("-n must be at least 1")
	}
	if o.scenario == "fanout" && o.rate == 0 && o.window < 1 {
		return errors.New("-window must be at least 1 with -rate 0")
	}
	memScenario := o.scenario == "connections" || o.scenario == "polling-connections"
	if !memScenario && (o.serverPID != 0 || o.hold != 0) {
		g.warn("-server-pid and -hold apply to the connections and polling-connections scenarios only")
	}
	rep.Params.NRequested = o.n

	g.dialConcSet = o.dialConc > 0
	if !g.dialConcSet {
		o.dialConc = 100
	}

	// Every connection is a file: stay within the limit, with room for the
	// rest of the process.
	const spare = 64
	limit := fdLimit()
	rep.Params.FDLimit = limit
	if limit > spare {
		max := int(limit - spare)
		switch {
		case o.scenario == "polling-connections" && o.n+o.dialConc > max:
			// One socket per client (its pending GET), and one more
			// for each POST in flight.
			g.warn("-n %d (+%d in flight) is over the open-file limit %d (ulimit -n) less %d spare: clamped to %d", o.n, o.dialConc, limit, spare, max-o.dialConc)
			o.n = max - o.dialConc
		case o.scenario == "polling-echo" && 2*o.c > max:
			g.warn("-c %d needs %d sockets (two per polling client), over the open-file limit %d (ulimit -n) less %d spare: clamped to -c %d", o.c, 2*o.c, limit, spare, max/2)
			o.c = max / 2
		case o.scenario == "echo" && o.c > max:
			g.warn("-c %d is over the open-file limit %d (ulimit -n) less %d spare: clamped to %d", o.c, limit, spare, max)
			o.c = max
		case o.scenario == "fanout" && o.n+1 > max:
			g.warn("-n %d (+1 sender) is over the open-file limit %d (ulimit -n) less %d spare: clamped to %d", o.n, limit, spare, max-1)
			o.n = max - 1
		case o.n > max:
			g.warn("-n %d is over the open-file limit %d (ulimit -n) less %d spare: clamped to %d", o.n, limit, spare, max)
			o.n = max
		}
	}
	g.codec = newCodec(g.raw, o.payload, o.room)

	// The parameters the scenario uses; the others stay 0 (or "").
	p := &rep.Params
	p.DialConcurrency = o.dialConc
	p.TimeoutS = secs(o.timeout)
	switch o.scenario {
	case "connections", "polling-connections":
		p.N = o.n
		p.HoldS, p.ServerPID = secs(o.hold), o.serverPID
	case "storm":
		p.N = o.n
		p.StormTimeoutS = secs(o.stormTimeout)
	case "echo", "polling-echo":
		p.C = o.c
		p.DurationS, p.WarmupS, p.DrainS = secs(o.duration), secs(o.warmup), secs(o.drain)
		p.PayloadBytes = o.payload
	case "fanout":
		p.N = o.n
		p.DurationS, p.WarmupS, p.DrainS = secs(o.duration), secs(o.warmup), secs(o.drain)
		p.PayloadBytes, p.Room = o.payload, o.room
		if o.rate > 0 {
			p.Rate = o.rate
		} else {
			p.Window = o.window
		}
	}
	return nil
}

// urls derives the WebSocket and polling URLs from -target and -path.
func (g *gen) urls() error {
	u, err := url.Parse(g.opts.target)
	if err != nil {
		return fmt.Errorf("-target: %w", err)
	}
	if u.Host == "" {
		return fmt.Errorf("-target %q: want a URL such as http://127.0.0.1:3000", g.opts.target)
	}
	ws, web := *u, *u
	switch u.Scheme {
	case "http", "ws":
		ws.Scheme, web.Scheme = "ws", "http"
	case "https", "wss":
		return fmt.Errorf("-target %q: TLS is not supported (loopback benchmarks only)", g.opts.target)
	default:
		return fmt.Errorf("-target %q: want an http or ws URL", g.opts.target)
	}
	g.hostPort = u.Host
	if u.Port() == "" {
		g.hostPort = net.JoinHostPort(u.Hostname(), "80")
	}
	if g.raw {
		if ws.Path == "" {
			ws.Path = "/"
		}
		g.wsURL = ws.String()
		return nil
	}
	p := g.opts.path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	ws.Path, web.Path = p, p
	ws.RawQuery, web.RawQuery = "EIO=4&transport=websocket", "EIO=4&transport=polling"
	g.wsURL, g.pollURL = ws.String(), web.String()
	return nil
}

// closeReaders waits, a little, for the read loops of the WebSocket clients
// to end once their connections are closed.
func (g *gen) closeReaders() {
	if waitTimeout(&g.readers, 5*time.Second) {
		g.warn("some connections' read loops did not end within 5s of closing")
	}
}

// measure records the CPU use from m to now as the measured phase.
func (g *gen) measure(m cpuMark) {
	c := cpuSince(m)
	g.measured = &c
}

func secs(d time.Duration) float64 { return round3(d.Seconds()) }

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// rate returns n/d per second, rounded.
func perSec(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round3(n / d.Seconds())
}
