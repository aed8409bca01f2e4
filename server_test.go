package socketio_test

// Server semantics that the protocol conformance suite does not reach:
// rooms and broadcast selection, middlewares, dynamic namespaces, typed
// handlers, acknowledgements from handlers, ordering under concurrency,
// disconnect reasons, the adapter operations and the client bundle.
// Servers here use the default options (pings every 25s), and clients
// answer pings by themselves.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/internal/testutil"
)

// testCtx returns a context that ends after testutil.WaitTimeout.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// --- emitting ---------------------------------------------------------------

func TestEmitRefusesReservedEventNames(t *testing.T) {
	h := startServer(t, nil, nil)
	c, s := h.connect()
	ctx := testCtx(t)
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		attempts := map[string]error{
			"Socket.Emit":              s.Emit(name, 1),
			"Socket.Volatile().Emit":   s.Volatile().Emit(name),
			"Server.Emit":              h.srv.Emit(name),
			"Server.To().Emit":         h.srv.To(s.ID()).Emit(name),
			"Namespace.Except().Emit":  h.srv.Of("/").Except("nobody").Emit(name),
			"Socket.Broadcast().Emit":  s.Broadcast().Emit(name),
			"Namespace.ServerSideEmit": h.srv.Of("/").ServerSideEmit(name),
			"Server.ServerSideEmit":    h.srv.ServerSideEmit(name),
			"Server.In().Emit":         h.srv.In(s.ID()).Emit(name, "x"),
		}
		_, err := s.Timeout(time.Second).EmitWithAck(ctx, name)
		attempts["Socket.EmitWithAck"] = err
		_, err = h.srv.Timeout(time.Second).EmitWithAck(ctx, name)
		attempts["Server.EmitWithAck"] = err
		for what, err := range attempts {
			if err == nil {
				t.Errorf("%s(%q): no error, want a refusal", what, name)
			}
		}
	}
	// None of them reached the client: the next event it sees is this one.
	if err := s.Emit("marker"); err != nil {
		t.Fatal(err)
	}
	c.ExpectTextSkippingPings(`42["marker"]`)
}

// --- rooms ------------------------------------------------------------------

func TestSocketRoomsOwnIDFirst(t *testing.T) {
	h := startServer(t, nil, nil)
	_, s := h.connect()
	if got := s.Rooms(); !slices.Equal(got, []string{s.ID()}) {
		t.Fatalf("Rooms of a new socket: %q, want [its id %q]", got, s.ID())
	}
	s.Join("b", "a")
	s.Join(s.ID()) // already in it: no second entry
	got := s.Rooms()
	if len(got) != 3 || got[0] != s.ID() || !sameSet(got[1:], []string{"a", "b"}) {
		t.Fatalf("Rooms after joining b, a: %q, want [%q a b] with the id first", got, s.ID())
	}
	s.Leave("b")
	if got := s.Rooms(); !slices.Equal(got, []string{s.ID(), "a"}) {
		t.Fatalf("Rooms after leaving b: %q, want [%q a]", got, s.ID())
	}
}

// wantDelivery runs emit (which must emit the event name it is given),
// then a marker to every socket of "/", and checks that exactly the
// clients marked in want got the event, once, before the marker.
func wantDelivery(t *testing.T, h *harness, clients []*sioClient, want []bool, label string, emit func(event string) error) {
	t.Helper()
	event, marker := "ev-"+label, "end-"+label
	if err := emit(event); err != nil {
		t.Fatalf("%s: emit: %v", label, err)
	}
	if err := h.srv.Emit(marker); err != nil {
		t.Fatalf("%s: marker: %v", label, err)
	}
	for i, c := range clients {
		f := c.NextSkippingPings()
		if want[i] {
			if string(f.Data) != `42["`+event+`"]` {
				t.Fatalf("%s: client %d got %v, want the event", label, i+1, f)
			}
			f = c.NextSkippingPings()
		}
		if string(f.Data) != `42["`+marker+`"]` {
			t.Fatalf("%s: client %d got %v, want the marker (event expected: %v)", label, i+1, f, want[i])
		}
	}
}

func TestRoomSelection(t *testing.T) {
	h := startServer(t, nil, nil)
	c1, s1 := h.connect()
	c2, s2 := h.connect()
	c3, s3 := h.connect()
	cs := []*sioClient{c1, c2, c3}
	s1.Join("a")
	s2.Join("a", "b")
	s3.Join("b")

	all, none := []bool{true, true, true}, []bool{false, false, false}
	for _, tc := range []struct {
		label string
		want  []bool
		emit  func(ev string) error
	}{
		{"to-a", []bool{true, true, false}, func(ev string) error { return h.srv.To("a").Emit(ev) }},
		{"in-b", []bool{false, true, true}, func(ev string) error { return h.srv.In("b").Emit(ev) }},
		{"to-a-and-b-once", all, func(ev string) error { return h.srv.To("a").To("b").Emit(ev) }},
		{"to-b-except-a", []bool{false, false, true}, func(ev string) error { return h.srv.To("b").Except("a").Emit(ev) }},
		{"except-a", []bool{false, false, true}, func(ev string) error { return h.srv.Except("a").Emit(ev) }},
		{"except-a-and-b", none, func(ev string) error { return h.srv.Except("a", "b").Emit(ev) }},
		{"to-a-except-s2-id", []bool{true, false, false}, func(ev string) error { return h.srv.To("a").Except(s2.ID()).Emit(ev) }},
		{"to-s3-id", []bool{false, false, true}, func(ev string) error { return h.srv.To(s3.ID()).Emit(ev) }},
		{"to-unknown-room", none, func(ev string) error { return h.srv.To("nowhere").Emit(ev) }},
		{"namespace-emit", all, func(ev string) error { return h.srv.Of("/").Emit(ev) }},
		{"s1-to-a", []bool{false, true, false}, func(ev string) error { return s1.To("a").Emit(ev) }},
		{"s2-broadcast", []bool{true, false, true}, func(ev string) error { return s2.Broadcast().Emit(ev) }},
		{"s1-except-b", none, func(ev string) error { return s1.Except("b").Emit(ev) }},
		{"s3-to-a", []bool{true, true, false}, func(ev string) error { return s3.To("a").Emit(ev) }},
	} {
		wantDelivery(t, h, cs, tc.want, tc.label, tc.emit)
	}

	s2.Leave("a")
	wantDelivery(t, h, cs, []bool{true, false, false}, "to-a-after-leave", func(ev string) error { return h.srv.To("a").Emit(ev) })
	s1.Leave("a")
	wantDelivery(t, h, cs, none, "to-a-emptied", func(ev string) error { return h.srv.To("a").Emit(ev) })
	wantDelivery(t, h, cs, []bool{false, true, true}, "to-b-still", func(ev string) error { return h.srv.To("b").Emit(ev) })
}

// --- connection middleware ----------------------------------------------------

func TestNamespaceMiddlewareRefusal(t *testing.T) {
	var connected atomic.Int32
	h := startServer(t, nil, func(srv *socketio.Server) {
		srv.Use(func(s *socketio.Socket) error {
			if s.Handshake().Auth["token"] != "ok" {
				return &socketio.ConnectError{Message: "nope", Data: map[string]int{"x": 1}}
			}
			return nil
		})
		srv.OnConnection(func(*socketio.Socket) { connected.Add(1) })
		srv.Of("/admin").Use(func(*socketio.Socket) error { return errors.New("not allowed") })
		srv.Of("/admin").OnConnection(func(*socketio.Socket) { connected.Add(100) })
	})
	c, _ := h.openWS(true)

	c.SendText("40")
	c.ExpectTextSkippingPings(`44{"message":"nope","data":{"x":1}}`)
	c.SendText(`40{"token":"bad"}`)
	c.ExpectTextSkippingPings(`44{"message":"nope","data":{"x":1}}`)
	c.SendText("40/admin,")
	c.ExpectTextSkippingPings(`44/admin,{"message":"not allowed"}`)
	if n := connected.Load(); n != 0 {
		t.Fatalf("connection handlers ran %d times after refusals, want 0", n)
	}
	if n := h.srv.Of("/").SocketsCount(); n != 0 {
		t.Fatalf("%d sockets on / after a refusal, want 0", n)
	}

	// The connection stays usable: a CONNECT the middleware accepts works.
	c.join("/", `{"token":"ok"}`)
	eventually(t, "connection handler", func() bool { return connected.Load() == 1 })
}

// --- dynamic namespaces -------------------------------------------------------

func TestDynamicNamespaces(t *testing.T) {
	var created sync.Map // namespace name -> number of creations
	var byRegexp, byFunc *socketio.ParentNamespace
	opts := &socketio.ServerOptions{CleanupEmptyChildNamespaces: true}
	opts.Hooks.NamespaceCreated = func(n *socketio.Namespace) {
		v, _ := created.LoadOrStore(n.Name(), new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
	}
	h := startServer(t, opts, func(srv *socketio.Server) {
		byRegexp = srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		byRegexp.OnConnection(func(s *socketio.Socket) { _ = s.Emit("hello", s.Namespace().Name()) })
		byFunc = srv.OfFunc(func(name string, auth map[string]any) bool {
			return strings.HasPrefix(name, "/team-") && auth["token"] == "ok"
		})
		byFunc.OnConnection(func(s *socketio.Socket) { _ = s.Emit("team", s.Namespace().Name()) })
	})
	childNames := func(p *socketio.ParentNamespace) []string {
		var out []string
		for _, n := range p.Children() {
			out = append(out, n.Name())
		}
		slices.Sort(out)
		return out
	}
	creations := func(name string) int32 {
		v, ok := created.Load(name)
		if !ok {
			return 0
		}
		return v.(*atomic.Int32).Load()
	}

	c1, _ := h.openWS(true)
	c2, _ := h.openWS(true)

	// OfRegexp: a matching name is created on demand, with the parent's
	// handlers and middlewares; another name is refused.
	c1.join("/dyn-1", "")
	c1.ExpectTextSkippingPings(`42/dyn-1,["hello","/dyn-1"]`)
	c2.join("/dyn-1", "")
	c2.ExpectTextSkippingPings(`42/dyn-1,["hello","/dyn-1"]`)
	c1.SendText("40/dyn-x,")
	c1.ExpectTextSkippingPings(`44/dyn-x,{"message":"Invalid namespace"}`)
	c1.join("/dyn-3", "")
	c1.ExpectTextSkippingPings(`42/dyn-3,["hello","/dyn-3"]`)

	// OfFunc: the decision sees the name and the auth payload.
	c2.join("/team-a", `{"token":"ok"}`)
	c2.ExpectTextSkippingPings(`42/team-a,["team","/team-a"]`)
	c2.SendText(`40/team-b,{"token":"no"}`)
	c2.ExpectTextSkippingPings(`44/team-b,{"message":"Invalid namespace"}`)
	c2.SendText(`40/other,{"token":"ok"}`)
	c2.ExpectTextSkippingPings(`44/other,{"message":"Invalid namespace"}`)

	if got := childNames(byRegexp); !slices.Equal(got, []string{"/dyn-1", "/dyn-3"}) {
		t.Fatalf("children of the regexp parent: %q, want [/dyn-1 /dyn-3]", got)
	}
	if got := childNames(byFunc); !slices.Equal(got, []string{"/team-a"}) {
		t.Fatalf("children of the func parent: %q, want [/team-a]", got)
	}

	// CleanupEmptyChildNamespaces: a child goes when its last socket leaves.
	c1.SendText("41/dyn-1,")
	c1.SendText("41/dyn-3,")
	eventually(t, "/dyn-3 removed", func() bool { return slices.Equal(childNames(byRegexp), []string{"/dyn-1"}) })
	c2.SendText("41/dyn-1,")
	c2.SendText("41/team-a,")
	eventually(t, "every child removed", func() bool {
		return len(byRegexp.Children()) == 0 && len(byFunc.Children()) == 0
	})

	// Connecting again creates the namespace anew.
	c1.join("/dyn-1", "")
	c1.ExpectTextSkippingPings(`42/dyn-1,["hello","/dyn-1"]`)
	if got := childNames(byRegexp); !slices.Equal(got, []string{"/dyn-1"}) {
		t.Fatalf("children after a new connection: %q, want [/dyn-1]", got)
	}
	if n := creations("/dyn-1"); n != 2 {
		t.Fatalf("/dyn-1 created %d times, want 2", n)
	}
}

// A child created for a CONNECT that its middleware refuses never holds a
// socket; with CleanupEmptyChildNamespaces it is removed at once, as in
// Node (socket._cleanup calls the child's _remove, which drops it when
// empty).
func TestDynamicNamespaceRefusedChildCleanedUp(t *testing.T) {
	var parent *socketio.ParentNamespace
	opts := &socketio.ServerOptions{CleanupEmptyChildNamespaces: true}
	h := startServer(t, opts, func(srv *socketio.Server) {
		parent = srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		parent.Use(func(s *socketio.Socket) error {
			if s.Handshake().Auth["deny"] == true {
				return errors.New("denied by parent")
			}
			return nil
		})
	})
	c, _ := h.openWS(true)
	c.SendText(`40/dyn-2,{"deny":true}`)
	c.ExpectTextSkippingPings(`44/dyn-2,{"message":"denied by parent"}`) // the parent's middleware runs in the child
	eventually(t, "refused child /dyn-2 removed", func() bool { return len(parent.Children()) == 0 })
}

func TestDynamicNamespaceKeptWithoutCleanup(t *testing.T) {
	var parent *socketio.ParentNamespace
	h := startServer(t, nil, func(srv *socketio.Server) {
		parent = srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	})
	c, _ := h.openWS(true)
	c.join("/dyn-7", "")
	c.SendText("41/dyn-7,")
	c.join("/", "") // the DISCONNECT above has been handled
	if n := len(parent.Children()); n != 1 {
		t.Fatalf("%d children after the last socket left, want 1 (cleanup is off)", n)
	}
}

// --- packet middleware, errors, panics --------------------------------------

func TestPacketMiddlewareRefusal(t *testing.T) {
	errs := make(chan error, 4)
	var forbiddenRan atomic.Bool
	h := startServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnError(func(err error) { errs <- err })
			s.Use(func(e *socketio.Event) error {
				if e.Name == "forbidden" {
					return errors.New("forbidden event")
				}
				return nil
			})
			s.On("forbidden", func(*socketio.Event) { forbiddenRan.Store(true) })
			s.On("ok", func(e *socketio.Event) { _ = s.Emit("ok-back") })
		})
	})
	c, _ := h.connect()
	c.SendText(`421["forbidden",1]`)
	c.SendText(`42["ok"]`)
	if err := receive(t, "OnError", errs); err == nil || err.Error() != "forbidden event" {
		t.Fatalf("OnError got %v, want the middleware's error", err)
	}
	c.ExpectTextSkippingPings(`42["ok-back"]`) // no acknowledgement of the refused event before it
	if forbiddenRan.Load() {
		t.Fatal("the handler of a refused event ran")
	}
}

func TestHandlerPanicReportedAndSurvived(t *testing.T) {
	errs := make(chan error, 4)
	h := startServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnError(func(err error) { errs <- err })
			s.On("boom", func(*socketio.Event) { panic("kaboom") })
			s.On("ok", func(e *socketio.Event) { _ = s.Emit("ok-back") })
		})
	})
	c, _ := h.connect()
	c.SendText(`42["boom"]`)
	if err := receive(t, "OnError", errs); err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("OnError got %v, want the panic value", err)
	}
	c.SendText(`42["ok"]`)
	c.ExpectTextSkippingPings(`42["ok-back"]`)

	other, _ := h.connect()
	other.SendText(`42["ok"]`)
	other.ExpectTextSkippingPings(`42["ok-back"]`)
}

// TestConnectionHandlerPanicSurvived runs its scenario in a child process:
// if a panic in a connection handler takes the process down, the parent
// reports it instead of dying with it.
func TestConnectionHandlerPanicSurvived(t *testing.T) {
	const envKey = "SOCKETIO_TEST_CHILD"
	if os.Getenv(envKey) == t.Name() {
		connectionHandlerPanicScenario(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*testutil.WaitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envKey+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 25 {
			lines = lines[:25]
		}
		t.Fatalf("the server process did not survive a panic in a connection handler (%v); its output begins:\n%s",
			err, strings.Join(lines, "\n"))
	}
}

func connectionHandlerPanicScenario(t *testing.T) {
	errs := make(chan error, 4)
	h := startServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnError(func(err error) { errs <- err })
			if s.Handshake().Auth["panic"] == true {
				panic("connection handler kaboom")
			}
			s.On("ok", func(e *socketio.Event) { _ = s.Emit("ok-back") })
		})
	})
	bad, _ := h.openWS(true)
	bad.SendText(`40{"panic":true}`)
	if err := receive(t, "OnError", errs); err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("OnError got %v, want the panic value", err)
	}
	good, _ := h.connect()
	good.SendText(`42["ok"]`)
	good.ExpectTextSkippingPings(`42["ok-back"]`)
}

// --- typed handlers -----------------------------------------------------------

func TestTypedHandlersAndBindErrors(t *testing.T) {
	type bindErr struct {
		event string
		err   error
	}
	bindErrs := make(chan bindErr, 8)
	var addCalls atomic.Int32
	opts := &socketio.ServerOptions{}
	opts.Hooks.BindError = func(_ *socketio.Socket, event string, err error) { bindErrs <- bindErr{event, err} }
	h := startServer(t, opts, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("add", socketio.Func2(func(a, b int, ack socketio.Ack) {
				addCalls.Add(1)
				_ = ack.Send(a + b)
			}))
			type person struct {
				Name string `json:"name"`
			}
			s.On("greet", socketio.Func1(func(p person, ack socketio.Ack) { _ = ack.Send("hello " + p.Name) }))
			s.On("ping-me", socketio.Func0(func(ack socketio.Ack) { _ = ack.Send(ack.Requested()) }))
			s.On("sum3", socketio.Func3(func(a, b, c float64, ack socketio.Ack) { _ = ack.Send(a + b + c) }))
		})
	})
	c, _ := h.connect()

	c.SendText(`421["add",1,2]`)
	c.ExpectTextSkippingPings(`431[3]`)
	c.SendText(`422["greet",{"name":"Ann"}]`)
	c.ExpectTextSkippingPings(`432["hello Ann"]`)
	c.SendText(`423["ping-me"]`)
	c.ExpectTextSkippingPings(`433[true]`)
	c.SendText(`424["sum3",1,2,3.5]`)
	c.ExpectTextSkippingPings(`434[6.5]`)

	// Arguments that do not bind: the hook fires, the handler does not run,
	// and a requested acknowledgement carries {"error": "..."}.
	for _, tc := range []struct{ id, args string }{
		{"5", `"x",2`}, // wrong type
		{"6", `1`},     // missing argument
	} {
		c.SendText(`42` + tc.id + `["add",` + tc.args + `]`)
		f := c.NextSkippingPings()
		id, body := ackID(t, f, "43")
		if fmt.Sprint(id) != tc.id {
			t.Fatalf("ack id %d, want %s", id, tc.id)
		}
		var payload []map[string]any
		if err := json.Unmarshal([]byte(body), &payload); err != nil || len(payload) != 1 {
			t.Fatalf("ack %v: want one object argument (%v)", f, err)
		}
		msg, ok := payload[0]["error"].(string)
		if len(payload[0]) != 1 || !ok || msg == "" {
			t.Fatalf("ack %v: want exactly {\"error\":\"<message>\"}", f)
		}
		be := receive(t, "BindError hook", bindErrs)
		if be.event != "add" || be.err == nil || be.err.Error() != msg {
			t.Fatalf("BindError hook got (%q, %v), want (\"add\", the error the ack carries: %q)", be.event, be.err, msg)
		}
	}
	// Without an ack request, nothing is sent back.
	c.SendText(`42["add","x","y"]`)
	receive(t, "BindError hook", bindErrs)
	c.SendText(`427["add",2,2]`)
	c.ExpectTextSkippingPings(`437[4]`)
	if n := addCalls.Load(); n != 2 {
		t.Fatalf("the add handler ran %d times, want 2 (only with arguments that bind)", n)
	}
}

// --- acknowledgements from handlers ---------------------------------------------

func TestEmitWithAckFromHandler(t *testing.T) {
	h := startServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("ask", func(e *socketio.Event) {
				ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
				defer cancel()
				res, err := s.EmitWithAck(ctx, "question", "why?")
				if err != nil {
					_ = s.Emit("result", "error: "+err.Error())
					return
				}
				var answer string
				if err := res.Bind(&answer); err != nil {
					_ = s.Emit("result", "bind: "+err.Error())
					return
				}
				_ = s.Emit("result", answer)
			})
			s.On("after", func(*socketio.Event) { _ = s.Emit("after-back") })
		})
		// The connection handler itself waits for an acknowledgement.
		srv.Of("/welcome").OnConnection(func(s *socketio.Socket) {
			res, err := s.Timeout(testutil.WaitTimeout).EmitWithAck(context.Background(), "welcome")
			if err != nil {
				_ = s.Emit("welcomed", "error: "+err.Error())
				return
			}
			_ = s.Emit("welcomed", res.Values()...)
		})
	})
	c, _ := h.connect()
	c.SendText(`42["ask"]`)
	// An event that arrives while the handler waits is queued behind it.
	c.SendText(`42["after"]`)
	id, body := ackID(t, c.NextSkippingPings(), "42")
	if body != `["question","why?"]` {
		t.Fatalf("question %s, want [\"question\",\"why?\"]", body)
	}
	c.SendText(fmt.Sprintf(`43%d["because"]`, id))
	c.ExpectTextSkippingPings(`42["result","because"]`)
	c.ExpectTextSkippingPings(`42["after-back"]`)

	c.join("/welcome", "")
	id, body = ackID(t, c.NextSkippingPings(), "42/welcome,")
	if body != `["welcome"]` {
		t.Fatalf("welcome %s, want [\"welcome\"]", body)
	}
	c.SendText(fmt.Sprintf(`43/welcome,%d[{"ok":true}]`, id))
	c.ExpectTextSkippingPings(`42/welcome,["welcomed",{"ok":true}]`)
}

// --- ordering -----------------------------------------------------------------

func TestConcurrentEmitsKeepEachSequence(t *testing.T) {
	const goroutines, perGoroutine = 8, 250
	h := startServer(t, nil, nil)
	c, s := h.connect()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				var err error
				if g%2 == 0 {
					err = s.Emit("seq", g, i)
				} else { // through the adapter, to the socket's own room
					err = h.srv.To(s.ID()).Emit("seq", g, i)
				}
				if err != nil {
					t.Errorf("goroutine %d, emit %d: %v", g, i, err)
					return
				}
			}
		})
	}
	next := make([]int, goroutines)
	for range goroutines * perGoroutine {
		f := c.NextSkippingPings()
		var v []json.RawMessage
		var g, i int
		if err := json.Unmarshal([]byte(strings.TrimPrefix(string(f.Data), "42")), &v); err != nil || len(v) != 3 ||
			string(v[0]) != `"seq"` || json.Unmarshal(v[1], &g) != nil || json.Unmarshal(v[2], &i) != nil ||
			g < 0 || g >= goroutines {
			wg.Wait()
			t.Fatalf("unexpected frame %v", f)
		}
		if i != next[g] {
			wg.Wait()
			t.Fatalf("goroutine %d: got emit %d, want %d (reordered or lost)", g, i, next[g])
		}
		next[g]++
	}
	wg.Wait()
}

func TestThousandEventsInOrder(t *testing.T) {
	const n = 1000
	var mu sync.Mutex
	var got []int
	h := startServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("n", socketio.Func1(func(i int, _ socketio.Ack) {
				mu.Lock()
				got = append(got, i)
				count := len(got)
				mu.Unlock()
				if count == n {
					_ = s.Emit("done", count)
				}
			}))
		})
	})
	c, _ := h.connect()
	for i := range n {
		c.SendText(fmt.Sprintf(`42["n",%d]`, i))
	}
	c.ExpectTextSkippingPings(fmt.Sprintf(`42["done",%d]`, n))
	mu.Lock()
	defer mu.Unlock()
	for i, v := range got {
		if v != i {
			t.Fatalf("event %d handled as number %d: out of order", v, i)
		}
	}
}

// --- disconnection --------------------------------------------------------------

// reasonRecorder collects the disconnect reasons of the sockets of a
// server, and the rooms each was in while disconnecting.
type reasonRecorder struct {
	disconnect    chan string
	disconnecting chan []string
}

func newReasonRecorder() *reasonRecorder {
	return &reasonRecorder{disconnect: make(chan string, 8), disconnecting: make(chan []string, 8)}
}

func (r *reasonRecorder) install(srv *socketio.Server, nsps ...string) {
	for _, name := range append([]string{"/"}, nsps...) {
		srv.Of(name).OnConnection(func(s *socketio.Socket) {
			s.Join("room1")
			s.OnDisconnecting(func(string) { r.disconnecting <- s.Rooms() })
			s.OnDisconnect(func(reason string) { r.disconnect <- reason })
		})
	}
}

func (r *reasonRecorder) want(t *testing.T, reason string) {
	t.Helper()
	if got := receive(t, "disconnect reason", r.disconnect); got != reason {
		t.Fatalf("disconnect reason %q, want %q", got, reason)
	}
	rooms := receive(t, "rooms while disconnecting", r.disconnecting)
	if !slices.Contains(rooms, "room1") {
		t.Fatalf("rooms while disconnecting: %q, want room1 still there", rooms)
	}
}

func TestDisconnectReasons(t *testing.T) {
	t.Run("client namespace disconnect", func(t *testing.T) {
		rec := newReasonRecorder()
		h := startServer(t, nil, func(srv *socketio.Server) { rec.install(srv) })
		c, s := h.connect()
		c.SendText("41")
		rec.want(t, "client namespace disconnect")
		if s.Connected() {
			t.Error("socket still connected")
		}
		c.join("/", "") // the connection itself stays open
	})
	t.Run("server namespace disconnect", func(t *testing.T) {
		rec := newReasonRecorder()
		h := startServer(t, nil, func(srv *socketio.Server) { rec.install(srv) })
		c, s := h.connect()
		s.Disconnect(false)
		c.ExpectTextSkippingPings("41")
		rec.want(t, "server namespace disconnect")
		if err := s.Emit("late"); !errors.Is(err, socketio.ErrDisconnected) {
			t.Errorf("Emit after disconnection: %v, want ErrDisconnected", err)
		}
		c.join("/", "") // the connection itself stays open
	})
	t.Run("server disconnect with close", func(t *testing.T) {
		rec := newReasonRecorder()
		h := startServer(t, nil, func(srv *socketio.Server) { rec.install(srv, "/other") })
		c, s := h.connect()
		c.join("/other", "")
		s.Disconnect(true)
		rec.want(t, "server namespace disconnect")
		rec.want(t, "server namespace disconnect")
		var got []string
		for _, f := range c.ExpectClosed() {
			got = append(got, string(f.Data))
		}
		if !sameSet(got, []string{"41", "41/other,"}) {
			t.Fatalf("frames before the close: %q, want 41 and 41/other,", got)
		}
	})
	t.Run("transport close", func(t *testing.T) {
		rec := newReasonRecorder()
		h := startServer(t, nil, func(srv *socketio.Server) { rec.install(srv) })
		c, _ := h.connect()
		c.Close()
		rec.want(t, "transport close")
	})
	t.Run("transport close by close packet", func(t *testing.T) {
		rec := newReasonRecorder()
		h := startServer(t, nil, func(srv *socketio.Server) { rec.install(srv) })
		c, _ := h.connect()
		c.SendText("1")
		rec.want(t, "transport close")
	})
	t.Run("server shutting down", func(t *testing.T) {
		rec := newReasonRecorder()
		h := startServer(t, nil, func(srv *socketio.Server) { rec.install(srv) })
		c, _ := h.connect()
		if err := h.srv.Shutdown(testCtx(t)); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		rec.want(t, "server shutting down")
		c.ExpectClosed()
		if err := h.srv.Shutdown(testCtx(t)); !errors.Is(err, socketio.ErrServerClosed) {
			t.Errorf("second Shutdown: %v, want ErrServerClosed", err)
		}
	})
}

// --- adapter operations -----------------------------------------------------------

func TestAdapterOperations(t *testing.T) {
	rec := newReasonRecorder()
	h := startServer(t, nil, nil)
	h.srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(reason string) { rec.disconnect <- reason })
	})
	ctx := testCtx(t)
	c1, s1 := h.connect()
	c2, s2 := h.connect()
	c3, s3 := h.connect()
	s1.Join("a")
	s2.Join("a")
	s3.Join("b")
	s1.SetData("one")

	ids := func(rs []*socketio.RemoteSocket, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatalf("FetchSockets: %v", err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(h.srv.FetchSockets(ctx)); !sameSet(got, []string{s1.ID(), s2.ID(), s3.ID()}) {
		t.Fatalf("FetchSockets: %q, want the three sockets", got)
	}
	inA, err := h.srv.In("a").FetchSockets(ctx)
	if got := ids(inA, err); !sameSet(got, []string{s1.ID(), s2.ID()}) {
		t.Fatalf("In(a).FetchSockets: %q, want s1 and s2", got)
	}
	for _, r := range inA {
		if r.ID != s1.ID() {
			continue
		}
		if r.Data != "one" || r.Handshake == nil || !slices.Equal(r.Rooms, []string{s1.ID(), "a"}) {
			t.Fatalf("remote s1: data %v, rooms %q, handshake %v; want one, [id a], non-nil", r.Data, r.Rooms, r.Handshake)
		}
	}
	if got := ids(h.srv.Except("a").FetchSockets(ctx)); !slices.Equal(got, []string{s3.ID()}) {
		t.Fatalf("Except(a).FetchSockets: %q, want s3", got)
	}

	// SocketsJoin / SocketsLeave act on the selection.
	if err := h.srv.In("a").SocketsJoin("x", "y"); err != nil {
		t.Fatal(err)
	}
	if got := ids(h.srv.In("x").FetchSockets(ctx)); !sameSet(got, []string{s1.ID(), s2.ID()}) {
		t.Fatalf("after In(a).SocketsJoin(x): In(x) is %q, want s1 and s2", got)
	}
	if err := h.srv.Except(s1.ID()).SocketsLeave("x"); err != nil {
		t.Fatal(err)
	}
	if got := s1.Rooms(); !sameSet(got, []string{s1.ID(), "a", "x", "y"}) {
		t.Fatalf("s1 rooms %q, want id, a, x, y", got)
	}
	if got := s2.Rooms(); !sameSet(got, []string{s2.ID(), "a", "y"}) {
		t.Fatalf("s2 rooms %q, want id, a, y", got)
	}
	if err := h.srv.SocketsLeave("y"); err != nil {
		t.Fatal(err)
	}
	if got := ids(h.srv.In("y").FetchSockets(ctx)); len(got) != 0 {
		t.Fatalf("In(y) after SocketsLeave(y): %q, want none", got)
	}

	// A RemoteSocket acts on its socket alone.
	inB, err := h.srv.In("b").FetchSockets(ctx)
	if got := ids(inB, err); !slices.Equal(got, []string{s3.ID()}) {
		t.Fatalf("In(b): %q, want s3", got)
	}
	r3 := inB[0]
	if err := r3.Emit("direct", 1); err != nil {
		t.Fatal(err)
	}
	c3.ExpectTextSkippingPings(`42["direct",1]`)
	if err := r3.Join("z"); err != nil {
		t.Fatal(err)
	}
	if got := s3.Rooms(); !sameSet(got, []string{s3.ID(), "b", "z"}) {
		t.Fatalf("s3 rooms after RemoteSocket.Join(z): %q", got)
	}
	if err := r3.Leave("z"); err != nil {
		t.Fatal(err)
	}
	if got := s3.Rooms(); !sameSet(got, []string{s3.ID(), "b"}) {
		t.Fatalf("s3 rooms after RemoteSocket.Leave(z): %q", got)
	}

	// DisconnectSockets: the selected sockets only.
	if err := h.srv.In("a").DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	c1.ExpectTextSkippingPings("41")
	c2.ExpectTextSkippingPings("41")
	for range 2 {
		if got := receive(t, "disconnect reason", rec.disconnect); got != "server namespace disconnect" {
			t.Fatalf("reason %q, want server namespace disconnect", got)
		}
	}
	if got := h.srv.Sockets(); len(got) != 1 || got[0].ID() != s3.ID() {
		t.Fatalf("sockets after In(a).DisconnectSockets: %d, want s3 alone", len(got))
	}
	c3.SendText("42[\"still\"]") // s3 is untouched: nothing breaks
	if err := r3.Disconnect(true); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, "disconnect reason", rec.disconnect); got != "server namespace disconnect" {
		t.Fatalf("reason %q, want server namespace disconnect", got)
	}
	frames := c3.ExpectClosed()
	if len(frames) != 1 || string(frames[0].Data) != "41" {
		t.Fatalf("frames before the close: %v, want 41", frames)
	}
	if n := h.srv.Of("/").SocketsCount(); n != 0 {
		t.Fatalf("%d sockets left, want 0", n)
	}
}

// --- client bundle ----------------------------------------------------------------

func TestClientFiles(t *testing.T) {
	const bundle = "/* fake socket.io client bundle */"
	h := startServer(t, &socketio.ServerOptions{
		ClientFiles: fstest.MapFS{"socket.io.min.js": {Data: []byte(bundle)}},
	}, nil)
	fileURL := h.http.URL + "/socket.io/socket.io.min.js"

	r := testutil.Request(h.http.Client(), http.MethodGet, fileURL, "", nil)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Status != http.StatusOK || r.Body != bundle {
		t.Fatalf("GET bundle: %d %q, want 200 and the file", r.Status, r.Body)
	}
	etag := r.Header.Get("ETag")
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Fatalf("ETag %q, want a quoted entity tag", etag)
	}
	if got := r.Header.Get("Cache-Control"); got != "public, max-age=0" {
		t.Errorf("Cache-Control %q, want %q", got, "public, max-age=0")
	}
	if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/javascript") {
		t.Errorf("Content-Type %q, want application/javascript", got)
	}

	r = testutil.Request(h.http.Client(), http.MethodGet, fileURL, "", http.Header{"If-None-Match": {etag}})
	if r.Err != nil || r.Status != http.StatusNotModified || r.Body != "" {
		t.Fatalf("GET with If-None-Match %s: %d %q (%v), want 304 and no body", etag, r.Status, r.Body, r.Err)
	}
	if got := r.Header.Get("ETag"); got != etag {
		t.Errorf("304 ETag %q, want %q", got, etag)
	}
	r = testutil.Request(h.http.Client(), http.MethodGet, fileURL, "", http.Header{"If-None-Match": {`"something-else"`}})
	if r.Err != nil || r.Status != http.StatusOK || r.Body != bundle {
		t.Fatalf("GET with a stale If-None-Match: %d %q (%v), want 200 and the file", r.Status, r.Body, r.Err)
	}

	// Anything else goes to the engine, which knows no such transport.
	r = testutil.Request(h.http.Client(), http.MethodGet, h.http.URL+"/socket.io/unknown.js", "", nil)
	if r.Err != nil || r.Status != http.StatusBadRequest || r.Body != testutil.BodyTransportUnknown {
		t.Fatalf("GET unknown.js: %d %q (%v), want 400 %s", r.Status, r.Body, r.Err, testutil.BodyTransportUnknown)
	}
	// And the server still speaks Socket.IO.
	if sid := h.openPolling(); !idPattern.MatchString(sid) {
		t.Fatalf("polling handshake gave sid %q", sid)
	}
}

// A packet with binary attachments is several Engine.IO messages; packets
// emitted from many goroutines at once must not interleave their parts
// (found by the soak test: the client saw a text packet where it awaited
// an attachment).
func TestConcurrentBinaryPacketsDoNotInterleave(t *testing.T) {
	h := startServer(t, nil, nil)
	c, s := h.connect()
	const goroutines, each = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if g%2 == 0 {
					_ = s.Emit("bin", []byte{byte(g), byte(i)}, []byte{byte(i)})
				} else {
					_ = h.srv.To(s.ID()).Emit("bin", []byte{byte(g), byte(i)}, []byte{byte(i)})
				}
			}
		}()
	}
	wg.Wait()
	for n := range goroutines * each {
		f := c.NextSkippingPings()
		if f.Binary || !strings.HasPrefix(string(f.Data), `452-["bin",`) {
			t.Fatalf("packet %d: got %v, want the header of a binary event with 2 attachments", n, f)
		}
		for a := range 2 {
			if f := c.NextSkippingPings(); !f.Binary {
				t.Fatalf("packet %d, attachment %d: got %v, want a binary frame", n, a, f)
			}
		}
	}
}
