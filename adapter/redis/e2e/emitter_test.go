package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	redis "github.com/go-sio/socketio/adapter/redis"
	"github.com/go-sio/socketio/adapter/redis/emitter"
	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
	goredis "github.com/redis/go-redis/v9"
)

// An emitter (a process that is not a Socket.IO server) publishing to the
// classic adapter's channels: the npm @socket.io/redis-emitter 5.1.0 or
// ours, behind one interface.
type clusterEmitter interface {
	Name() string
	Emit(t testing.TB, s sel, event string, args ...any)
	SocketsJoin(t testing.TB, s sel, rooms ...string)
	SocketsLeave(t testing.TB, s sel, rooms ...string)
	DisconnectSockets(t testing.TB, s sel, close bool)
	ServerSideEmit(t testing.TB, nsp, event string, args ...any)
}

// nodeEmitter drives e2e/node/cluster/emitter.js.
type nodeEmitter struct{ *proc }

func startNodeEmitter(t testing.TB, env nodeEnv, redisURL string) *nodeEmitter {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"redis": redisURL})
	p := startProc(t, env, "node-emitter", "cluster/emitter.js", string(b))
	p.wait(t, 20*time.Second, "emitter ready", func(l line) bool { return l.Event == "ready" })
	return &nodeEmitter{p}
}

func (e *nodeEmitter) Name() string { return "node-emitter" }

func (e *nodeEmitter) Emit(t testing.TB, s sel, event string, args ...any) {
	t.Helper()
	e.must(t, "emit", withArgs(s.fields(), event, args))
}

func (e *nodeEmitter) SocketsJoin(t testing.TB, s sel, rooms ...string) {
	t.Helper()
	f := s.fields()
	f["join"] = rooms
	e.must(t, "socketsJoin", f)
}

func (e *nodeEmitter) SocketsLeave(t testing.TB, s sel, rooms ...string) {
	t.Helper()
	f := s.fields()
	f["join"] = rooms
	e.must(t, "socketsLeave", f)
}

func (e *nodeEmitter) DisconnectSockets(t testing.TB, s sel, close bool) {
	t.Helper()
	f := s.fields()
	f["close"] = close
	e.must(t, "disconnectSockets", f)
}

func (e *nodeEmitter) ServerSideEmit(t testing.TB, nsp, event string, args ...any) {
	t.Helper()
	e.must(t, "serverSideEmit", withArgs(map[string]any{"nsp": nsp}, event, args))
}

// goEmitter is our emitter package over go-redis.
type goEmitter struct{ e *emitter.Emitter }

func startGoEmitter(t testing.TB, addr string) *goEmitter {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return &goEmitter{emitter.New(redis.GoRedis(rdb), nil)}
}

func (g *goEmitter) Name() string { return "go-emitter" }

func (g *goEmitter) op(s sel) *emitter.BroadcastOperator {
	b := g.e.Of(s.nsp()).To(s.Rooms...)
	if len(s.Except) > 0 {
		b = b.Except(s.Except...)
	}
	if s.Volatile {
		b = b.Volatile()
	}
	return b
}

func ctx10s() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (g *goEmitter) Emit(t testing.TB, s sel, event string, args ...any) {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	if err := g.op(s).Emit(ctx, event, args...); err != nil {
		t.Fatalf("go emitter: emit %s: %v", event, err)
	}
}

func (g *goEmitter) SocketsJoin(t testing.TB, s sel, rooms ...string) {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	if err := g.op(s).SocketsJoin(ctx, rooms...); err != nil {
		t.Fatalf("go emitter: socketsJoin: %v", err)
	}
}

func (g *goEmitter) SocketsLeave(t testing.TB, s sel, rooms ...string) {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	if err := g.op(s).SocketsLeave(ctx, rooms...); err != nil {
		t.Fatalf("go emitter: socketsLeave: %v", err)
	}
}

func (g *goEmitter) DisconnectSockets(t testing.TB, s sel, close bool) {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	if err := g.op(s).DisconnectSockets(ctx, close); err != nil {
		t.Fatalf("go emitter: disconnectSockets: %v", err)
	}
}

func (g *goEmitter) ServerSideEmit(t testing.TB, nsp, event string, args ...any) {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	if err := g.e.Of(nsp).ServerSideEmit(ctx, event, args...); err != nil {
		t.Fatalf("go emitter: serverSideEmit: %v", err)
	}
}

// TestEmitterNodeToGo: the official @socket.io/redis-emitter drives the
// clients of a Go node (classic adapter): broadcasts to all, rooms,
// except, a socket id, another namespace, binary; socketsJoin/Leave;
// disconnectSockets; serverSideEmit.
func TestEmitterNodeToGo(t *testing.T) { runEmitter(t, "node", "go") }

// TestEmitterGoToNode: our emitter drives the clients of a Node node
// (socket.io 4.8.1 with createAdapter of @socket.io/redis-adapter), the
// same scenario.
func TestEmitterGoToNode(t *testing.T) { runEmitter(t, "go", "node") }

// TestEmitterNodeToNode is the reference run of the scenario (the npm
// emitter and a Node node); TestEmitterGoToGo checks ours against ours.
func TestEmitterNodeToNode(t *testing.T) { runEmitter(t, "node", "node") }
func TestEmitterGoToGo(t *testing.T)     { runEmitter(t, "go", "go") }

func runEmitter(t *testing.T, emitterLang, nodeLang string) {
	env := requireNode(t)
	srv := redistest.Start(t)
	nsps := []string{"/", "/other"}
	target := startNode(t, env, nodeLang, nodeLang+"1", classic, srv, nodeOpts{Namespaces: nsps})
	var em clusterEmitter
	if emitterLang == "go" {
		em = startGoEmitter(t, srv.Addr)
	} else {
		em = startNodeEmitter(t, env, srv.URL())
	}
	cl := startClients(t, env)
	waitServerCount(t, 1, nsps, target)

	specs := []clientSpec{
		{Name: "e1", Node: target, Rooms: []string{"r1"}},
		{Name: "e2", Node: target, Rooms: []string{"r2"}, Transport: "polling"},
		{Name: "e3", Node: target, Rooms: []string{"r1", "r2"}},
	}
	ids := cl.connectAll(t, "/", specs)
	cl.connect(t, clientSpec{Name: "o1", Node: target, Nsp: "/other"})
	main := []string{"e1", "e2", "e3"}

	// barrier: the node's subscriptions are in place once an emitted
	// event arrives
	deadline := time.Now().Add(15 * time.Second)
	for n := 0; ; n++ {
		token := "sync-" + time.Now().Format("150405.000000")
		em.Emit(t, sel{}, "sync", token)
		em.Emit(t, sel{Nsp: "/other"}, "sync", token)
		if _, err := cl.waitNErr(500*time.Millisecond, 1, func(l line) bool {
			return isRecv("o1", "sync", token)(l)
		}); err == nil && len(cl.find(isRecv("e1", "sync", token))) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events of the %s never reached the clients of %s", em.Name(), target.Name())
		}
	}

	bin := []byte{0xde, 0xad, 0, 0xbe, 0xef}
	steps := []struct {
		tag  string
		s    sel
		args []any
		want []string
	}{
		{"all", sel{}, nil, main},
		{"to-r1", sel{Rooms: []string{"r1"}}, nil, []string{"e1", "e3"}},
		{"except-r1", sel{Except: []string{"r1"}}, nil, []string{"e2"}},
		{"r1-r2-except-r2", sel{Rooms: []string{"r1", "r2"}, Except: []string{"r2"}}, nil, []string{"e1"}},
		{"to-sid", sel{Rooms: []string{ids["e2"]}}, nil, []string{"e2"}},
		{"binary", sel{Rooms: []string{"r2"}}, []any{bin, map[string]any{"b": bin}}, []string{"e2", "e3"}},
		{"other-nsp", sel{Nsp: "/other"}, nil, []string{"o1"}},
		{"end", sel{}, nil, main},
		{"end-other", sel{Nsp: "/other"}, nil, []string{"o1"}},
	}
	for _, st := range steps {
		em.Emit(t, st.s, "step", append([]any{st.tag}, st.args...)...)
	}
	for _, n := range main {
		cl.waitRecv(t, n, "step", "end")
	}
	cl.waitRecv(t, "o1", "step", "end-other")
	for _, n := range append(slices.Clone(main), "o1") {
		var want, got []string
		for _, st := range steps {
			if slices.Contains(st.want, n) {
				want = append(want, st.tag)
			}
		}
		for _, l := range cl.find(isRecv(n, "step", nil)) {
			got = append(got, str(l.Args[0]))
			if str(l.Args[0]) == "binary" {
				if w := canon([]any{"binary", bin, map[string]any{"b": bin}}); canon(l.Args) != w {
					t.Errorf("%s got the binary event as %s; want %s", n, canon(l.Args), w)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("client %s got %v from the %s; want %v", n, got, em.Name(), want)
		}
	}

	// socketsJoin / socketsLeave
	em.SocketsJoin(t, sel{Rooms: []string{"r1"}}, "joined")
	waitFetch(t, target, sel{Rooms: []string{"joined"}}, []string{ids["e1"], ids["e3"]}, "after the emitter's socketsJoin(r1 -> joined)")
	em.SocketsLeave(t, sel{Rooms: []string{ids["e3"]}}, "joined")
	waitFetch(t, target, sel{Rooms: []string{"joined"}}, []string{ids["e1"]}, "after the emitter's socketsLeave(e3, joined)")
	em.Emit(t, sel{Rooms: []string{"joined"}}, "step", "to-joined")
	em.Emit(t, sel{}, "step", "end2")
	for _, n := range main {
		cl.waitRecv(t, n, "step", "end2")
		got := len(cl.find(isRecv(n, "step", "to-joined")))
		if want := map[bool]int{true: 1, false: 0}[n == "e1"]; got != want {
			t.Errorf("%s got the broadcast to the joined room %d times; want %d", n, got, want)
		}
	}

	// serverSideEmit reaches the node's handler (no acknowledgement)
	ssArgs := []any{"from-" + em.Name(), 5, map[string]any{"ok": true}}
	em.ServerSideEmit(t, "/", "ss", ssArgs...)
	l := target.Events().wait(t, 10*time.Second, "server-side event from the emitter", func(l line) bool {
		return l.Event == "server-side" && l.Nsp == "/" && len(l.Args) > 0 && l.Args[0] == ssArgs[0]
	})
	if canon(l.Args) != canon(ssArgs) {
		t.Errorf("%s got the emitter's serverSideEmit as %s; want %s", target.Name(), canon(l.Args), canon(ssArgs))
	}

	// disconnectSockets
	em.DisconnectSockets(t, sel{Rooms: []string{"r2"}}, false)
	for _, n := range []string{"e2", "e3"} {
		d := cl.wait(t, 10*time.Second, n+" disconnected", func(l line) bool { return l.Event == "disconnect" && l.Client == n })
		if d.Reason != "io server disconnect" {
			t.Errorf("%s disconnected with reason %q; want %q", n, d.Reason, "io server disconnect")
		}
	}
	waitFetch(t, target, sel{}, []string{ids["e1"]}, "after the emitter's disconnectSockets(r2)")
	em.DisconnectSockets(t, sel{Nsp: "/other"}, true)
	cl.wait(t, 10*time.Second, "o1 disconnected", func(l line) bool { return l.Event == "disconnect" && l.Client == "o1" })
	if d := cl.disconnects("e1"); len(d) > 0 {
		t.Errorf("e1 disconnected: %v", d)
	}
}
