package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	socketio "github.com/go-sio/socketio"
)

// This file holds the servers of the Go client scenarios of client_test.go:
// the Node.js socket.io server of e2e/node/sio-server/server.mjs, run as a
// child process, and our Go server with the same behaviours, in-process.
// Both record what they see in a srvLog (the Node one prints it as JSON
// lines, which survive killing the process), and both can be stopped (the
// port then refuses connections) and restarted on the same port.

const (
	cliPingInterval = 300 * time.Millisecond
	cliPingTimeout  = 200 * time.Millisecond
	cliWait         = 5 * time.Second // how long a side may lag behind the other
	nodeServerLife  = 60 * time.Second
)

// srvOptions configure a test server. Zero fields: PingInterval 300ms,
// PingTimeout 200ms, both transports, no connection state recovery.
type srvOptions struct {
	PingInterval, PingTimeout time.Duration
	Transports                []string
	// Recovery, when non-zero, turns on connection state recovery with
	// this maxDisconnectionDuration (Node only: our server has none yet).
	Recovery time.Duration
}

func (o srvOptions) withDefaults() srvOptions {
	if o.PingInterval == 0 {
		o.PingInterval = cliPingInterval
	}
	if o.PingTimeout == 0 {
		o.PingTimeout = cliPingTimeout
	}
	return o
}

// srvRec is one thing a test server saw; the Node server prints exactly
// these fields.
type srvRec struct {
	Event     string          `json:"event"` // connect, disconnect, count, every-other, middleware, ticks-while-away, listening, closed, fail
	NSP       string          `json:"nsp"`
	ID        string          `json:"id"`        // socket id
	EngineID  string          `json:"engineId"`  // connect
	Transport string          `json:"transport"` // connect
	Auth      json.RawMessage `json:"auth"`      // connect, middleware
	Recovered bool            `json:"recovered"` // connect
	Reason    string          `json:"reason"`    // disconnect
	N         int             `json:"n"`         // count, every-other
	Key       string          `json:"key"`       // every-other
	Acked     bool            `json:"acked"`     // every-other
	Port      int             `json:"port"`      // listening
	Message   string          `json:"message"`   // fail
}

// srvLog is what a server saw, in order, across its restarts.
type srvLog struct {
	mu      sync.Mutex
	recs    []srvRec
	changed chan struct{} // closed and replaced on every add
}

func newSrvLog() *srvLog { return &srvLog{changed: make(chan struct{})} }

func (l *srvLog) add(r srvRec) {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// filter returns the records for which keep is true, in order.
func (l *srvLog) filter(keep func(srvRec) bool) []srvRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []srvRec
	for _, r := range l.recs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// get returns the records of event ev, in order.
func (l *srvLog) get(ev string) []srvRec {
	return l.filter(func(r srvRec) bool { return r.Event == ev })
}

// waitFor returns the records for which keep is true once there are at
// least n, failing the test when they do not come within cliWait. It waits
// another 50 ms to catch records past n.
func (l *srvLog) waitFor(t *testing.T, what string, n int, keep func(srvRec) bool) []srvRec {
	t.Helper()
	deadline := time.After(cliWait)
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if got := l.filter(keep); len(got) >= n {
			time.Sleep(50 * time.Millisecond)
			return l.filter(keep)
		}
		select {
		case <-ch:
		case <-deadline:
			got := l.filter(keep)
			t.Fatalf("server: %d %s records within %v, want %d: %+v", len(got), what, cliWait, n, got)
			return nil
		}
	}
}

// wait returns the records of event ev once there are n of them.
func (l *srvLog) wait(t *testing.T, ev string, n int) []srvRec {
	t.Helper()
	return l.waitFor(t, strconv.Quote(ev), n, func(r srvRec) bool { return r.Event == ev })
}

// waitID returns the records of event ev of socket id once there are n.
func (l *srvLog) waitID(t *testing.T, ev, id string, n int) []srvRec {
	t.Helper()
	return l.waitFor(t, fmt.Sprintf("%q of %s", ev, id), n, func(r srvRec) bool { return r.Event == ev && r.ID == id })
}

// ofID returns the records of event ev of socket id.
func (l *srvLog) ofID(ev, id string) []srvRec {
	return l.filter(func(r srvRec) bool { return r.Event == ev && r.ID == id })
}

// testServer is a Socket.IO server of the client scenarios.
type testServer interface {
	// URL is http://127.0.0.1:<port>, the same across restarts.
	URL() string
	Log() *srvLog
	// Stop stops the server: its connections end, its port refuses new
	// ones.
	Stop(t *testing.T)
	// Restart starts it again on the same port (after Stop).
	Restart(t *testing.T)
}

// serverKinds are the servers every scenario runs against.
var serverKinds = []string{"node", "go"}

// startServer starts a server of kind "node" or "go"; the test's cleanup
// stops it.
func startServer(t *testing.T, kind string, o srvOptions) testServer {
	t.Helper()
	switch kind {
	case "node":
		return startNodeServer(t, o)
	case "go":
		if o.Recovery != 0 {
			t.Fatalf("our Go server has no connection state recovery yet")
		}
		return startGoServer(t, o)
	}
	t.Fatalf("unknown server kind %q", kind)
	return nil
}

// --- the Node.js server -------------------------------------------------------

// nodeServer is one run (and its restarts) of sio-server/server.mjs.
type nodeServer struct {
	env  nodeEnv
	opts string // JSON argument
	log  *srvLog
	port int

	mu   sync.Mutex
	proc *nodeProc // nil while stopped
	runs []*nodeProc
}

// nodeProc is one process of the server.
type nodeProc struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stdin  io.WriteCloser
	stderr *strings.Builder
	read   chan struct{} // closed when stdout is read to its end
	stdout strings.Builder
}

func startNodeServer(t *testing.T, o srvOptions) *nodeServer {
	t.Helper()
	o = o.withDefaults()
	js := map[string]any{
		"pingInterval": o.PingInterval.Milliseconds(),
		"pingTimeout":  o.PingTimeout.Milliseconds(),
		"lifetimeMs":   nodeServerLife.Milliseconds(),
	}
	if o.Transports != nil {
		js["transports"] = o.Transports
	}
	if o.Recovery != 0 {
		js["connectionStateRecovery"] = map[string]any{"maxDisconnectionDuration": o.Recovery.Milliseconds()}
	}
	b, _ := json.Marshal(js)
	ns := &nodeServer{env: requireNode(t, "socket.io"), opts: string(b), log: newSrvLog()}
	t.Cleanup(func() {
		ns.shutdown(t)
		if t.Failed() {
			ns.mu.Lock()
			defer ns.mu.Unlock()
			for i, p := range ns.runs {
				t.Logf("node server run %d (port %d):\n--- stdout:\n%s--- stderr:\n%s", i+1, ns.port, p.stdout.String(), p.stderr.String())
			}
		}
	})
	ns.spawn(t, 0)
	return ns
}

// spawn starts a process on port (0: a free one) and waits until it
// listens.
func (ns *nodeServer) spawn(t *testing.T, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeServerLife+10*time.Second)
	cmd := exec.CommandContext(ctx, ns.env.Node, "sio-server/server.mjs", strconv.Itoa(port), ns.opts)
	cmd.Dir = ns.env.Dir
	cmd.WaitDelay = 2 * time.Second
	p := &nodeProc{cmd: cmd, cancel: cancel, stderr: &strings.Builder{}, read: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("stdout pipe: %v", err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatalf("stdin pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node server: %v", err)
	}
	listening := make(chan int, 1)
	go func() {
		defer close(p.read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := sc.Text()
			p.stdout.WriteString(line + "\n")
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var r srvRec
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				r = srvRec{Event: "bad-line", Message: line}
			}
			if r.Event == "listening" {
				listening <- r.Port
				continue
			}
			ns.log.add(r)
		}
	}()
	ns.mu.Lock()
	ns.proc = p
	ns.runs = append(ns.runs, p)
	ns.mu.Unlock()
	select {
	case got := <-listening:
		if port != 0 && got != port {
			t.Fatalf("node server listens on %d, want %d", got, port)
		}
		ns.port = got
	case <-p.read:
		t.Fatalf("node server exited before listening: %s", p.stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("node server not listening after 15s: %s", p.stderr)
	}
}

func (ns *nodeServer) URL() string  { return "http://127.0.0.1:" + strconv.Itoa(ns.port) }
func (ns *nodeServer) Log() *srvLog { return ns.log }

// Stop kills the process (SIGKILL: nothing is closed gracefully).
func (ns *nodeServer) Stop(t *testing.T) {
	t.Helper()
	ns.mu.Lock()
	p := ns.proc
	ns.proc = nil
	ns.mu.Unlock()
	if p == nil {
		t.Fatalf("Stop: node server not running")
	}
	_ = p.cmd.Process.Kill()
	<-p.read
	_ = p.cmd.Wait()
	p.cancel()
}

func (ns *nodeServer) Restart(t *testing.T) {
	t.Helper()
	ns.spawn(t, ns.port)
}

// shutdown ends the running process, if any: stdin closed, then killed if
// it does not exit within 5s.
func (ns *nodeServer) shutdown(t *testing.T) {
	ns.mu.Lock()
	p := ns.proc
	ns.proc = nil
	ns.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.stdin.Close()
	select {
	case <-p.read:
	case <-time.After(5 * time.Second):
		t.Errorf("node server did not exit within 5s of stdin closing; killed")
		_ = p.cmd.Process.Kill()
		<-p.read
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("node server: %v", err)
	}
	p.cancel()
	for _, r := range ns.log.get("fail") {
		t.Errorf("node server failed: %s", r.Message)
	}
}

// --- our Go server --------------------------------------------------------------

// goServer is our Socket.IO server with the behaviours of server.mjs, on a
// fixed loopback port so that it can restart.
type goServer struct {
	opts srvOptions
	log  *srvLog
	addr string

	mu     sync.Mutex
	srv    *socketio.Server // nil while stopped
	ts     *httptest.Server
	counts map[string][]int          // socket id -> numbers of "count"
	others map[string]map[string]int // socket id -> key -> "ack-every-other" occurrences
}

func startGoServer(t *testing.T, o srvOptions) *goServer {
	t.Helper()
	gs := &goServer{opts: o.withDefaults(), log: newSrvLog()}
	gs.listen(t, "127.0.0.1:0")
	t.Cleanup(func() {
		gs.mu.Lock()
		srv := gs.srv
		gs.mu.Unlock()
		if srv == nil {
			return
		}
		// Let the requests of the clients the test closed finish first:
		// Shutdown is tested by the scenarios that stop the server.
		for deadline := time.Now().Add(2 * time.Second); srv.Engine().ClientsCount() > 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		gs.Stop(t)
	})
	return gs
}

func (gs *goServer) listen(t *testing.T, addr string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	o := &socketio.ServerOptions{}
	o.PingInterval, o.PingTimeout, o.Transports = gs.opts.PingInterval, gs.opts.PingTimeout, gs.opts.Transports
	srv := socketio.NewServer(o)
	gs.behaviours(srv.Of("/"))
	gs.behaviours(srv.Of("/other"))
	auth := srv.Of("/auth")
	auth.Use(func(s *socketio.Socket) error {
		a, _ := json.Marshal(s.Handshake().Auth)
		gs.log.add(srvRec{Event: "middleware", NSP: "/auth", Auth: a})
		if tok, _ := s.Handshake().Auth["token"].(string); tok == "ok" {
			return nil
		}
		return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 401}}
	})
	gs.behaviours(auth)
	ts := httptest.NewUnstartedServer(srv)
	_ = ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	gs.mu.Lock()
	gs.srv, gs.ts, gs.addr = srv, ts, l.Addr().String()
	gs.counts, gs.others = map[string][]int{}, map[string]map[string]int{}
	gs.mu.Unlock()
}

func (gs *goServer) URL() string  { return "http://" + gs.addr }
func (gs *goServer) Log() *srvLog { return gs.log }

// Stop shuts the server down and closes its listener.
func (gs *goServer) Stop(t *testing.T) {
	t.Helper()
	gs.mu.Lock()
	srv, ts := gs.srv, gs.ts
	gs.srv, gs.ts = nil, nil
	gs.mu.Unlock()
	if srv == nil {
		t.Fatalf("Stop: Go server not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	ts.Close()
	if n := srv.Engine().ClientsCount(); n != 0 {
		t.Errorf("Engine().ClientsCount() after Shutdown = %d, want 0", n)
	}
}

func (gs *goServer) Restart(t *testing.T) {
	t.Helper()
	gs.listen(t, gs.addr)
}

// behaviours installs on n the handlers of server.mjs.
func (gs *goServer) behaviours(n *socketio.Namespace) {
	n.OnConnection(func(s *socketio.Socket) {
		id, nsp := s.ID(), n.Name()
		auth, _ := json.Marshal(s.Handshake().Auth)
		gs.log.add(srvRec{Event: "connect", NSP: nsp, ID: id, EngineID: s.Conn().ID(), Transport: s.Conn().Transport(), Auth: auth})
		s.OnDisconnect(func(reason string) {
			gs.log.add(srvRec{Event: "disconnect", NSP: nsp, ID: id, Reason: reason})
		})
		s.On("whoami", func(e *socketio.Event) {
			_ = e.Ack().Send(map[string]any{"id": id, "nsp": nsp, "engineId": s.Conn().ID(), "transport": s.Conn().Transport(), "recovered": false})
		})
		s.On("transport?", func(e *socketio.Event) { _ = e.Ack().Send(s.Conn().Transport()) })
		s.On("echo", func(e *socketio.Event) { _ = e.Ack().Send(e.Args.Values()...) })
		s.On("describe", func(e *socketio.Event) {
			vals := make([]any, len(e.Args))
			for i, a := range e.Args {
				var v any
				if err := a.Decode(&v); err != nil {
					vals[i] = map[string]any{"$error": err.Error()}
					continue
				}
				vals[i] = tagBinary(v)
			}
			_ = e.Ack().Send(vals)
		})
		s.On("echo-event", func(e *socketio.Event) { _ = s.Emit("echo-event", e.Args.Values()...) })
		s.On("delayed-ack", func(e *socketio.Event) {
			var ms int
			if len(e.Args) == 0 || e.Args[0].Decode(&ms) != nil {
				return
			}
			rest := e.Args[1:].Values()
			ack := e.Ack()
			time.AfterFunc(time.Duration(ms)*time.Millisecond, func() { _ = ack.Send(rest...) })
		})
		s.On("ack-every-other", func(e *socketio.Event) {
			var key any
			if len(e.Args) > 0 {
				_ = e.Args[0].Decode(&key)
			}
			k := fmt.Sprint(key)
			gs.mu.Lock()
			if gs.others[id] == nil {
				gs.others[id] = map[string]int{}
			}
			gs.others[id][k]++
			c := gs.others[id][k]
			gs.mu.Unlock()
			acked := c%2 == 0
			gs.log.add(srvRec{Event: "every-other", NSP: nsp, ID: id, Key: k, N: c, Acked: acked})
			if acked {
				_ = e.Ack().Send(key, c)
			}
		})
		s.On("count", func(e *socketio.Event) {
			var c int
			if len(e.Args) > 0 {
				_ = e.Args[0].Decode(&c)
			}
			gs.mu.Lock()
			gs.counts[id] = append(gs.counts[id], c)
			gs.mu.Unlock()
			gs.log.add(srvRec{Event: "count", NSP: nsp, ID: id, N: c})
			if e.Ack().Requested() {
				_ = e.Ack().Send(c)
			}
		})
		s.On("stats", func(e *socketio.Event) {
			gs.mu.Lock()
			got := append([]int{}, gs.counts[id]...)
			gs.mu.Unlock()
			_ = e.Ack().Send(got)
		})
		s.On("ask", func(e *socketio.Event) {
			var ev string
			var payload any
			var ms int
			if err := e.Bind(&ev, &payload, &ms); err != nil {
				_ = e.Ack().Send(map[string]any{"ok": false, "error": err.Error()})
				return
			}
			ack := e.Ack()
			go func() {
				args, err := s.Timeout(time.Duration(ms)*time.Millisecond).EmitWithAck(context.Background(), ev, payload)
				if err != nil {
					msg := err.Error()
					if errors.Is(err, socketio.ErrTimeout) {
						msg = "operation has timed out" // Node's message
					}
					_ = ack.Send(map[string]any{"ok": false, "error": msg})
					return
				}
				tagged := make([]any, len(args))
				for i, a := range args {
					var v any
					_ = a.Decode(&v)
					tagged[i] = tagBinary(v)
				}
				_ = ack.Send(map[string]any{"ok": true, "args": tagged})
			}()
		})
		s.On("binary", func(e *socketio.Event) {
			_ = e.Ack().Send(map[string]any{
				"raw":    []byte{0, 1, 2, 255},
				"nested": map[string]any{"list": []any{[]byte("hi"), "text", map[string]any{"deep": []byte{}}}},
			}, []byte{7})
		})
		s.On("ticks", func(e *socketio.Event) {
			var from, count int
			_ = e.Bind(&from, &count)
			for i := from; i < from+count; i++ {
				_ = s.Emit("tick", i)
			}
			if e.Ack().Requested() {
				_ = e.Ack().Send()
			}
		})
		s.On("kill", func(*socketio.Event) { _ = s.Conn().Close() })
		s.On("server-disconnect", func(*socketio.Event) { s.Disconnect(false) })
	})
}
