package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	socketio "github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
	"go.uber.org/goleak"
)

// Interop of our Go client (package client) with the official Node.js
// socket.io server (the version pinned in e2e/node/package.json, run by
// e2e/node/sio-server/server.mjs) and with our Go server, which runs the
// same behaviours (client_server_test.go). Every scenario runs against both
// servers ("node", "go") in three transport modes: polling only, websocket
// only, and polling upgraded to websocket.

// cliMode is a transport mode of the client.
type cliMode struct {
	name       string
	transports []string // ManagerOptions.Transports
	final      string   // transport once settled, on both ends
}

var cliModes = []cliMode{
	{name: "polling", transports: []string{"polling"}, final: "polling"},
	{name: "websocket", transports: []string{"websocket"}, final: "websocket"},
	{name: "upgrade", transports: []string{"polling", "websocket"}, final: "websocket"},
}

// forEachClientCase runs f against each server kind of kinds and in each
// mode, all in parallel.
func forEachClientCase(t *testing.T, kinds []string, f func(t *testing.T, kind string, m cliMode)) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			for _, m := range cliModes {
				t.Run(m.name, func(t *testing.T) {
					t.Parallel()
					f(t, kind, m)
				})
			}
		})
	}
}

// newManager returns a manager of our client for srv on the mode's
// transports; the test's cleanup closes it.
func newManager(t *testing.T, srv testServer, m cliMode, o client.ManagerOptions) *client.Manager {
	t.Helper()
	o.Transports = m.transports
	mgr, err := client.NewManager(srv.URL(), &o)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	return mgr
}

// manual is o with AutoConnect off, for a test that counts the socket's
// connect events: it registers its handlers, then calls Connect, so that
// the first connect cannot come before them.
func manual(o client.ManagerOptions) client.ManagerOptions {
	o.AutoConnect = client.Bool(false)
	return o
}

// fixedDelay makes reconnection wait exactly d (no randomization).
func fixedDelay(d time.Duration) client.ManagerOptions {
	return client.ManagerOptions{ReconnectionDelay: d, ReconnectionDelayMax: d, RandomizationFactor: -1}
}

func ctxWait(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), cliWait)
	t.Cleanup(cancel)
	return ctx
}

// waitConnected fails the test unless s connects within cliWait.
func waitConnected(t *testing.T, s *client.Socket) {
	t.Helper()
	if err := s.WaitConnected(ctxWait(t)); err != nil {
		t.Fatalf("socket %s: WaitConnected: %v", s.Namespace(), err)
	}
}

// ack emits with an acknowledgement and fails the test on an error.
func ack(t *testing.T, s *client.Socket, event string, args ...any) client.Args {
	t.Helper()
	res, err := s.Timeout(cliWait).EmitWithAck(context.Background(), event, args...)
	if err != nil {
		t.Fatalf("%s EmitWithAck(%q): %v", s.Namespace(), event, err)
	}
	return res
}

// ackJSON is ack with the arguments as one JSON array (binary tagged).
func ackJSON(t *testing.T, s *client.Socket, event string, args ...any) json.RawMessage {
	t.Helper()
	j, err := argsJSON(ack(t, s, event, args...))
	if err != nil {
		t.Fatalf("%s ack of %q: %v", s.Namespace(), event, err)
	}
	return json.RawMessage(j)
}

// stats returns the numbers the server's "count" recorded for s.
func stats(t *testing.T, s *client.Socket) []int {
	t.Helper()
	var got []int
	if err := ack(t, s, "stats").Bind(&got); err != nil {
		t.Fatalf("stats: %v", err)
	}
	return got
}

func seq(from, to int) []int { // [from, to)
	out := []int{}
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// checkTransport waits, in upgrade mode, for the upgrade; then checks that
// the client and the server both see the mode's final transport.
func checkTransport(t *testing.T, mgr *client.Manager, s *client.Socket, m cliMode) {
	t.Helper()
	deadline := time.Now().Add(cliWait)
	for {
		e := mgr.Engine()
		if e != nil && e.Transport() == m.final {
			break
		}
		if time.Now().After(deadline) {
			got := "<no connection>"
			if e != nil {
				got = e.Transport()
			}
			t.Fatalf("client transport %s after %v, want %s", got, cliWait, m.final)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var server string
	if err := ack(t, s, "transport?").Bind(&server); err != nil {
		t.Fatalf("transport?: %v", err)
	}
	if server != m.final {
		t.Errorf("server transport %q, want %q", server, m.final)
	}
}

// --- recording the client's events --------------------------------------------

// evRec is one event of a client socket or manager.
type evRec struct {
	Kind   string // connect, connect_error, disconnect; open, close, attempt, reconnect, reconnect_error, reconnect_failed
	N      int    // attempt numbers
	ID     string // connect: Socket.ID() in the handler
	Reason string
	Err    error
	At     time.Time
}

// recorder keeps events in order, safe for the client's goroutines.
type recorder struct {
	mu      sync.Mutex
	recs    []evRec
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) add(e evRec) {
	e.At = time.Now()
	r.mu.Lock()
	r.recs = append(r.recs, e)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) get(kind string) []evRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []evRec
	for _, e := range r.recs {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) all() []evRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.recs)
}

// wait returns the events of kind once there are n, failing the test after
// timeout.
func (r *recorder) wait(t *testing.T, kind string, n int, timeout time.Duration) []evRec {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if got := r.get(kind); len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("client: %d %q events within %v, want %d; all events: %+v", len(r.get(kind)), kind, timeout, n, r.all())
			return nil
		}
	}
}

// watchSocket records the connect, connect_error and disconnect events of s.
func watchSocket(s *client.Socket) *recorder {
	r := newRecorder()
	s.OnConnect(func() { r.add(evRec{Kind: "connect", ID: s.ID()}) })
	s.OnConnectError(func(err error) { r.add(evRec{Kind: "connect_error", Err: err}) })
	s.OnDisconnect(func(reason string, cause error) { r.add(evRec{Kind: "disconnect", Reason: reason, Err: cause}) })
	return r
}

// watchManager records the events of mgr.
func watchManager(mgr *client.Manager) *recorder {
	r := newRecorder()
	mgr.OnOpen(func() { r.add(evRec{Kind: "open"}) })
	mgr.OnClose(func(reason string, cause error) { r.add(evRec{Kind: "close", Reason: reason, Err: cause}) })
	mgr.OnReconnectAttempt(func(n int) { r.add(evRec{Kind: "attempt", N: n}) })
	mgr.OnReconnect(func(n int) { r.add(evRec{Kind: "reconnect", N: n}) })
	mgr.OnReconnectError(func(err error) { r.add(evRec{Kind: "reconnect_error", Err: err}) })
	mgr.OnReconnectFailed(func() { r.add(evRec{Kind: "reconnect_failed"}) })
	return r
}

// reasons returns the reasons of events.
func reasons(evs []evRec) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Reason
	}
	return out
}

// --- 1. connection, ids, multiplexing --------------------------------------------

// 1. Two namespaces on one Manager share one Engine.IO session; each
// Socket.ID() is the id the server gave (20 characters); Connect reuses the
// manager of a server.
func TestClientConnect(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, client.ManagerOptions{})
		root, other := mgr.Socket("/", nil), mgr.Socket("/other", nil)
		waitConnected(t, root)
		waitConnected(t, other)
		checkTransport(t, mgr, root, m)

		eng := mgr.Engine()
		if eng == nil {
			t.Fatalf("Manager().Engine() = nil while connected")
		}
		engineID := eng.ID()
		checkSocketID(t, "/", root.ID())
		checkSocketID(t, "/other", other.ID())
		if root.ID() == other.ID() || root.ID() == engineID || other.ID() == engineID {
			t.Errorf("socket ids %q, %q and engine id %q: want all different", root.ID(), other.ID(), engineID)
		}
		if root.Manager() != mgr || other.Manager() != mgr {
			t.Errorf("Socket.Manager() is not the manager")
		}
		for _, s := range []*client.Socket{root, other} {
			jsonEq(t, s.Namespace()+" whoami", ackJSON(t, s, "whoami"),
				fmt.Sprintf(`[{"id":%q,"nsp":%q,"engineId":%q,"transport":%q,"recovered":false}]`, s.ID(), s.Namespace(), engineID, m.final))
			if !s.Connected() || !s.Active() || s.Recovered() {
				t.Errorf("%s: Connected %v Active %v Recovered %v, want true true false", s.Namespace(), s.Connected(), s.Active(), s.Recovered())
			}
		}
		conns := srv.Log().wait(t, "connect", 2)
		if len(conns) != 2 {
			t.Fatalf("server connections %+v, want 2", conns)
		}
		for _, s := range []*client.Socket{root, other} {
			var c []srvRec
			for _, r := range conns {
				if r.ID == s.ID() {
					c = append(c, r)
				}
			}
			if len(c) != 1 || c[0].NSP != s.Namespace() || c[0].EngineID != engineID {
				t.Errorf("server connections of %s: %+v, want one in %s on engine %s", s.ID(), c, s.Namespace(), engineID)
			}
			if len(c) == 1 {
				jsonEq(t, s.Namespace()+" handshake auth", c[0].Auth, `{}`)
			}
		}

		// Connect shares the manager of the server (Multiplex default).
		o := &client.Options{ManagerOptions: client.ManagerOptions{Transports: m.transports}}
		a, err := client.Connect(srv.URL()+"/", o)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		t.Cleanup(func() { _ = a.Manager().Close() })
		b, err := client.Connect(srv.URL()+"/other", o)
		if err != nil {
			t.Fatalf("Connect /other: %v", err)
		}
		waitConnected(t, a)
		waitConnected(t, b)
		if a.Manager() != b.Manager() || a.Manager() == mgr {
			t.Errorf("Connect: managers %p, %p (NewManager's %p): want the two Connect sockets on one new manager", a.Manager(), b.Manager(), mgr)
		}
		if a.Manager().Engine().ID() == engineID {
			t.Errorf("Connect reused the engine of NewManager")
		}
		conns = srv.Log().wait(t, "connect", 4)
		if conns[2].EngineID != conns[3].EngineID || conns[2].EngineID != a.Manager().Engine().ID() {
			t.Errorf("server: Connect sockets on engines %q, %q; want both on %q", conns[2].EngineID, conns[3].EngineID, a.Manager().Engine().ID())
		}
	})
}

// --- 2. auth -----------------------------------------------------------------------

// 2. Auth accepted and refused: the refusal is a *client.ConnectError with
// the middleware's message and data exactly; AuthFunc runs on every attempt
// (a reconnection and a manual Connect after a refusal included).
func TestClientAuth(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, manual(fixedDelay(50*time.Millisecond)))
		var okCalls atomic.Int32
		good := mgr.Socket("/auth", &client.SocketOptions{AuthFunc: func() any {
			return map[string]any{"token": "ok", "n": okCalls.Add(1)}
		}})
		goodEv := watchSocket(good)
		good.Connect()
		waitConnected(t, good)
		checkTransport(t, mgr, good, m)
		firstID := good.ID()
		_ = good.Emit("kill") // reconnection: AuthFunc again
		goodEv.wait(t, "connect", 2, cliWait)
		if n := okCalls.Load(); n != 2 {
			t.Errorf("AuthFunc called %d times for a connection and a reconnection, want 2", n)
		}
		if good.ID() == firstID {
			t.Errorf("socket id %q kept after a reconnection without recovery", firstID)
		}
		mws := srv.Log().wait(t, "middleware", 2)
		jsonEq(t, "1st auth seen by the middleware", mws[0].Auth, `{"token":"ok","n":1}`)
		jsonEq(t, "2nd auth seen by the middleware", mws[1].Auth, `{"token":"ok","n":2}`)
		conns := srv.Log().wait(t, "connect", 2)
		jsonEq(t, "handshake auth", conns[1].Auth, `{"token":"ok","n":2}`)

		// Refused, on a manager whose "/" stays connected.
		mgr2 := newManager(t, srv, m, fixedDelay(50*time.Millisecond))
		root := mgr2.Socket("/", nil)
		waitConnected(t, root)
		var badCalls atomic.Int32
		bad := mgr2.Socket("/auth", &client.SocketOptions{AuthFunc: func() any {
			return map[string]any{"token": "bad", "n": badCalls.Add(1)}
		}})
		badEv := watchSocket(bad)
		checkRefusal := func(attempt int) {
			t.Helper()
			// OnConnectError, not WaitConnected: the refusal may come before
			// a WaitConnected call would start waiting.
			err := badEv.wait(t, "connect_error", attempt, cliWait)[attempt-1].Err
			var ce *client.ConnectError
			if !errors.As(err, &ce) {
				t.Fatalf("attempt %d: OnConnectError(%v) (%T), want a *client.ConnectError", attempt, err, err)
			}
			if ce.Message != "not authorized" || string(ce.Data) != `{"code":401}` {
				t.Errorf("attempt %d: ConnectError{Message: %q, Data: %s}, want {%q, %s}", attempt, ce.Message, ce.Data, "not authorized", `{"code":401}`)
			}
			if bad.Active() || bad.Connected() || bad.ID() != "" {
				t.Errorf("refused socket: Active %v Connected %v ID %q, want false false \"\"", bad.Active(), bad.Connected(), bad.ID())
			}
			mws := srv.Log().wait(t, "middleware", 2+attempt)
			jsonEq(t, fmt.Sprintf("refused attempt %d: auth seen by the middleware", attempt), mws[1+attempt].Auth, fmt.Sprintf(`{"token":"bad","n":%d}`, attempt))
		}
		checkRefusal(1)
		time.Sleep(200 * time.Millisecond) // no automatic retry of a refusal
		if n := badCalls.Load(); n != 1 {
			t.Errorf("AuthFunc called %d times after one refusal, want 1 (no automatic retry)", n)
		}
		bad.Connect()
		checkRefusal(2)
		if n := badCalls.Load(); n != 2 {
			t.Errorf("AuthFunc called %d times for two attempts, want 2", n)
		}
		if !root.Connected() {
			t.Errorf("/ disconnected by the refusal of /auth")
		}
		if c := badEv.get("connect"); len(c) != 0 {
			t.Errorf("refused socket connected: %+v", c)
		}
		if got := len(srv.Log().get("middleware")); got != 4 {
			t.Errorf("middleware ran %d times, want 4", got)
		}
	})
}

// --- 3. acknowledgements --------------------------------------------------------

// 3. Acks both ways: EmitWithAck with and without timeout, Timeout and
// SocketOptions.AckTimeout expiring (client.ErrTimeout), the server's
// emitWithAck answered (and not) by a client handler.
func TestClientAcks(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, client.ManagerOptions{})
		s := mgr.Socket("/", nil)
		var questions atomic.Int32
		s.On("question", func(e *socketio.Event) {
			questions.Add(1)
			if !e.Ack().Requested() {
				t.Errorf("question: Ack().Requested() = false")
			}
			var q map[string]any
			if err := e.Bind(&q); err != nil {
				t.Errorf("question: %v", err)
			}
			if err := e.Ack().Send(q, "answered"); err != nil {
				t.Errorf("question: Ack().Send: %v", err)
			}
		})
		s.On("ignored", func(e *socketio.Event) {}) // never acknowledges
		waitConnected(t, s)
		checkTransport(t, mgr, s, m)

		// Without a timeout.
		res, err := s.EmitWithAck(ctxWait(t), "echo", 1, "two", map[string]any{"three": 3.5, "list": []any{true, nil}})
		if err != nil {
			t.Fatalf("EmitWithAck(echo): %v", err)
		}
		j, _ := argsJSON(res)
		jsonEq(t, "echo ack", json.RawMessage(j), `[1,"two",{"three":3.5,"list":[true,null]}]`)
		if res, err := s.EmitWithAck(ctxWait(t), "echo"); err != nil || len(res) != 0 {
			t.Errorf("EmitWithAck(echo) without arguments = %v, %v; want no arguments", res, err)
		}
		var a, b int
		if err := ack(t, s, "echo", 20, 22).Bind(&a, &b); err != nil || a+b != 42 {
			t.Errorf("echo 20 22: Bind = %v, %d %d", err, a, b)
		}

		// With a timeout, in time and too late.
		jsonEq(t, "delayed ack in time", emitterAckJSON(t, s.Timeout(2*time.Second), "delayed-ack", 50, "late", 1), `["late",1]`)
		start := time.Now()
		res, err = s.Timeout(100*time.Millisecond).EmitWithAck(context.Background(), "delayed-ack", 400, "too late")
		if !errors.Is(err, client.ErrTimeout) || res != nil {
			t.Errorf("Timeout(100ms) on a 400ms ack: %v, %v; want client.ErrTimeout", res, err)
		}
		if el := time.Since(start); el < 100*time.Millisecond || el >= 390*time.Millisecond {
			t.Errorf("Timeout(100ms) failed after %v", el)
		}
		time.Sleep(400 * time.Millisecond) // the late ack arrives and is ignored
		jsonEq(t, "echo after a late ack", ackJSON(t, s, "echo", "still"), `["still"]`)

		// SocketOptions.AckTimeout is the default timeout.
		o := mgr.Socket("/other", &client.SocketOptions{AckTimeout: 100 * time.Millisecond})
		waitConnected(t, o)
		if _, err := o.EmitWithAck(context.Background(), "delayed-ack", 400, "x"); !errors.Is(err, client.ErrTimeout) {
			t.Errorf("AckTimeout 100ms on a 400ms ack: %v, want client.ErrTimeout", err)
		}
		if res, err := o.EmitWithAck(context.Background(), "delayed-ack", 10, "y"); err != nil || len(res) != 1 {
			t.Errorf("AckTimeout 100ms on a 10ms ack: %v, %v", res, err)
		}

		// The server's emitWithAck, answered and not.
		jsonEq(t, "server emitWithAck answered", ackJSON(t, s, "ask", "question", map[string]any{"q": 1}, 2000),
			`[{"ok":true,"args":[{"q":1},"answered"]}]`)
		if n := questions.Load(); n != 1 {
			t.Errorf("question handler ran %d times, want 1", n)
		}
		jsonEq(t, "server emitWithAck unanswered", ackJSON(t, s, "ask", "ignored", map[string]any{"q": 2}, 200),
			`[{"ok":false,"error":"operation has timed out"}]`)
		jsonEq(t, "server emitWithAck without handler", ackJSON(t, s, "ask", "nobody", 3, 200),
			`[{"ok":false,"error":"operation has timed out"}]`)
	})
}

func emitterAckJSON(t *testing.T, e *client.Emitter, event string, args ...any) json.RawMessage {
	t.Helper()
	res, err := e.EmitWithAck(context.Background(), event, args...)
	if err != nil {
		t.Fatalf("EmitWithAck(%q): %v", event, err)
	}
	j, err := argsJSON(res)
	if err != nil {
		t.Fatalf("ack of %q: %v", event, err)
	}
	return json.RawMessage(j)
}

// --- 4. binary -------------------------------------------------------------------

type binPart struct {
	Name  string         `json:"name"`
	Data  []byte         `json:"data"`
	Parts [][]byte       `json:"parts"`
	Meta  map[string]any `json:"meta"`
}

// 4. Binary nested in arguments both ways: []byte in structs, maps and
// slices reaches the server as Buffers, comes back as []byte; the server's
// Buffers reach the client's handlers.
func TestClientBinary(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, client.ManagerOptions{})
		s := mgr.Socket("/", nil)
		events := make(chan client.Args, 4)
		s.On("echo-event", func(e *socketio.Event) { events <- e.Args })
		waitConnected(t, s)
		checkTransport(t, mgr, s, m)

		big := make([]byte, 100_000)
		for i := range big {
			big[i] = byte(i * 7)
		}
		part := binPart{
			Name:  "x",
			Data:  []byte{1, 2, 3},
			Parts: [][]byte{{0xff}, {}, {0, 0}},
			Meta:  map[string]any{"b": []byte("meta"), "list": []any{1, []byte{9}}},
		}
		tail := map[string]any{"deep": map[string]any{"deeper": []any{[]byte{0xca, 0xfe}}}}
		const wantTagged = `[[{"name":"x","data":{"$buf":"010203"},"parts":[{"$buf":"ff"},{"$buf":""},{"$buf":"0000"}],` +
			`"meta":{"b":{"$buf":"6d657461"},"list":[1,{"$buf":"09"}]}},{"$buf":"dead"},{"deep":{"deeper":[{"$buf":"cafe"}]}}]]`
		jsonEq(t, "what the server received", ackJSON(t, s, "describe", part, []byte{0xde, 0xad}, tail), wantTagged)

		// Round trip, bound back into Go values: []byte fields get the
		// bytes; an `any` target a tree with []byte values. (Binary under
		// an `any` inside a struct arrives as a base64 string: parser.JSON
		// binds structs through encoding/json, see parser/json.go.)
		res := ack(t, s, "echo", part, big, tail)
		var gotPart binPart
		var gotBig []byte
		var gotTail, gotTree any
		if err := res.Bind(&gotPart, &gotBig, &gotTail); err != nil {
			t.Fatalf("echo: Bind: %v", err)
		}
		if err := res[0].Decode(&gotTree); err != nil {
			t.Fatalf("echo: Decode: %v", err)
		}
		jsonEq(t, "echo: part as any", mustMarshal(t, tagBinary(gotTree)), `{"name":"x","data":{"$buf":"010203"},"parts":[{"$buf":"ff"},{"$buf":""},{"$buf":"0000"}],`+
			`"meta":{"b":{"$buf":"6d657461"},"list":[1,{"$buf":"09"}]}}`)
		if gotPart.Name != part.Name || !bytes.Equal(gotPart.Data, part.Data) || len(gotPart.Parts) != len(part.Parts) {
			t.Errorf("echo: part %+v, want %+v", gotPart, part)
		} else {
			for i := range part.Parts {
				if !bytes.Equal(gotPart.Parts[i], part.Parts[i]) {
					t.Errorf("echo: part.Parts[%d] = %x, want %x", i, gotPart.Parts[i], part.Parts[i])
				}
			}
		}
		if !bytes.Equal(gotBig, big) {
			t.Errorf("echo: 100 kB binary differs (len %d)", len(gotBig))
		}
		jsonEq(t, "echo: tail", mustMarshal(t, tagBinary(gotTail)), `{"deep":{"deeper":[{"$buf":"cafe"}]}}`)

		// The server's own Buffers.
		res = ack(t, s, "binary")
		j, err := argsJSON(res)
		if err != nil {
			t.Fatal(err)
		}
		jsonEq(t, "server Buffers", json.RawMessage(j),
			`[{"raw":{"$buf":"000102ff"},"nested":{"list":[{"$buf":"6869"},"text",{"deep":{"$buf":""}}]}},{"$buf":"07"}]`)
		var bin struct {
			Raw []byte `json:"raw"`
		}
		var seven []byte
		if err := res.Bind(&bin, &seven); err != nil || !bytes.Equal(bin.Raw, []byte{0, 1, 2, 255}) || !bytes.Equal(seven, []byte{7}) {
			t.Errorf("server Buffers bound: %v, %x, %x", err, bin.Raw, seven)
		}

		// An event (not an ack) carrying binary, to a client handler.
		if err := s.Emit("echo-event", "bin", map[string]any{"x": []byte{1}, "y": [][]byte{{2}, {3, 4}}}); err != nil {
			t.Fatalf("Emit: %v", err)
		}
		select {
		case args := <-events:
			j, _ := argsJSON(args)
			jsonEq(t, "echo-event", json.RawMessage(j), `["bin",{"x":{"$buf":"01"},"y":[{"$buf":"02"},{"$buf":"0304"}]}]`)
		case <-time.After(cliWait):
			t.Fatalf("no echo-event within %v", cliWait)
		}
	})
}

func mustMarshal(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --- 5. reconnection back-off ---------------------------------------------------

const (
	boBase   = 100 * time.Millisecond
	boMax    = time.Second
	boFactor = 0.5
	// boLate bounds how late a timer fires and the handlers run under -race
	// on a loaded machine; it widens only the upper bounds.
	boLate = 150 * time.Millisecond
)

// boBounds returns the range of the delay before attempt n+1 (n from 0):
// [base*2^n*(1-f), min(base*2^n*(1+f), max)].
func boBounds(n int) (lo, hi time.Duration) {
	d := float64(boBase) * float64(int(1)<<n)
	lo, hi = time.Duration(d*(1-boFactor)), time.Duration(d*(1+boFactor))
	if hi > boMax {
		hi = boMax
	}
	if lo > boMax {
		lo = boMax
	}
	return lo, hi
}

// checkBackoff checks the delays of a reconnection that started at
// closedAt: attempts are numbered 1..k; the delay before attempt n+1 is at
// least attempt[n+1]-attempt[n] (timers never fire early; attempt[0] is
// closedAt) and at most attempt[n+1]-failure[n] (the delay is scheduled
// before the failure is reported).
func checkBackoff(t *testing.T, closedAt time.Time, attempts, failures []evRec) {
	t.Helper()
	for i, a := range attempts {
		if a.N != i+1 {
			t.Errorf("attempt numbers %+v, want 1..%d", attempts, len(attempts))
			return
		}
	}
	if len(failures) < len(attempts)-1 {
		t.Fatalf("%d reconnect errors for %d attempts", len(failures), len(attempts))
	}
	for n := range attempts {
		prevAttempt, prevFailure := closedAt, closedAt
		if n > 0 {
			prevAttempt, prevFailure = attempts[n-1].At, failures[n-1].At
		}
		atLeast := attempts[n].At.Sub(prevFailure)
		atMost := attempts[n].At.Sub(prevAttempt)
		lo, hi := boBounds(n)
		if atMost < lo || atLeast > hi+boLate {
			t.Errorf("delay before attempt %d: between %v and %v, want within [%v, %v] (+%v lateness)", n+1, atLeast, atMost, lo, hi, boLate)
		}
		t.Logf("delay before attempt %d: %v..%v, bounds [%v, %v]", n+1, atLeast.Round(time.Millisecond), atMost.Round(time.Millisecond), lo, hi)
	}
}

// 5. The server closes the connection: the client reconnects after a
// randomized delay. Then the server stops: the attempts fail, their delays
// double within the randomization bounds up to ReconnectionDelayMax, and
// the attempt after the restart on the same port succeeds.
func TestClientReconnectBackoff(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, manual(client.ManagerOptions{
			ReconnectionDelay: boBase, ReconnectionDelayMax: boMax, RandomizationFactor: boFactor,
		}))
		mev := watchManager(mgr)
		s := mgr.Socket("/", nil)
		sev := watchSocket(s)
		s.Connect()
		waitConnected(t, s)
		checkTransport(t, mgr, s, m)
		first := s.ID()

		// The server closes the connection.
		_ = s.Emit("kill")
		rec := mev.wait(t, "reconnect", 1, cliWait)
		if rec[0].N != 1 {
			t.Errorf("OnReconnect(%d), want 1", rec[0].N)
		}
		closes := mev.get("close")
		attempts := mev.get("attempt")
		if len(closes) != 1 || len(attempts) != 1 {
			t.Fatalf("manager events %+v, want one close and one attempt", mev.all())
		}
		checkBackoff(t, closes[0].At, attempts, nil)
		sev.wait(t, "connect", 2, cliWait)
		if d := sev.get("disconnect"); len(d) != 1 || d[0].Reason != "transport close" {
			t.Errorf("socket disconnects %q, want [transport close]", reasons(d))
		}
		if s.ID() == first || !s.Connected() {
			t.Errorf("after reconnection: ID %q (was %q), Connected %v", s.ID(), first, s.Connected())
		}
		checkTransport(t, mgr, s, m)

		// The server stops: attempts fail until it restarts on the same port.
		srv.Stop(t)
		closes = mev.wait(t, "close", 2, cliWait)
		mev.wait(t, "reconnect_error", 4, 10*time.Second) // attempts 1-4 of this reconnection fail
		srv.Restart(t)
		rec = mev.wait(t, "reconnect", 2, 10*time.Second)
		all := mev.get("attempt")[1:]
		fails := mev.get("reconnect_error")
		if rec[1].N != len(all) || len(fails) != len(all)-1 {
			t.Errorf("OnReconnect(%d) after %d attempts and %d errors; want OnReconnect(attempts), errors = attempts-1", rec[1].N, len(all), len(fails))
		}
		checkBackoff(t, closes[1].At, all, fails)
		if len(all) < 5 {
			t.Errorf("%d attempts while the server was down, want at least 5", len(all))
		}
		sev.wait(t, "connect", 3, cliWait)
		if !s.Connected() {
			t.Fatalf("not connected after the restart")
		}
		checkTransport(t, mgr, s, m)
		jsonEq(t, "echo after the restart", ackJSON(t, s, "echo", "back"), `["back"]`)
		if f := mev.get("reconnect_failed"); len(f) != 0 {
			t.Errorf("OnReconnectFailed without ReconnectionAttempts: %+v", f)
		}
	})
}

// --- 6. restart while emitting ------------------------------------------------------

// 6. The server stops (the Node process is killed; ours shuts down) while
// the client emits: what was emitted after the client saw the disconnection
// (while offline and while reconnecting) reaches the restarted server after
// the reconnection exactly once and in order.
func TestClientRestartDelivery(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, manual(client.ManagerOptions{ReconnectionDelay: 100 * time.Millisecond, ReconnectionDelayMax: 300 * time.Millisecond}))
		s := mgr.Socket("/", nil)
		sev := watchSocket(s)
		s.Connect()
		waitConnected(t, s)
		checkTransport(t, mgr, s, m)
		for i := range 10 {
			if err := s.Emit("count", i); err != nil {
				t.Fatalf("Emit: %v", err)
			}
		}
		if got := stats(t, s); !slices.Equal(got, seq(0, 10)) {
			t.Fatalf("before the restart the server got %v, want %v", got, seq(0, 10))
		}
		oldID := s.ID()

		srv.Stop(t)
		sev.wait(t, "disconnect", 1, cliWait)
		if s.Connected() {
			t.Fatalf("Connected() after the disconnect event")
		}
		for i := 10; i < 30; i++ { // offline: buffered
			if err := s.Emit("count", i); err != nil {
				t.Fatalf("Emit while offline: %v", err)
			}
		}
		srv.Restart(t)
		n := 30
		deadline := time.Now().Add(cliWait)
		for len(sev.get("connect")) < 2 { // while reconnecting
			if time.Now().After(deadline) {
				t.Fatalf("no reconnection within %v: %+v", cliWait, sev.all())
			}
			if err := s.Emit("count", n); err != nil {
				t.Fatalf("Emit while reconnecting: %v", err)
			}
			n++
			time.Sleep(5 * time.Millisecond)
		}
		for range 10 { // connected again
			if err := s.Emit("count", n); err != nil {
				t.Fatalf("Emit: %v", err)
			}
			n++
		}
		if s.ID() == oldID {
			t.Errorf("same socket id %q after the server restarted", oldID)
		}
		got := stats(t, s)
		if !slices.Equal(got, seq(10, n)) {
			t.Errorf("the restarted server got %v, want %v (exactly once, in order)", got, seq(10, n))
		}
		var logged []int
		for _, r := range srv.Log().waitID(t, "count", s.ID(), n-10) { // the Node server's log lags behind its acks
			logged = append(logged, r.N)
		}
		if !slices.Equal(logged, seq(10, n)) {
			t.Errorf("server log of the new socket %v, want %v", logged, seq(10, n))
		}
		logged = nil
		for _, r := range srv.Log().ofID("count", oldID) {
			logged = append(logged, r.N)
		}
		if !slices.Equal(logged, seq(0, 10)) {
			t.Errorf("server log of the old socket %v, want %v", logged, seq(0, 10))
		}
		t.Logf("%d emitted while reconnecting; disconnect reasons %q", n-40, reasons(sev.get("disconnect")))
	})
}

// --- 7. retries -------------------------------------------------------------------

// 7. SocketOptions{Retries: 3, AckTimeout: 200ms} against a handler that
// acknowledges only every second delivery of a key: each emit is sent twice
// (one retry), acknowledged once, in order, one in flight at a time.
func TestClientRetries(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, client.ManagerOptions{})
		s := mgr.Socket("/", &client.SocketOptions{Retries: 3, AckTimeout: 200 * time.Millisecond})
		waitConnected(t, s)
		checkTransport(t, mgr, s, m)

		for k := range 3 {
			start := time.Now()
			res, err := s.EmitWithAck(context.Background(), "ack-every-other", k)
			if err != nil {
				t.Fatalf("key %d: %v", k, err)
			}
			var key, n int
			if err := res.Bind(&key, &n); err != nil || key != k || n != 2 {
				t.Errorf("key %d: ack (%d, %d) %v, want (%d, 2)", k, key, n, err, k)
			}
			if el := time.Since(start); el < 200*time.Millisecond {
				t.Errorf("key %d acknowledged after %v, before the 200ms AckTimeout of the first try", k, el)
			}
		}
		// Fire-and-forget emits are queued too, in order.
		for k := 3; k < 5; k++ {
			if err := s.Emit("ack-every-other", k); err != nil {
				t.Fatal(err)
			}
		}
		res, err := s.EmitWithAck(context.Background(), "ack-every-other", 5)
		if err != nil {
			t.Fatalf("key 5: %v", err)
		}
		j, _ := argsJSON(res)
		jsonEq(t, "ack of key 5", json.RawMessage(j), `[5,2]`)

		var got []string
		for _, r := range srv.Log().waitID(t, "every-other", s.ID(), 12) {
			got = append(got, fmt.Sprintf("%s#%d:%v", r.Key, r.N, r.Acked))
		}
		var want []string
		for k := range 6 {
			want = append(want, fmt.Sprintf("%d#1:false", k), fmt.Sprintf("%d#2:true", k))
		}
		if !slices.Equal(got, want) {
			t.Errorf("server deliveries %v, want %v", got, want)
		}
	})
}

// --- 8. volatile ------------------------------------------------------------------

// 8. While disconnected, a volatile emit is dropped, a normal one buffered
// and delivered after the reconnection.
func TestClientVolatileOffline(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, manual(fixedDelay(500*time.Millisecond)))
		s := mgr.Socket("/", nil)
		sev := watchSocket(s)
		s.Connect()
		waitConnected(t, s)
		checkTransport(t, mgr, s, m)
		_ = s.Emit("count", 1)
		if got := stats(t, s); !slices.Equal(got, []int{1}) {
			t.Fatalf("stats %v, want [1]", got)
		}
		_ = s.Emit("kill")
		sev.wait(t, "disconnect", 1, cliWait)
		if err := s.Volatile().Emit("count", 100); err != nil {
			t.Errorf("Volatile().Emit while offline: %v, want nil (dropped)", err)
		}
		if err := s.Emit("count", 101); err != nil {
			t.Errorf("Emit while offline: %v", err)
		}
		if len(sev.get("connect")) != 1 {
			t.Fatalf("reconnected before the 500ms delay: %+v", sev.all())
		}
		sev.wait(t, "connect", 2, cliWait)
		_ = s.Emit("count", 102)
		if got := stats(t, s); !slices.Equal(got, []int{101, 102}) {
			t.Errorf("after the reconnection the server got %v, want [101 102]", got)
		}
		for _, r := range srv.Log().get("count") {
			if r.N == 100 {
				t.Errorf("the volatile emit made while offline was delivered: %+v", r)
			}
		}
	})
}

// --- 9. connection state recovery ---------------------------------------------

// 9. Connection state recovery, against the Node server only: our Go
// server has no connectionStateRecovery yet. The transport is killed; on
// reconnection the session is recovered (same id, Recovered()) and the
// ticks the server emitted while the client was away arrive, in order,
// exactly once.
func TestClientRecovery(t *testing.T) {
	forEachClientCase(t, []string{"node"}, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{Recovery: 10 * time.Second})
		mgr := newManager(t, srv, m, manual(fixedDelay(300*time.Millisecond)))
		s := mgr.Socket("/", nil)
		sev := watchSocket(s)
		var mu sync.Mutex
		var ticks []int
		var offsets []string
		s.On("tick", func(e *socketio.Event) {
			var n int
			var off string
			if len(e.Args) != 2 {
				t.Errorf("tick with %d arguments, want 2 (n and the offset)", len(e.Args))
			}
			if err := e.Bind(&n, &off); err != nil {
				t.Errorf("tick: %v", err)
			}
			mu.Lock()
			ticks, offsets = append(ticks, n), append(offsets, off)
			mu.Unlock()
		})
		gotTicks := func(want []int) {
			t.Helper()
			deadline := time.Now().Add(cliWait)
			for {
				mu.Lock()
				got := slices.Clone(ticks)
				mu.Unlock()
				if len(got) >= len(want) || time.Now().After(deadline) {
					time.Sleep(50 * time.Millisecond)
					mu.Lock()
					got = slices.Clone(ticks)
					mu.Unlock()
					if !slices.Equal(got, want) {
						t.Fatalf("ticks %v, want %v", got, want)
					}
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		s.Connect()
		waitConnected(t, s)
		checkTransport(t, mgr, s, m)
		id := s.ID()
		if s.Recovered() {
			t.Errorf("Recovered() on the first connection")
		}
		ack(t, s, "ticks", 0, 3)
		gotTicks([]int{0, 1, 2})

		_ = s.Emit("kill-then-ticks", 3, 3)
		if d := sev.wait(t, "disconnect", 1, cliWait); d[0].Reason != "transport close" {
			t.Errorf("disconnect reason %q, want %q", d[0].Reason, "transport close")
		}
		c := sev.wait(t, "connect", 2, cliWait)
		if !s.Recovered() || s.ID() != id || c[1].ID != id {
			t.Errorf("after reconnection: Recovered %v, ID %q (in OnConnect %q); want true, %q", s.Recovered(), s.ID(), c[1].ID, id)
		}
		gotTicks([]int{0, 1, 2, 3, 4, 5})
		ack(t, s, "ticks", 6, 1)
		gotTicks([]int{0, 1, 2, 3, 4, 5, 6})
		mu.Lock()
		for i, off := range offsets {
			if off == "" || (i > 0 && off == offsets[i-1]) {
				t.Errorf("tick offsets %q: want non-empty, distinct", offsets)
				break
			}
		}
		lastBefore := offsets[2]
		mu.Unlock()

		conns := srv.Log().waitID(t, "connect", id, 2)
		if conns[0].Recovered || !conns[1].Recovered {
			t.Errorf("server: recovered %v then %v, want false then true", conns[0].Recovered, conns[1].Recovered)
		}
		var auth struct {
			PID    string `json:"pid"`
			Offset string `json:"offset"`
		}
		if err := json.Unmarshal(conns[1].Auth, &auth); err != nil || auth.PID == "" || auth.Offset != lastBefore {
			t.Errorf("auth of the recovering CONNECT %s: want a pid and the offset of the last tick received, %q", conns[1].Auth, lastBefore)
		}
		if d := srv.Log().ofID("disconnect", id); len(d) != 1 || d[0].Reason != "forced close" {
			t.Errorf("server disconnects %+v, want one, forced close", d)
		}
	})
}

// --- 10. disconnect reasons ------------------------------------------------------

// 10. The server disconnects the socket: "io server disconnect", no
// automatic reconnection, Active() false. A manual Disconnect: "io client
// disconnect" and the server sees "client namespace disconnect"; the
// connection closes once no socket uses it.
func TestClientDisconnectReasons(t *testing.T) {
	forEachClientCase(t, serverKinds, func(t *testing.T, kind string, m cliMode) {
		srv := startServer(t, kind, srvOptions{})
		mgr := newManager(t, srv, m, manual(fixedDelay(100*time.Millisecond)))
		mev := watchManager(mgr)
		s, o := mgr.Socket("/", nil), mgr.Socket("/other", nil)
		sev, oev := watchSocket(s), watchSocket(o)
		s.Connect()
		o.Connect()
		waitConnected(t, s)
		waitConnected(t, o)
		checkTransport(t, mgr, s, m)
		sid, oid := s.ID(), o.ID()

		_ = s.Emit("server-disconnect")
		if d := sev.wait(t, "disconnect", 1, cliWait); d[0].Reason != "io server disconnect" {
			t.Errorf("disconnect reason %q, want %q", d[0].Reason, "io server disconnect")
		}
		if s.Active() || s.Connected() || s.ID() != "" {
			t.Errorf("after io server disconnect: Active %v Connected %v ID %q; want false false \"\"", s.Active(), s.Connected(), s.ID())
		}
		if d := srv.Log().waitID(t, "disconnect", sid, 1); d[0].Reason != "server namespace disconnect" {
			t.Errorf("server reason %q, want %q", d[0].Reason, "server namespace disconnect")
		}
		time.Sleep(400 * time.Millisecond) // 4 reconnection delays
		if c := sev.get("connect"); len(c) != 1 {
			t.Errorf("socket reconnected by itself after io server disconnect: %+v", c)
		}
		if a := mev.get("attempt"); len(a) != 0 {
			t.Errorf("reconnection attempts after io server disconnect: %+v", a)
		}
		if !o.Connected() || mgr.Engine() == nil {
			t.Errorf("/other Connected %v, engine %v: want the connection kept for /other", o.Connected(), mgr.Engine())
		}
		jsonEq(t, "/other still works", ackJSON(t, o, "echo", 1), `[1]`)

		o.Disconnect()
		if d := oev.wait(t, "disconnect", 1, cliWait); d[0].Reason != "io client disconnect" {
			t.Errorf("Disconnect reason %q, want %q", d[0].Reason, "io client disconnect")
		}
		if o.Active() || o.Connected() {
			t.Errorf("after Disconnect: Active %v Connected %v", o.Active(), o.Connected())
		}
		if d := srv.Log().waitID(t, "disconnect", oid, 1); d[0].Reason != "client namespace disconnect" {
			t.Errorf("server reason %q, want %q", d[0].Reason, "client namespace disconnect")
		}
		if c := mev.wait(t, "close", 1, cliWait); c[0].Reason != "forced close" {
			t.Errorf("manager close reason %q, want %q (no socket left)", c[0].Reason, "forced close")
		}
		if mgr.Engine() != nil {
			t.Errorf("Engine() = %v with no socket active", mgr.Engine())
		}

		// Connect again by hand.
		s.Connect()
		waitConnected(t, s)
		if s.ID() == "" || s.ID() == sid || !s.Active() {
			t.Errorf("manual Connect: ID %q (was %q), Active %v", s.ID(), sid, s.Active())
		}
		jsonEq(t, "echo after a manual Connect", ackJSON(t, s, "echo", 2), `[2]`)
	})
}

// --- 11. Close leaves nothing behind ---------------------------------------------

// 11. Manager.Close while connected (with an acknowledgement pending) and
// while reconnecting to a stopped server: every socket gets "io client
// disconnect", pending acknowledgements fail with client.ErrDisconnected,
// the server sees "client namespace disconnect", and no goroutine of the
// client is left. The subtests run one at a time (no t.Parallel) so that
// goleak sees only this test's goroutines.
func TestClientCloseNoGoroutine(t *testing.T) {
	for _, kind := range serverKinds {
		for _, m := range cliModes {
			t.Run(kind+"/"+m.name, func(t *testing.T) {
				srv := startServer(t, kind, srvOptions{})
				before := goleak.IgnoreCurrent()

				mgr, err := client.NewManager(srv.URL(), &client.ManagerOptions{Transports: m.transports, AutoConnect: client.Bool(false)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = mgr.Close() }) // when the test stops early
				s, o := mgr.Socket("/", nil), mgr.Socket("/other", nil)
				sev, oev := watchSocket(s), watchSocket(o)
				s.Connect()
				o.Connect()
				waitConnected(t, s)
				waitConnected(t, o)
				checkTransport(t, mgr, s, m)
				sid, oid := s.ID(), o.ID()
				pending := make(chan error, 1)
				go func() {
					_, err := s.EmitWithAck(context.Background(), "delayed-ack", 3000, "never")
					pending <- err
				}()
				srv.Log().wait(t, "connect", 2)
				time.Sleep(100 * time.Millisecond) // the delayed-ack is on its way
				if err := mgr.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				select {
				case err := <-pending:
					if !errors.Is(err, client.ErrDisconnected) {
						t.Errorf("pending EmitWithAck after Close: %v, want client.ErrDisconnected", err)
					}
				case <-time.After(cliWait):
					t.Fatalf("pending EmitWithAck still waiting %v after Close", cliWait)
				}
				for _, ev := range []*recorder{sev, oev} {
					if d := ev.wait(t, "disconnect", 1, cliWait); d[0].Reason != "io client disconnect" {
						t.Errorf("disconnect reason %q, want io client disconnect", d[0].Reason)
					}
				}
				for _, id := range []string{sid, oid} {
					if d := srv.Log().waitID(t, "disconnect", id, 1); d[0].Reason != "client namespace disconnect" {
						t.Errorf("server reason of %s %q, want client namespace disconnect", id, d[0].Reason)
					}
				}
				if err := mgr.Close(); !errors.Is(err, client.ErrManagerClosed) {
					t.Errorf("second Close: %v, want client.ErrManagerClosed", err)
				}
				if s.Connected() || o.Connected() || mgr.Engine() != nil {
					t.Errorf("after Close: Connected %v %v, Engine %v", s.Connected(), o.Connected(), mgr.Engine())
				}

				// Close while reconnecting to a stopped server.
				mgr2, err := client.NewManager(srv.URL(), &client.ManagerOptions{
					Transports: m.transports, ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond,
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = mgr2.Close() })
				mev2 := watchManager(mgr2)
				s2 := mgr2.Socket("/", nil)
				waitConnected(t, s2)
				srv.Stop(t)
				mev2.wait(t, "reconnect_error", 2, cliWait)
				if err := mgr2.Close(); err != nil {
					t.Fatalf("Close while reconnecting: %v", err)
				}
				n := len(mev2.get("attempt"))
				time.Sleep(300 * time.Millisecond)
				if got := len(mev2.get("attempt")); got != n {
					t.Errorf("%d reconnection attempts after Close", got-n)
				}
				if s2.Active() || s2.Connected() {
					t.Errorf("after Close: Active %v Connected %v", s2.Active(), s2.Connected())
				}
				goleak.VerifyNone(t, before)
			})
		}
	}
}
