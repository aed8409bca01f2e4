package redis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/adapter/redis"
	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
	"github.com/go-sio/socketio/parser"
)

// The tests of the sharded and streams adapters start their nodes
// (helpers_test.go) with startBusNode.

// busPoll is how often the waits of the sharded and streams adapters'
// tests poll.
const busPoll = 5 * time.Millisecond

// busFactory makes the adapter factory of a node; onState is its
// OnRedisState.
type busFactory func(d redis.Driver, onState func(up bool, err error)) adapter.Factory

// startBusNode starts a node on rs, using the adapter of mk; its "ready"
// event names it. opts, when set, may change the server options, and
// setup, when set, registers handlers before the server is served.
func startBusNode(t *testing.T, rs *redistest.Server, name string, mk busFactory, opts func(*socketio.ServerOptions), setup func(*node)) *node {
	t.Helper()
	// No retries: during an outage a command fails at once.
	n := newNode(name, goredis.NewClient(&goredis.Options{Addr: rs.Addr, DialTimeout: time.Second, MaxRetries: -1}), busPoll, name)
	so := &socketio.ServerOptions{Adapter: mk(redis.GoRedis(n.rdb), n.onState)}
	if opts != nil {
		opts(so)
	}
	n.serve(t, so, setup)
	return n
}

// busCluster starts Redis and count nodes using the adapter of mk, and
// waits until each counts them all on "/" and "/chat".
func busCluster(t *testing.T, count int, mk busFactory, opts func(*socketio.ServerOptions)) (*redistest.Server, []*node) {
	t.Helper()
	return startCluster(t, count, func(rs *redistest.Server, name string) *node {
		return startBusNode(t, rs, name, mk, opts, nil)
	})
}

// TestBroadcastHugeNumber: a JSON number beyond float64 in a broadcast.
// The classic adapter's messages are MessagePack, which cannot hold it:
// the failure is logged and the packet reaches the local sockets only.
// The sharded and streams adapters send a packet without binary data as
// JSON, as written: it reaches both nodes. Either way the next broadcast
// crosses nodes as usual.
func TestBroadcastHugeNumber(t *testing.T) {
	for _, tc := range []struct {
		name    string
		start   func(t *testing.T, log *slog.Logger) []*node
		warning string // "": relayed
	}{
		{"classic", func(t *testing.T, log *slog.Logger) []*node {
			_, nodes := cluster(t, 2, &redis.Options{Logger: log}, nil)
			return nodes
		}, "WARN socketio: redis message not encodable"},
		{"sharded", func(t *testing.T, log *slog.Logger) []*node {
			_, nodes := busCluster(t, 2, shardedMaker(&redis.ShardedOptions{Logger: log}), nil)
			return nodes
		}, ""},
		{"streams", func(t *testing.T, log *slog.Logger) []*node {
			_, nodes := busCluster(t, 2, streamsMaker(&redis.StreamsOptions{Logger: log}), nil)
			return nodes
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logRecorder{}
			nodes := tc.start(t, slog.New(logs))
			a := nodes[0].connect(t, "/", "a", "")
			b := nodes[1].connect(t, "/", "b", "")
			all := []*peer{a, b}
			nsA := nodes[0].srv.Of("/")
			if err := nsA.Emit("huge", parser.NewRaw(parser.Default, []byte("1E700"), nil)); err != nil {
				t.Fatalf("Emit: %v", err)
			}
			if tc.warning != "" {
				expect(t, nsA, "huge", all, a)
				if !logs.has(tc.warning) {
					t.Errorf("no %q logged: %v", tc.warning, logs.records)
				}
			} else {
				expect(t, nsA, "huge", all, a, b)
			}
			_ = nsA.Emit("after")
			expect(t, nsA, "after", all, a, b)
		})
	}
}

// --- the sharded adapter ----------------------------------------------------------

func shardedMaker(o *redis.ShardedOptions) busFactory {
	return func(d redis.Driver, onState func(bool, error)) adapter.Factory {
		var opts redis.ShardedOptions
		if o != nil {
			opts = *o
		}
		opts.OnRedisState = onState
		if opts.RequestTimeout == 0 {
			opts.RequestTimeout = 2 * time.Second
		}
		return redis.NewShardedAdapter(d, &opts)
	}
}

// shardChannels returns the sharded channels Redis has subscribers for.
func shardChannels(t *testing.T, rdb *goredis.Client, pattern string) []string {
	t.Helper()
	chs, err := rdb.PubSubShardChannels(context.Background(), pattern).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(chs)
	return chs
}

// shardSubscribers returns the number of subscribers of a sharded channel.
func shardSubscribers(t *testing.T, rdb *goredis.Client, channel string) int {
	t.Helper()
	m, err := rdb.PubSubShardNumSub(context.Background(), channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(m[channel])
}

func TestShardedBroadcast(t *testing.T) {
	_, nodes := busCluster(t, 3, shardedMaker(nil), nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	a1 := a.connect(t, "/", "a1", "red")
	a2 := a.connect(t, "/", "a2", "")
	b1 := b.connect(t, "/", "b1", "red,blue")
	b2 := b.connect(t, "/", "b2", "blue")
	c1 := c.connect(t, "/", "c1", "")
	all := []*peer{a1, a2, b1, b2, c1}
	// The room channels are subscribed when the rooms are created.
	eventually(t, busPoll, "red and blue have their channels", func() bool {
		return shardSubscribers(t, a.rdb, "socket.io#/#red#") == 2 && shardSubscribers(t, a.rdb, "socket.io#/#blue#") == 1
	})
	nsp := c.srv.Of("/")

	_ = nsp.Emit("all", 1)
	expect(t, nsp, "all", all, all...)
	_ = nsp.To("red").Emit("red", "x")
	expect(t, nsp, "red", all, a1, b1)
	_ = nsp.To("red", "blue").Emit("red or blue")
	expect(t, nsp, "red or blue", all, a1, b1, b2)
	_ = nsp.Except("blue").Emit("not blue")
	expect(t, nsp, "not blue", all, a1, a2, c1)
	_ = nsp.To("red").Except("blue").Emit("red not blue")
	expect(t, nsp, "red not blue", all, a1)
	_ = nsp.To(b2.id()).Emit("to b2") // a socket id: the main channel
	expect(t, nsp, "to b2", all, b2)
	_ = nsp.Local().Emit("local")
	expect(t, nsp, "local", all, c1)
	_ = nsp.Volatile().Emit("volatile")
	expectVolatile(t, nsp, "volatile", all)
	_ = b.srv.Of("/").To("red").Emit("from b")
	expect(t, nsp, "from b", all, a1, b1)
	// A socket emitting to a room does not get its own broadcast.
	if s := a.socket(a1.id()); s != nil {
		_ = s.To("red").Emit("from a1")
	}
	expect(t, nsp, "from a1", all, b1)

	// Binary goes as MessagePack and arrives as binary.
	_ = nsp.To("blue").Emit("bin", []byte{1, 2, 3}, map[string]any{"k": []byte{4}})
	e := b2.in.take(t, "b2", "bin")
	var got []byte
	var obj struct{ K []byte }
	if err := e.args.Bind(&got, &obj); err != nil || string(got) != "\x01\x02\x03" || string(obj.K) != "\x04" {
		t.Errorf("binary event: %v %v %v", got, obj, err)
	}
	b1.in.take(t, "b1", "bin")
}

func TestShardedBroadcastWithAck(t *testing.T) {
	_, nodes := busCluster(t, 3, shardedMaker(nil), nil)
	var peers []*peer
	for i, n := range nodes {
		for j := range 3 {
			peers = append(peers, n.connect(t, "/", fmt.Sprintf("%s%d", n.name, j), map[bool]string{true: "odd"}[(i+j)%2 == 1]))
		}
	}
	nsp := nodes[1].srv.Of("/")
	res, err := nsp.Timeout(5*time.Second).EmitWithAck(ctxT(t), "ask", "hi")
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	for _, r := range res {
		var v struct{ From, Echo string }
		if err := r.Bind(&v); err != nil || v.Echo != "hi" {
			t.Errorf("ack %v: %v", r, err)
		}
		from = append(from, v.From)
	}
	slices.Sort(from)
	if want := []string{"A0", "A1", "A2", "B0", "B1", "B2", "C0", "C1", "C2"}; !slices.Equal(from, want) {
		t.Errorf("acknowledgements from %v, want %v", from, want)
	}
	for _, p := range peers {
		p.in.drain("ask")
	}

	res, err = nsp.To("odd").Timeout(5*time.Second).EmitWithAck(ctxT(t), "ask", 2)
	if err != nil || len(res) != 4 {
		t.Errorf("to odd: %d acknowledgements, %v; want 4", len(res), err)
	}

	// A client that does not answer: the others' answers and ErrTimeout.
	peers[4].noAck.Store(true)
	start := time.Now()
	res, err = nsp.Timeout(500*time.Millisecond).EmitWithAck(ctxT(t), "ask", 3)
	if !errors.Is(err, socketio.ErrTimeout) || len(res) != 8 {
		t.Errorf("with a silent client: %d acknowledgements, %v; want 8 and ErrTimeout", len(res), err)
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 3*time.Second {
		t.Errorf("returned after %v", d)
	}
}

func TestShardedFetchSocketsAndRemoteOperations(t *testing.T) {
	_, nodes := busCluster(t, 3, shardedMaker(nil), nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	a1 := a.connect(t, "/", "a1", "red")
	b1 := b.connect(t, "/", "b1", "red,blue")
	b2 := b.connect(t, "/", "b2", "")
	c1 := c.connect(t, "/", "c1", "blue")
	all := []*peer{a1, b1, b2, c1}

	socks, err := a.srv.FetchSockets(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*socketio.RemoteSocket{}
	for _, s := range socks {
		byID[s.ID] = s
	}
	if len(socks) != 4 || len(byID) != 4 {
		t.Fatalf("FetchSockets: %d sockets", len(socks))
	}
	r := byID[b1.id()]
	if r == nil || !slices.Equal(r.Rooms, []string{b1.id(), "blue", "red"}) {
		t.Fatalf("b1 = %+v", r)
	}
	if d, _ := r.Data.(map[string]any); d["node"] != "B" || d["name"] != "b1" {
		t.Errorf("b1 data %#v", r.Data)
	}
	if r.Handshake == nil || r.Handshake.Auth["name"] != "b1" || len(r.Handshake.Headers["Upgrade"]) == 0 {
		t.Errorf("b1 handshake %+v", r.Handshake)
	}
	socks, err = c.srv.In("red").Except("blue").FetchSockets(ctxT(t))
	if err != nil || len(socks) != 1 || socks[0].ID != a1.id() {
		t.Errorf("FetchSockets(red except blue) = %v, %v", socks, err)
	}

	// A remote socket can be acted on from any node.
	if err := byID[b2.id()].Emit("direct", 1); err != nil {
		t.Fatal(err)
	}
	expect(t, c.srv.Of("/"), "direct", all, b2)
	if err := byID[c1.id()].Join("green"); err != nil {
		t.Fatal(err)
	}
	eventually(t, busPoll, "c1 joins green", func() bool { return slices.Contains(c.socket(c1.id()).Rooms(), "green") })

	// SocketsJoin, SocketsLeave, DisconnectSockets.
	if err := a.srv.In("blue").SocketsJoin("sky"); err != nil {
		t.Fatal(err)
	}
	eventually(t, busPoll, "blue joins sky", func() bool {
		return slices.Contains(b.socket(b1.id()).Rooms(), "sky") && slices.Contains(c.socket(c1.id()).Rooms(), "sky")
	})
	if slices.Contains(b.socket(b2.id()).Rooms(), "sky") {
		t.Error("b2 joined sky")
	}
	if err := a.srv.SocketsLeave("red"); err != nil {
		t.Fatal(err)
	}
	eventually(t, busPoll, "everyone leaves red", func() bool {
		return !slices.Contains(a.socket(a1.id()).Rooms(), "red") && !slices.Contains(b.socket(b1.id()).Rooms(), "red")
	})
	eventually(t, busPoll, "red has no channel left", func() bool {
		return shardSubscribers(t, a.rdb, "socket.io#/#red#") == 0
	})
	if err := c.srv.In("sky").DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{b1, c1} {
		if e := p.in.take(t, p.name, "#disconnect"); e.reason != "io server disconnect" {
			t.Errorf("%s disconnected with %q", p.name, e.reason)
		}
	}
	socks, err = b.srv.FetchSockets(ctxT(t))
	if err != nil || len(socks) != 2 {
		t.Errorf("after DisconnectSockets: %d sockets, %v", len(socks), err)
	}
}

func TestShardedServerSideEmit(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	setup := func(n *node) {
		n.srv.Of("/").OnServerSideEmit("hello", func(e *socketio.ServerSideEvent) {
			var s string
			if r, ok := e.Args[0].(parser.Raw); ok {
				_ = r.Decode(&s)
			}
			mu.Lock()
			got[n.name] = append(got[n.name], s)
			mu.Unlock()
			e.Ack("hi from " + n.name)
		})
	}
	rs := redistest.Start(t)
	var nodes []*node
	for _, name := range []string{"A", "B", "C"} {
		nodes = append(nodes, startBusNode(t, rs, name, shardedMaker(nil), nil, setup))
	}
	for _, n := range nodes {
		waitServerCount(t, n, "/", 3)
	}
	if err := nodes[0].srv.ServerSideEmit("hello", "one"); err != nil {
		t.Fatal(err)
	}
	eventually(t, busPoll, "B and C get hello", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["B"]) == 1 && len(got["C"]) == 1
	})
	replies, err := nodes[0].srv.Of("/").ServerSideEmitWithAck(ctxT(t), "hello", "two")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, r := range replies {
		var s string
		if raw, ok := r[0].(parser.Raw); !ok || raw.Decode(&s) != nil {
			t.Fatalf("reply %v", r)
		}
		texts = append(texts, s)
	}
	slices.Sort(texts)
	if want := []string{"hi from B", "hi from C"}; !slices.Equal(texts, want) {
		t.Errorf("replies %q, want %q", texts, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got["A"]) != 0 || !slices.Equal(got["B"], []string{"one", "two"}) {
		t.Errorf("received %v", got)
	}
	if err := nodes[0].srv.ServerSideEmit("connect"); err == nil {
		t.Error("a reserved event name was accepted")
	}
}

func TestShardedServerCountAndNamespaces(t *testing.T) {
	rs, nodes := busCluster(t, 2, shardedMaker(nil), nil)
	a, b := nodes[0], nodes[1]
	c := startBusNode(t, rs, "C", shardedMaker(nil), nil, nil)
	waitServerCount(t, a, "/", 3)
	waitServerCount(t, c, "/chat", 3)

	a1 := a.connect(t, "/", "a1", "")
	b1 := b.connect(t, "/", "b1", "")
	ac := a.connect(t, "/chat", "ac", "")
	bc := b.connect(t, "/chat", "bc", "")
	all := []*peer{a1, b1, ac, bc}
	_ = c.srv.Of("/chat").Emit("chat only")
	_ = c.srv.Of("/").Emit("main only")
	expect(t, c.srv.Of("/"), "main only", []*peer{a1, b1}, a1, b1)
	expect(t, c.srv.Of("/chat"), "chat only", []*peer{ac, bc}, ac, bc)
	for _, p := range all {
		if n := len(p.in.drain("chat only")) + len(p.in.drain("main only")); n != 0 {
			t.Errorf("%s got %d events of another namespace", p.name, n)
		}
	}
	socks, err := c.srv.Of("/chat").FetchSockets(ctxT(t))
	if err != nil || len(socks) != 2 {
		t.Errorf("FetchSockets(/chat) = %d sockets, %v", len(socks), err)
	}
	// One subscription connection per node serves both namespaces.
	if n := shardSubscribers(t, a.rdb, "socket.io#/chat#"); n != 3 {
		t.Errorf("socket.io#/chat# has %d subscribers", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitServerCount(t, a, "/", 2)
	waitServerCount(t, b, "/chat", 2)
}

// The room channels follow the rooms, as the subscription mode says.
func TestShardedSubscriptionModes(t *testing.T) {
	for _, tc := range []struct {
		mode redis.SubscriptionMode
		// channels besides the namespaces' two: {a} and {b} stand for the
		// ids of the sockets (every socket is in its own room, as in Node)
		want []string
	}{
		{redis.Dynamic, []string{"socket.io#/#room1#", "socket.io#/#room2#"}},
		{redis.DynamicPrivate, []string{"socket.io#/#room1#", "socket.io#/#room2#", "socket.io#/#{a}#", "socket.io#/#{b}#"}},
		{redis.Static, nil},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			rs, nodes := busCluster(t, 2, shardedMaker(&redis.ShardedOptions{SubscriptionMode: tc.mode}), nil)
			a, b := nodes[0], nodes[1]
			spy := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
			t.Cleanup(func() { _ = spy.Close() })
			base := shardChannels(t, spy, "*")
			if len(base) != 6 { // socket.io#/# and socket.io#/chat#, and each node's own channel of each
				t.Fatalf("channels at start: %v", base)
			}
			a1 := a.connect(t, "/", "a1", "room1,room2")
			b1 := b.connect(t, "/", "b1", "")
			var want []string
			for _, ch := range tc.want {
				want = append(want, strings.NewReplacer("{a}", a1.id(), "{b}", b1.id()).Replace(ch))
			}
			slices.Sort(want)
			extra := func() []string {
				var out []string
				for _, ch := range shardChannels(t, spy, "*") {
					if !slices.Contains(base, ch) {
						out = append(out, ch)
					}
				}
				return out
			}
			eventually(t, busPoll, fmt.Sprintf("channels %v", want), func() bool { return slices.Equal(extra(), want) })

			// A broadcast to one room takes its channel when the mode has
			// one (a spy on it sees it), and arrives.
			ps := spy.SSubscribe(context.Background(), "socket.io#/#room1#")
			if _, err := ps.Receive(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			_ = b.srv.To("room1").Emit("r1")
			expect(t, b.srv.Of("/"), "r1", []*peer{a1, b1}, a1)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			m, err := ps.ReceiveMessage(ctx)
			cancel()
			if tc.mode == redis.Static {
				if err == nil {
					t.Errorf("static mode used the room channel: %s", m.Payload)
				}
			} else if err != nil || !strings.Contains(m.Payload, `"rooms":["room1"]`) {
				t.Errorf("room channel: %v, %v", m, err)
			}
			_ = ps.Close()

			// Leaving deletes the room and its channel; a socket's own
			// channel goes with the socket.
			if s := a.socket(a1.id()); s != nil {
				s.Leave("room1")
			}
			want = slices.DeleteFunc(want, func(ch string) bool { return ch == "socket.io#/#room1#" })
			eventually(t, busPoll, fmt.Sprintf("channels %v after leaving room1", want), func() bool { return slices.Equal(extra(), want) })
			a1.sock.Disconnect()
			b1.sock.Disconnect()
			eventually(t, busPoll, "no room channel after the disconnections", func() bool { return len(extra()) == 0 })
		})
	}
}

// The messages are those of Node's sharded adapter, and a node reads
// what Node writes.
func TestShardedWire(t *testing.T) {
	rs, nodes := busCluster(t, 1, shardedMaker(nil), nil)
	a := nodes[0]
	a1 := a.connect(t, "/", "a1", "red")
	spy := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = spy.Close() })
	ps := spy.SSubscribe(context.Background(), "socket.io#/#", "socket.io#/#red#")
	defer ps.Close()
	for range 2 {
		if _, err := ps.Receive(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	next := func() *goredis.Message {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	uid := func(payload string) string {
		var m struct{ UID string }
		_ = json.Unmarshal([]byte(payload), &m)
		return m.UID
	}
	_ = a.srv.Emit("hello", "world", 1)
	m := next()
	u := uid(m.Payload)
	if want := `{"uid":"` + u + `","nsp":"/","type":3,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"packet":{"type":2,"data":["hello","world",1],"nsp":"/"}}}`; m.Channel != "socket.io#/#" || m.Payload != want || len(u) != 16 {
		t.Errorf("broadcast on %s:\n %s\nwant\n %s", m.Channel, m.Payload, want)
	}
	_ = a.srv.To("red").Except("x").Compress(false).Emit("r")
	if m := next(); m.Channel != "socket.io#/#red#" || m.Payload != `{"uid":"`+u+`","nsp":"/","type":3,"data":{"opts":{"rooms":["red"],"except":["x"],"flags":{"compress":false}},"packet":{"type":2,"data":["r"],"nsp":"/"}}}` {
		t.Errorf("room broadcast on %s: %s", m.Channel, m.Payload)
	}
	_ = a.srv.In("red").SocketsJoin("blue")
	if m := next(); m.Channel != "socket.io#/#" || m.Payload != `{"uid":"`+u+`","nsp":"/","type":4,"data":{"opts":{"rooms":["red"],"except":[],"flags":{}},"rooms":["blue"]}}` {
		t.Errorf("SOCKETS_JOIN on %s: %s", m.Channel, m.Payload)
	}
	_ = a.srv.Emit("bin", []byte{0xff})
	if m := next(); m.Payload[0] == '{' || !strings.Contains(m.Payload, "\xc4\x01\xff") {
		t.Errorf("binary broadcast not MessagePack: %q", m.Payload)
	}
	for _, ev := range []string{"hello", "r", "bin"} {
		a1.in.take(t, "a1", ev)
	}

	// From Node: JSON on the room channel, MessagePack on the main one,
	// garbage (dropped), another namespace (ignored).
	pub := func(channel, payload string) {
		t.Helper()
		if err := spy.SPublish(context.Background(), channel, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	pub("socket.io#/#red#", `{"uid":"0123456789abcdef","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["from node",{"a":1}],"nsp":"/"},"opts":{"rooms":["red"],"except":[],"flags":{}}}}`)
	pub("socket.io#/#", "\x00\xff garbage")
	pub("socket.io#/#", `{"uid":"0123456789abcdef","nsp":"/chat","type":3,"data":{"packet":{"type":2,"data":["wrong nsp"],"nsp":"/chat"},"opts":{"rooms":[],"except":[],"flags":{}}}}`)
	// notepack.encode({uid, nsp: "/", type: 3, data: {packet: {type: 2, data: ["mp", Buffer<01>], nsp: "/"}, opts: {rooms: [], except: [], flags: {}}}})
	pub("socket.io#/#", "\x84\xa3uid\xb00123456789abcdef\xa3nsp\xa1/\xa4type\x03\xa4data\x82\xa6packet\x83\xa4type\x02\xa4data\x92\xa2mp\xc4\x01\x01\xa3nsp\xa1/\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80")
	e := a1.in.take(t, "a1", "from node")
	var obj map[string]int
	if err := e.args.Bind(&obj); err != nil || obj["a"] != 1 {
		t.Errorf("from node: %v %v", obj, err)
	}
	e = a1.in.take(t, "a1", "mp")
	var b []byte
	if err := e.args.Bind(&b); err != nil || len(b) != 1 || b[0] != 1 {
		t.Errorf("mp: %v %v", b, err)
	}
	expect(t, a.srv.Of("/"), "wrong nsp", []*peer{a1})
}

// A Redis outage: nodes survive, local delivery goes on, requests time
// out, OnRedisState reports the loss and the return, and the cluster
// works again.
func TestShardedRedisOutage(t *testing.T) {
	rs, nodes := busCluster(t, 2, shardedMaker(&redis.ShardedOptions{RequestTimeout: 500 * time.Millisecond}), nil)
	a, b := nodes[0], nodes[1]
	a1 := a.connect(t, "/", "a1", "")
	b1 := b.connect(t, "/", "b1", "")
	all := []*peer{a1, b1}
	_ = a.srv.Emit("before")
	expect(t, a.srv.Of("/"), "before", all, a1, b1)

	// Traffic from A all along: its own client gets every event.
	traffic := busTraffic(a, "t")
	rs.Stop()
	waitState(t, false, nodes...)
	_ = a.srv.Emit("during")
	if e := a1.in.take(t, "a1", "during"); len(e.args) != 0 {
		t.Errorf("during: %v", e.args)
	}
	start := time.Now()
	socks, err := a.srv.FetchSockets(ctxT(t))
	if !errors.Is(err, adapter.ErrTimeout) || len(socks) != 1 {
		t.Errorf("FetchSockets during the outage: %d sockets, %v", len(socks), err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("FetchSockets took %v", d)
	}
	if _, err := a.srv.Timeout(300*time.Millisecond).EmitWithAck(ctxT(t), "ask", 1); !errors.Is(err, socketio.ErrTimeout) {
		t.Errorf("EmitWithAck during the outage: %v", err)
	}

	rs.Restart()
	waitState(t, true, nodes...)
	waitServerCount(t, a, "/", 2)
	// Broadcasts cross again (the subscriptions are back).
	busCrosses(t, a, b1, "after")
	socks, err = b.srv.FetchSockets(ctxT(t))
	if err != nil || len(socks) != 2 {
		t.Errorf("FetchSockets after the outage: %d sockets, %v", len(socks), err)
	}
	traffic.check(t, a1, b1)
}

// busCrosses waits until a broadcast of event by from reaches p: it
// broadcasts event, every 20ms or so, until p got one.
func busCrosses(t *testing.T, from *node, p *peer, event string) {
	t.Helper()
	eventually(t, busPoll, fmt.Sprintf("a broadcast from %s reaches %s", from.name, p.name), func() bool {
		_ = from.srv.Emit(event)
		time.Sleep(20 * time.Millisecond)
		return len(p.in.drain(event)) > 0
	})
}

// busTrafficRun emits numbered events from a node until checked.
type busTrafficRun struct {
	event string
	stop  chan struct{}
	done  chan int
}

// busTraffic emits event 1, 2, ... from n every 2ms until check.
func busTraffic(n *node, event string) *busTrafficRun {
	r := &busTrafficRun{event: event, stop: make(chan struct{}), done: make(chan int, 1)}
	go func() {
		i := 0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.stop:
				r.done <- i
				return
			case <-tick.C:
			}
			i++
			_ = n.srv.Emit(event, i)
		}
	}()
	return r
}

// check stops the traffic, and checks that local got every event, in
// order, and remote some, in order, the last ones included.
func (r *busTrafficRun) check(t *testing.T, local, remote *peer) {
	t.Helper()
	close(r.stop)
	n := <-r.done
	values := func(p *peer) []int {
		var out []int
		for _, e := range p.in.drain(r.event) {
			var i int
			_ = e.args.Bind(&i)
			out = append(out, i)
		}
		return out
	}
	var got, far []int
	eventually(t, busPoll, fmt.Sprintf("%s and %s get %s %d", local.name, remote.name, r.event, n), func() bool {
		got = append(got, values(local)...)
		far = append(far, values(remote)...)
		return len(got) >= n && len(far) > 0 && far[len(far)-1] == n
	})
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("%s got %s %v... at %d: want each of 1..%d once, in order", local.name, r.event, got[max(0, i-2):min(len(got), i+3)], i, n)
		}
	}
	if !slices.IsSorted(far) || len(slices.Compact(slices.Clone(far))) != len(far) {
		t.Errorf("%s got %s out of order or twice: %v", remote.name, r.event, far)
	}
	if len(far) == n {
		t.Logf("%s got every event: the outage was shorter than the traffic's period?", remote.name)
	}
}

// busRouter sends each request to the node of the moment (503 when
// none): a client that reconnects reaches another node.
type busRouter struct {
	mu   sync.Mutex
	to   http.Handler
	hits atomic.Int64
}

func (r *busRouter) set(h http.Handler) {
	r.mu.Lock()
	r.to = h
	r.mu.Unlock()
}

func (r *busRouter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	h := r.to
	r.mu.Unlock()
	r.hits.Add(1)
	if h == nil {
		http.Error(w, "no node", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, req)
}
