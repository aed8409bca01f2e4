package interop

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	socketio "github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio"
)

// This file holds the Go side of the socket.io-client scenarios of
// sio_test.go: our Socket.IO server under httptest, a log of what it saw,
// running a script of e2e/node/sio and reading its JSON lines.

const (
	sioPingInterval = 300 * time.Millisecond
	sioPingTimeout  = 200 * time.Millisecond
	sioWait         = 5 * time.Second // how long the server side may lag behind the script
)

// sioServer is our Socket.IO server under httptest, with a log of what the
// handlers the test installs record.
type sioServer struct {
	srv *socketio.Server
	ts  *httptest.Server
	log *sioLog
}

// startSIOServer starts a server with opts (nil: defaults) and, unless opts
// sets them, PingInterval 300ms and PingTimeout 200ms. The cleanup shuts it
// down and checks no socket is left.
func startSIOServer(t *testing.T, opts *socketio.ServerOptions) *sioServer {
	t.Helper()
	var o socketio.ServerOptions
	if opts != nil {
		o = *opts
	}
	if o.PingInterval == 0 {
		o.PingInterval = sioPingInterval
	}
	if o.PingTimeout == 0 {
		o.PingTimeout = sioPingTimeout
	}
	// Engine.IO closes and refused requests are logged too, and shown when
	// the test fails.
	log := newSIOLog()
	start := time.Now()
	stamp := func() string { return time.Since(start).Round(time.Millisecond).String() }
	userClose, userRefused := o.Hooks.Engine.Close, o.Hooks.Engine.ConnectionError
	o.Hooks.Engine.Close = func(s *engineio.Session, reason string, cause error) {
		log.add(sioRec{Kind: "engine-close", EngineID: s.ID(), Text: stamp() + " " + reason + " (" + s.Transport() + ")", Err: cause})
		if userClose != nil {
			userClose(s, reason, cause)
		}
	}
	o.Hooks.Engine.ConnectionError = func(r *http.Request, code int, message string) {
		log.add(sioRec{Kind: "engine-refused", Text: fmt.Sprintf("%s %s %s: %d %s", stamp(), r.Method, r.URL, code, message)})
		if userRefused != nil {
			userRefused(r, code, message)
		}
	}
	ss := &sioServer{srv: socketio.NewServer(&o), log: log}
	ss.ts = httptest.NewServer(ss.srv)
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range append(log.get("engine-close"), log.get("engine-refused")...) {
				t.Logf("server %s %s %s %v", r.Kind, r.EngineID, r.Text, r.Err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ss.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ss.ts.Close()
		if n := ss.srv.Engine().ClientsCount(); n != 0 {
			t.Errorf("Engine().ClientsCount() after Shutdown = %d, want 0", n)
		}
	})
	return ss
}

// handle registers fn as a connection handler of n, after the handlers
// every scenario shares: "transport?" is answered with the Engine.IO
// transport, and the connection (with its auth) and the disconnection
// (with its reason) are logged as "connect" and "disconnect".
func (ss *sioServer) handle(n *socketio.Namespace, fn func(s *socketio.Socket)) {
	n.OnConnection(ss.common(fn))
}

func (ss *sioServer) common(fn func(s *socketio.Socket)) func(s *socketio.Socket) {
	return func(s *socketio.Socket) {
		nsp := s.Namespace().Name()
		auth, _ := json.Marshal(s.Handshake().Auth)
		ss.log.add(sioRec{Kind: "connect", NSP: nsp, ID: s.ID(), EngineID: s.Conn().ID(), Text: string(auth)})
		s.On("transport?", func(e *socketio.Event) { _ = e.Ack().Send(s.Conn().Transport()) })
		s.OnDisconnect(func(reason string) {
			ss.log.add(sioRec{Kind: "disconnect", NSP: nsp, ID: s.ID(), Text: reason})
		})
		if fn != nil {
			fn(s)
		}
	}
}

// sioRec is one thing the server saw.
type sioRec struct {
	Kind     string // connect, disconnect, or one of the scenario
	NSP      string
	ID       string // socket id
	EngineID string // connect: Conn().ID()
	Text     string // connect: auth as JSON; disconnect: reason; else the scenario's
	Err      error
}

// sioLog is what the server saw, in order, safe for the handlers'
// goroutines.
type sioLog struct {
	mu      sync.Mutex
	recs    []sioRec
	changed chan struct{} // closed and replaced on every add
}

func newSIOLog() *sioLog { return &sioLog{changed: make(chan struct{})} }

func (l *sioLog) add(r sioRec) {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// get returns the records of kind, in order.
func (l *sioLog) get(kind string) []sioRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sioRec
	for _, r := range l.recs {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// wait returns the records of kind once there are n of them, failing the
// test when they do not come within sioWait. It waits another 50 ms to catch
// records past n.
func (l *sioLog) wait(t *testing.T, kind string, n int) []sioRec {
	t.Helper()
	deadline := time.After(sioWait)
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if got := l.get(kind); len(got) >= n {
			time.Sleep(50 * time.Millisecond)
			return l.get(kind)
		}
		select {
		case <-ch:
		case <-deadline:
			got := l.get(kind)
			t.Fatalf("server: %d %q records within %v, want %d: %+v", len(got), kind, sioWait, n, got)
			return nil
		}
	}
}

// sioLine is one JSON line printed by a script of e2e/node/sio (lib.mjs).
type sioLine struct {
	Event string `json:"event"`
	Who   string `json:"who"` // which client socket

	NSP       string `json:"nsp"`
	ID        string `json:"id"`
	EngineID  string `json:"engineId"`
	Transport string `json:"transport"`
	Client    string `json:"client"` // transport check
	Server    string `json:"server"`

	Name        string          `json:"name"`
	Reason      string          `json:"reason"`
	Description string          `json:"description"`
	Message     string          `json:"message"`
	Data        json.RawMessage `json:"data"`
	Args        json.RawMessage `json:"args"`
	Count       int             `json:"count"`
}

// sioResult is a finished script.
type sioResult struct {
	run   *nodeRun
	lines []sioLine
}

// runSIO runs a script of e2e/node/sio against ss in mode m and checks
// what every scenario shares: the script succeeded; every transport check
// it printed found the mode's final transport on both ends, and there was at
// least one.
func (ss *sioServer) runSIO(t *testing.T, m eioMode, script string, args ...string) *sioResult {
	t.Helper()
	env := requireNode(t, "socket.io-client")
	r := env.run(t, nodeTimeout, "sio/"+script, append([]string{ss.ts.URL, m.name}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client script output:\n%s", r)
		}
	})
	r.requireDone(t)
	res := &sioResult{run: r, lines: decodeLines[sioLine](t, r)}
	checks := res.events("transport")
	if len(checks) == 0 {
		t.Errorf("script made no transport check")
	}
	for _, c := range checks {
		if c.Client != m.final || c.Server != m.final {
			t.Errorf("transport of %q: client %q, server %q; want %q on both", c.Who, c.Client, c.Server, m.final)
		}
	}
	return res
}

// events returns the lines of one event, in order.
func (res *sioResult) events(name string) []sioLine {
	var out []sioLine
	for _, l := range res.lines {
		if l.Event == name {
			out = append(out, l)
		}
	}
	return out
}

// of returns the lines of one event printed for one client socket.
func (res *sioResult) of(name, who string) []sioLine {
	var out []sioLine
	for _, l := range res.events(name) {
		if l.Who == who {
			out = append(out, l)
		}
	}
	return out
}

// one returns the single line of event name for who, failing otherwise.
func (res *sioResult) one(t *testing.T, name, who string) sioLine {
	t.Helper()
	got := res.of(name, who)
	if len(got) != 1 {
		t.Fatalf("client %q printed %d %q lines, want 1: %+v", who, len(got), name, got)
	}
	return got[0]
}

// forEachSIOMode runs f once per transport mode, the modes in parallel.
func forEachSIOMode(t *testing.T, f func(t *testing.T, m eioMode)) {
	for _, m := range eioModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, m)
		})
	}
}

// jsonEq fails the test unless the JSON got equals the JSON want as values
// (object key order and spacing aside).
func jsonEq(t *testing.T, what string, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: bad JSON %q: %v", what, got, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expected JSON %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// tagBinary rewrites the []byte values of a decoded tree as
// {"$buf":"<hex>"}, the form the scripts print Buffers in.
func tagBinary(v any) any {
	switch x := v.(type) {
	case []byte:
		return map[string]any{"$buf": hex.EncodeToString(x)}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = tagBinary(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tagBinary(e)
		}
		return out
	}
	return v
}

// argsJSON decodes every argument into an `any` and returns them as one
// JSON array, binary values tagged as by tagBinary.
func argsJSON(args socketio.Args) (string, error) {
	vals := make([]any, len(args))
	for i, a := range args {
		var v any
		if err := a.Decode(&v); err != nil {
			return "", err
		}
		vals[i] = tagBinary(v)
	}
	b, err := json.Marshal(vals)
	return string(b), err
}

// sortedTexts returns the Text of recs, sorted.
func sortedTexts(recs []sioRec) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Text)
	}
	slices.Sort(out)
	return out
}

// texts returns the Text of recs, in order.
func texts(recs []sioRec) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Text)
	}
	return out
}

// byID returns the single record of recs with socket id id.
func byID(t *testing.T, recs []sioRec, id string) sioRec {
	t.Helper()
	var found []sioRec
	for _, r := range recs {
		if r.ID == id {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("server records for socket %q: %+v, want exactly one among %+v", id, found, recs)
	}
	return found[0]
}
