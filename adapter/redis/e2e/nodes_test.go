package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	socketio "github.com/go-sio/socketio"
	redis "github.com/go-sio/socketio/adapter/redis"
	goredis "github.com/redis/go-redis/v9"
)

// A cluster node, Go or Node.js, behind one interface so that every
// scenario runs unchanged on two Go nodes, a Go and a Node node (in both
// directions) and two Node nodes (the reference).
//
// Both kinds keep the same contract on every namespace they serve: a
// connecting socket joins the rooms of auth.rooms and takes auth.data as
// its data; "echo" acknowledges its arguments; the server-side event "ss"
// is recorded and, when its sender asks, answered with {node, args} (the
// arguments as received, binary included).

// adapterKind names a Redis adapter, the same in Go and in Node.
type adapterKind string

const (
	classic adapterKind = "classic" // pub/sub: NewAdapter / createAdapter
	sharded adapterKind = "sharded" // sharded pub/sub: NewShardedAdapter / createShardedAdapter
	streams adapterKind = "streams" // streams: NewStreamsAdapter / redis-streams-adapter
)

// sel selects sockets: those of Nsp ("/" when empty) in any of Rooms (all
// when empty) and in none of Except, with the broadcast flags.
type sel struct {
	Nsp      string
	Rooms    []string
	Except   []string
	Volatile bool
	Local    bool
	Timeout  time.Duration
}

func (s sel) nsp() string {
	if s.Nsp == "" {
		return "/"
	}
	return s.Nsp
}

func (s sel) fields() map[string]any {
	m := map[string]any{"nsp": s.nsp(), "rooms": nonNil(s.Rooms), "except": nonNil(s.Except)}
	if s.Volatile {
		m["volatile"] = true
	}
	if s.Local {
		m["local"] = true
	}
	if s.Timeout > 0 {
		m["timeout"] = s.Timeout.Milliseconds()
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sockInfo is a socket as FetchSockets reports it, in generic JSON values.
type sockInfo struct {
	SID       string
	Rooms     []string
	Data      any
	Auth      any
	Query     any
	Handshake any // the whole handshake, in Node's JSON shape
}

type clusterNode interface {
	Name() string
	Lang() string // "go" or "node"
	URL() string  // http://127.0.0.1:port
	// Events records "connect", "disconnect" and "server-side" lines.
	Events() *journal

	Emit(t testing.TB, s sel, event string, args ...any)
	EmitErr(s sel, event string, args ...any) error
	// EmitWithAck returns the first argument of every acknowledgement.
	EmitWithAck(t testing.TB, s sel, event string, args ...any) ([]any, error)
	FetchSockets(t testing.TB, s sel) ([]sockInfo, error)
	SocketsJoin(t testing.TB, s sel, rooms ...string)
	SocketsLeave(t testing.TB, s sel, rooms ...string)
	DisconnectSockets(t testing.TB, s sel, close bool)
	ServerSideEmit(t testing.TB, nsp, event string, args ...any)
	// ServerSideEmitWithAck returns the reply of every other node.
	ServerSideEmitWithAck(t testing.TB, nsp string, timeout time.Duration, event string, args ...any) ([]any, error)
	ServerCount(nsp string) (int, error)
	// AllRooms is allRooms() of the classic adapter: the rooms of every
	// node, socket id rooms included.
	AllRooms(t testing.TB, nsp string) ([]string, error)
}

// nodeOpts configures a node of either kind.
type nodeOpts struct {
	Namespaces []string // default ["/"]
	// Recovery turns connection state recovery on (2 minutes).
	Recovery bool
	// RequestTimeout bounds cluster requests (0: the adapter's default).
	RequestTimeout time.Duration

	// Options of one adapter kind, the same on both sides:
	// publishOnSpecificResponseChannel of the classic adapter,
	SpecificResponseChannel bool
	// subscriptionMode of the sharded adapter ("" = "dynamic",
	// "dynamic-private", "static"),
	SubscriptionMode string
	// streamCount and useShardedPubSub of the streams adapter.
	StreamCount      int
	UseShardedPubSub bool
}

func (o nodeOpts) namespaces() []string {
	if len(o.Namespaces) == 0 {
		return []string{"/"}
	}
	return o.Namespaces
}

// --- Node.js node ---------------------------------------------------------

type nodeNode struct {
	*proc
	name string
	url  string
}

// startNodeNode starts e2e/node/cluster/node-server.js with the official
// adapter of kind over redisURL.
func startNodeNode(t testing.TB, env nodeEnv, name string, kind adapterKind, redisURL string, o nodeOpts) *nodeNode {
	t.Helper()
	cfg := map[string]any{"name": name, "redis": redisURL, "adapter": string(kind), "namespaces": o.namespaces()}
	if o.Recovery {
		cfg["recovery"] = map[string]any{"maxDisconnectionDuration": 120000, "skipMiddlewares": true}
	}
	if o.RequestTimeout > 0 {
		cfg["requestsTimeout"] = o.RequestTimeout.Milliseconds()
	}
	if o.SpecificResponseChannel {
		cfg["publishOnSpecificResponseChannel"] = true
	}
	if o.SubscriptionMode != "" {
		cfg["subscriptionMode"] = o.SubscriptionMode
	}
	if o.StreamCount > 0 {
		cfg["streamCount"] = o.StreamCount
	}
	if o.UseShardedPubSub {
		cfg["useShardedPubSub"] = true
	}
	b, _ := json.Marshal(cfg)
	p := startProc(t, env, name, "cluster/node-server.js", string(b))
	l := p.wait(t, 20*time.Second, name+" listening", func(l line) bool { return l.Event == "listening" })
	var x struct{ Port int }
	decodeRaw(t, l, &x)
	return &nodeNode{proc: p, name: name, url: "http://127.0.0.1:" + strconv.Itoa(x.Port)}
}

func (n *nodeNode) Name() string     { return n.name }
func (n *nodeNode) Lang() string     { return "node" }
func (n *nodeNode) URL() string      { return n.url }
func (n *nodeNode) Events() *journal { return n.journal }
func nodeArgs(args []any) []any      { return tag(args).([]any) }
func withArgs(m map[string]any, event string, args []any) map[string]any {
	m["event"], m["args"] = event, nodeArgs(args)
	return m
}

func (n *nodeNode) Emit(t testing.TB, s sel, event string, args ...any) {
	t.Helper()
	n.must(t, "emit", withArgs(s.fields(), event, args))
}

func (n *nodeNode) EmitErr(s sel, event string, args ...any) error {
	_, err := n.request(10*time.Second, "emit", withArgs(s.fields(), event, args))
	return err
}

func (n *nodeNode) EmitWithAck(t testing.TB, s sel, event string, args ...any) ([]any, error) {
	t.Helper()
	l, err := n.request(30*time.Second, "emitWithAck", withArgs(s.fields(), event, args))
	if err != nil {
		return nil, err
	}
	var x struct{ Responses []any }
	decodeRaw(t, l, &x)
	return x.Responses, nil
}

func (n *nodeNode) FetchSockets(t testing.TB, s sel) ([]sockInfo, error) {
	t.Helper()
	l, err := n.request(30*time.Second, "fetchSockets", s.fields())
	if err != nil {
		return nil, err
	}
	var x struct {
		Sockets []struct {
			SID       string
			Rooms     []string
			Data      any
			Auth      any
			Query     any
			Handshake any
		}
	}
	decodeRaw(t, l, &x)
	out := make([]sockInfo, 0, len(x.Sockets))
	for _, s := range x.Sockets {
		out = append(out, sockInfo{SID: s.SID, Rooms: s.Rooms, Data: s.Data, Auth: s.Auth, Query: s.Query, Handshake: s.Handshake})
	}
	return out, nil
}

func (n *nodeNode) SocketsJoin(t testing.TB, s sel, rooms ...string) {
	t.Helper()
	f := s.fields()
	f["join"] = rooms
	n.must(t, "socketsJoin", f)
}

func (n *nodeNode) SocketsLeave(t testing.TB, s sel, rooms ...string) {
	t.Helper()
	f := s.fields()
	f["join"] = rooms
	n.must(t, "socketsLeave", f)
}

func (n *nodeNode) DisconnectSockets(t testing.TB, s sel, close bool) {
	t.Helper()
	f := s.fields()
	f["close"] = close
	n.must(t, "disconnectSockets", f)
}

func (n *nodeNode) ServerSideEmit(t testing.TB, nsp, event string, args ...any) {
	t.Helper()
	n.must(t, "serverSideEmit", withArgs(map[string]any{"nsp": nsp}, event, args))
}

func (n *nodeNode) ServerSideEmitWithAck(t testing.TB, nsp string, timeout time.Duration, event string, args ...any) ([]any, error) {
	t.Helper()
	f := withArgs(map[string]any{"nsp": nsp}, event, args)
	f["timeout"] = timeout.Milliseconds()
	l, err := n.request(timeout+10*time.Second, "serverSideEmitWithAck", f)
	if err != nil {
		return nil, err
	}
	var x struct{ Responses []any }
	decodeRaw(t, l, &x)
	return x.Responses, nil
}

func (n *nodeNode) ServerCount(nsp string) (int, error) {
	l, err := n.request(10*time.Second, "serverCount", map[string]any{"nsp": nsp})
	if err != nil {
		return 0, err
	}
	var x struct{ Count int }
	if err := json.Unmarshal(l.Raw, &x); err != nil {
		return 0, err
	}
	return x.Count, nil
}

func (n *nodeNode) AllRooms(t testing.TB, nsp string) ([]string, error) {
	t.Helper()
	l, err := n.request(20*time.Second, "allRooms", map[string]any{"nsp": nsp})
	if err != nil {
		return nil, err
	}
	var x struct{ Rooms []string }
	decodeRaw(t, l, &x)
	return x.Rooms, nil
}

// --- Go node --------------------------------------------------------------

type goNode struct {
	name   string
	io     *socketio.Server
	http   *httptest.Server
	rdb    *goredis.Client
	events *journal
}

// startGoNode starts a socketio.Server with our adapter of kind over the
// Redis at addr, served on a loopback port, with the contract above on
// every namespace of o.
func startGoNode(t testing.TB, name string, kind adapterKind, addr string, o nodeOpts) *goNode {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	events := newJournal()
	opts := &socketio.ServerOptions{Adapter: goAdapter(t, kind, redis.GoRedis(rdb), o, slog.New(journalHandler{j: events}))}
	if o.Recovery {
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute}
	}
	g := &goNode{name: name, io: socketio.NewServer(opts), rdb: rdb, events: events}
	for _, nspName := range o.namespaces() {
		g.serve(g.io.Of(nspName))
	}
	g.http = httptest.NewServer(g.io)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.io.Shutdown(ctx); err != nil {
			t.Errorf("%s: shutdown: %v", name, err)
		}
		g.http.Close()
		_ = rdb.Close()
		if t.Failed() {
			t.Logf("%s: last events:\n%s", name, g.events.tail(60))
		}
	})
	return g
}

func (g *goNode) serve(nsp *socketio.Namespace) {
	name := nsp.Name()
	nsp.OnConnection(func(s *socketio.Socket) {
		auth := s.Handshake().Auth
		if !s.Recovered() {
			if rooms := strs(auth["rooms"]); len(rooms) > 0 {
				s.Join(rooms...)
			}
			if d, ok := auth["data"]; ok {
				s.SetData(d)
			}
		}
		sid := s.ID()
		raw, _ := json.Marshal(map[string]any{"event": "connect", "nsp": name, "sid": sid,
			"rooms": s.Rooms(), "recovered": s.Recovered(), "auth": generic(auth)})
		g.events.add(line{Event: "connect", Nsp: name, SID: sid, Recovered: s.Recovered(), Raw: raw})
		s.OnDisconnect(func(reason string) {
			g.events.add(line{Event: "disconnect", Nsp: name, SID: sid, Reason: reason})
		})
		s.On("echo", func(e *socketio.Event) {
			_ = e.Ack().Send(e.Args.Values()...)
		})
	})
	nsp.OnServerSideEmit("ss", func(e *socketio.ServerSideEvent) {
		l := line{Event: "server-side", Nsp: name, Name: e.Name, Args: generic(e.Args).([]any)}
		g.events.add(l)
		e.Ack(map[string]any{"node": g.name, "args": e.Args})
	})
}

func (g *goNode) Name() string     { return g.name }
func (g *goNode) Lang() string     { return "go" }
func (g *goNode) URL() string      { return g.http.URL }
func (g *goNode) Events() *journal { return g.events }

func (g *goNode) op(s sel) *socketio.BroadcastOperator {
	b := g.io.Of(s.nsp()).To(s.Rooms...)
	if len(s.Except) > 0 {
		b = b.Except(s.Except...)
	}
	if s.Volatile {
		b = b.Volatile()
	}
	if s.Local {
		b = b.Local()
	}
	if s.Timeout > 0 {
		b = b.Timeout(s.Timeout)
	}
	return b
}

func (g *goNode) Emit(t testing.TB, s sel, event string, args ...any) {
	t.Helper()
	if err := g.EmitErr(s, event, args...); err != nil {
		t.Fatalf("%s: emit %s: %v", g.name, event, err)
	}
}

func (g *goNode) EmitErr(s sel, event string, args ...any) error {
	return g.op(s).Emit(event, args...)
}

func (g *goNode) EmitWithAck(t testing.TB, s sel, event string, args ...any) ([]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := g.op(s).EmitWithAck(ctx, event, args...)
	out := make([]any, 0, len(res))
	for _, a := range res {
		if len(a) == 0 {
			out = append(out, "<ack without argument>")
			continue
		}
		var v any
		if derr := a[0].Decode(&v); derr != nil {
			out = append(out, fmt.Sprintf("<undecodable ack %s: %v>", a[0], derr))
			continue
		}
		out = append(out, generic(v))
	}
	return out, err
}

func (g *goNode) FetchSockets(t testing.TB, s sel) ([]sockInfo, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := g.op(s).FetchSockets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]sockInfo, 0, len(res))
	for _, r := range res {
		si := sockInfo{SID: r.ID, Rooms: r.Rooms, Data: generic(r.Data), Handshake: generic(r.Handshake)}
		if r.Handshake != nil {
			si.Auth = generic(r.Handshake.Auth)
			q := map[string]any{}
			for k, vs := range r.Handshake.Query {
				if len(vs) == 1 {
					q[k] = vs[0]
				} else {
					q[k] = generic(vs)
				}
			}
			si.Query = q
		}
		out = append(out, si)
	}
	return out, nil
}

func (g *goNode) SocketsJoin(t testing.TB, s sel, rooms ...string) {
	t.Helper()
	if err := g.op(s).SocketsJoin(rooms...); err != nil {
		t.Fatalf("%s: socketsJoin: %v", g.name, err)
	}
}

func (g *goNode) SocketsLeave(t testing.TB, s sel, rooms ...string) {
	t.Helper()
	if err := g.op(s).SocketsLeave(rooms...); err != nil {
		t.Fatalf("%s: socketsLeave: %v", g.name, err)
	}
}

func (g *goNode) DisconnectSockets(t testing.TB, s sel, close bool) {
	t.Helper()
	if err := g.op(s).DisconnectSockets(close); err != nil {
		t.Fatalf("%s: disconnectSockets: %v", g.name, err)
	}
}

func (g *goNode) ServerSideEmit(t testing.TB, nsp, event string, args ...any) {
	t.Helper()
	if err := g.io.Of(nsp).ServerSideEmit(event, args...); err != nil {
		t.Fatalf("%s: serverSideEmit: %v", g.name, err)
	}
}

func (g *goNode) ServerSideEmitWithAck(t testing.TB, nsp string, timeout time.Duration, event string, args ...any) ([]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := g.io.Of(nsp).ServerSideEmitWithAck(ctx, event, args...)
	out := make([]any, 0, len(res))
	for _, r := range res {
		if len(r) == 0 {
			out = append(out, "<reply without argument>")
			continue
		}
		out = append(out, generic(r[0]))
	}
	return out, err
}

func (g *goNode) AllRooms(t testing.TB, nsp string) ([]string, error) {
	t.Helper()
	a, ok := g.io.Of(nsp).Adapter().(*redis.ClassicAdapter)
	if !ok {
		t.Fatalf("%s: allRooms needs the classic adapter, not %T", g.name, g.io.Of(nsp).Adapter())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return a.AllRooms(ctx)
}

func (g *goNode) ServerCount(nsp string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return g.io.Of(nsp).Adapter().ServerCount(ctx)
}

// --- waiting on a cluster -------------------------------------------------

// waitServerCount waits until every node counts want nodes in every
// namespace (subscriptions are made asynchronously on both sides).
func waitServerCount(t testing.TB, want int, nsps []string, nodes ...clusterNode) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range nodes {
		for _, nsp := range nsps {
			for {
				got, err := n.ServerCount(nsp)
				if err == nil && got == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: serverCount(%s) = %d, %v; want %d", n.Name(), nsp, got, err, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}
