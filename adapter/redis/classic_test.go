package redis_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/adapter/redis"
	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
)

// TestMain fails the run when a goroutine survives the tests: adapters,
// subscriptions, publishing queues, servers and clients must all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// --- harness -------------------------------------------------------------------

// classicPoll is how often the waits of the classic adapter's tests poll.
const classicPoll = 10 * time.Millisecond

// startNode starts a node using the classic adapter on Redis rs. setup,
// when set, registers more handlers before the server is served.
func startNode(t *testing.T, rs *redistest.Server, name string, opts *redis.Options, setup func(*node)) *node {
	t.Helper()
	n := newNode(name, goredis.NewClient(&goredis.Options{Addr: rs.Addr, DialTimeout: time.Second}), classicPoll)
	var o redis.Options
	if opts != nil {
		o = *opts
	}
	o.OnRedisState = n.onState
	n.serve(t, &socketio.ServerOptions{Adapter: redis.NewAdapter(redis.GoRedis(n.rdb), &o)}, setup)
	return n
}

func (n *node) classic(nsp string) *redis.ClassicAdapter {
	return n.srv.Of(nsp).Adapter().(*redis.ClassicAdapter)
}

// cluster starts Redis and count nodes using the classic adapter, and
// waits until each counts them all on "/" and "/chat".
func cluster(t *testing.T, count int, opts *redis.Options, setup func(*node)) (*redistest.Server, []*node) {
	t.Helper()
	return startCluster(t, count, func(rs *redistest.Server, name string) *node {
		return startNode(t, rs, name, opts, setup)
	})
}

// logRecorder keeps the level and message of every log record.
type logRecorder struct {
	mu      sync.Mutex
	records []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Level.String()+" "+r.Message)
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// has reports whether a record of that level and message was logged.
func (h *logRecorder) has(record string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.records, record)
}

// spy is a plain Redis client subscribed to channels, to see and forge
// the messages of the adapter (as a Node.js node or an emitter would).
type spy struct {
	rdb *goredis.Client
	ps  *goredis.PubSub
	ch  <-chan *goredis.Message
}

func newSpy(t *testing.T, rs *redistest.Server, patterns []string, channels ...string) *spy {
	t.Helper()
	s := &spy{rdb: goredis.NewClient(&goredis.Options{Addr: rs.Addr})}
	ctx := ctxT(t)
	s.ps = s.rdb.Subscribe(ctx)
	if len(channels) > 0 {
		if err := s.ps.Subscribe(ctx, channels...); err != nil {
			t.Fatal(err)
		}
	}
	if len(patterns) > 0 {
		if err := s.ps.PSubscribe(ctx, patterns...); err != nil {
			t.Fatal(err)
		}
	}
	for range len(channels) + len(patterns) {
		if _, err := s.ps.Receive(ctx); err != nil { // the confirmations
			t.Fatal(err)
		}
	}
	s.ch = s.ps.Channel()
	t.Cleanup(func() {
		_ = s.ps.Close()
		_ = s.rdb.Close()
	})
	return s
}

// next returns the next message whose channel satisfies match.
func (s *spy) next(t *testing.T, match func(channel string) bool) *goredis.Message {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case m := <-s.ch:
			if match(m.Channel) {
				return m
			}
		case <-timer.C:
			t.Fatal("spy: no message")
			return nil
		}
	}
}

// marker publishes a broadcast of "marker" to every socket of "/", as
// the emitter does.
func (s *spy) marker(t *testing.T) {
	t.Helper()
	s.publish(t, "socket.io#/#", mp(t, "93", mpStr("emitter"),
		"83", mpStr("type"), "02", mpStr("data"), "91", mpStr("marker"), mpStr("nsp"), mpStr("/"),
		"83", mpStr("rooms"), "90", mpStr("except"), "90", mpStr("flags"), "80"))
}

func on(channel string) func(string) bool { return func(c string) bool { return c == channel } }

func (s *spy) publish(t *testing.T, channel string, payload []byte) {
	t.Helper()
	if err := s.rdb.Publish(context.Background(), channel, payload).Err(); err != nil {
		t.Fatal(err)
	}
}

// mp is MessagePack written by hand, as notepack.io writes it.
func mp(t *testing.T, hexes ...string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(strings.Join(hexes, ""), " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mpStr is a fixstr.
func mpStr(s string) string { return hex.EncodeToString(append([]byte{0xa0 | byte(len(s))}, s...)) }

// --- broadcasts ----------------------------------------------------------------------

func TestClassicBroadcast(t *testing.T) {
	_, nodes := cluster(t, 3, nil, nil)
	A, C := nodes[0].srv, nodes[2].srv
	a := nodes[0].connect(t, "/", "a", "room1")
	b := nodes[1].connect(t, "/", "b", "room1")
	c := nodes[2].connect(t, "/", "c", "room2")
	d := nodes[2].connect(t, "/", "d", "room1,room2")
	e := nodes[1].connect(t, "/", "e", "")
	all := []*peer{a, b, c, d, e}
	nsA := A.Of("/")

	t.Run("all", func(t *testing.T) {
		if err := A.Emit("all", 1, "2", []byte{3, 4}); err != nil {
			t.Fatal(err)
		}
		for _, p := range all {
			r := p.in.take(t, p.name, "all")
			var (
				i   int
				s   string
				bin []byte
			)
			if err := r.args.Bind(&i, &s, &bin); err != nil || i != 1 || s != "2" || string(bin) != "\x03\x04" {
				t.Errorf("%s: args %v %q %v (%v)", p.name, i, s, bin, err)
			}
		}
	})
	t.Run("room", func(t *testing.T) {
		_ = A.To("room1").Emit("r1")
		expect(t, nsA, "r1", all, a, b, d)
		_ = A.To("room2").Emit("r2") // no member on A
		expect(t, nsA, "r2", all, c, d)
		_ = C.To("room1").Emit("r1c")
		expect(t, C.Of("/"), "r1c", all, a, b, d)
	})
	t.Run("except", func(t *testing.T) {
		_ = A.Except("room1").Emit("ex")
		expect(t, nsA, "ex", all, c, e)
	})
	t.Run("once", func(t *testing.T) {
		_ = A.To("room1").To("room2").Except("room3").Emit("once")
		expect(t, nsA, "once", all, a, b, c, d)
	})
	t.Run("single socket", func(t *testing.T) {
		_ = A.To(c.id()).Emit("one")
		expect(t, nsA, "one", all, c)
	})
	t.Run("local", func(t *testing.T) {
		_ = A.Local().Emit("loc")
		expect(t, nsA, "loc", all, a)
		_ = C.Local().To("room1").Emit("loc1")
		expect(t, C.Of("/"), "loc1", all, d)
	})
	t.Run("volatile and compress", func(t *testing.T) {
		_ = A.Volatile().Emit("vol")
		expect(t, nsA, "vol", all, all...)
		_ = A.Compress(false).Except("room2").Emit("nocomp")
		expect(t, nsA, "nocomp", all, a, b, e)
	})
	t.Run("from a socket", func(t *testing.T) {
		s := nodes[1].socket(b.id())
		nsB := nodes[1].srv.Of("/")
		_ = s.Broadcast().Emit("bc")
		expect(t, nsB, "bc", all, a, c, d, e)
		_ = s.To("room1").Emit("bcr")
		expect(t, nsB, "bcr", all, a, d)
	})
}

func TestClassicBroadcastWithAck(t *testing.T) {
	_, nodes := cluster(t, 3, nil, nil)
	var all []*peer
	for i, n := range nodes {
		for j := range 2 {
			rooms := ""
			if j == 0 {
				rooms = "first"
			}
			all = append(all, n.connect(t, "/", fmt.Sprintf("%c%d", 'a'+i, j), rooms))
		}
	}
	type answer struct{ From, Echo string }
	check := func(t *testing.T, res []socketio.Args, echo string, want ...*peer) {
		t.Helper()
		var got, names []string
		for _, r := range res {
			var a answer
			if err := r.Bind(&a); err != nil {
				t.Errorf("ack %v: %v", r, err)
				return
			}
			if a.Echo != echo {
				t.Errorf("ack from %s echoes %q, want %q", a.From, a.Echo, echo)
			}
			got = append(got, a.From)
		}
		for _, p := range want {
			names = append(names, p.name)
		}
		sort.Strings(got)
		sort.Strings(names)
		if !slices.Equal(got, names) {
			t.Errorf("acks from %v, want %v", got, names)
		}
	}

	t.Run("every client", func(t *testing.T) {
		res, err := nodes[0].srv.Timeout(wait).EmitWithAck(ctxT(t), "ask", "q1")
		if err != nil {
			t.Fatal(err)
		}
		check(t, res, "q1", all...)
	})
	t.Run("several nodes at once", func(t *testing.T) {
		// Ack ids of different nodes collide unless the receivers give
		// the packets ids of their own.
		var wg sync.WaitGroup
		for i, n := range nodes {
			for k := range 3 {
				wg.Go(func() {
					echo := fmt.Sprintf("n%d-%d", i, k)
					res, err := n.srv.Timeout(wait).EmitWithAck(context.Background(), "ask", echo)
					if err != nil {
						t.Error(err)
						return
					}
					check(t, res, echo, all...)
				})
			}
		}
		wg.Wait()
	})
	t.Run("room", func(t *testing.T) {
		res, err := nodes[1].srv.To("first").Timeout(wait).EmitWithAck(ctxT(t), "ask", "q2")
		if err != nil {
			t.Fatal(err)
		}
		check(t, res, "q2", all[0], all[2], all[4])
	})
	t.Run("no client", func(t *testing.T) {
		res, err := nodes[0].srv.To("nobody").Timeout(wait).EmitWithAck(ctxT(t), "ask", "q3")
		if err != nil || len(res) != 0 {
			t.Fatalf("got %v, %v; want nothing", res, err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		all[5].noAck.Store(true)
		defer all[5].noAck.Store(false)
		res, err := nodes[0].srv.Timeout(500*time.Millisecond).EmitWithAck(ctxT(t), "ask", "q4")
		if !errors.Is(err, socketio.ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		check(t, res, "q4", all[:5]...)
	})
}

// --- cluster-wide operations -----------------------------------------------------------

func TestClassicFetchSockets(t *testing.T) {
	_, nodes := cluster(t, 3, nil, nil)
	a := nodes[0].connect(t, "/", "a", "ra")
	b := nodes[1].connect(t, "/", "b", "rb")
	c := nodes[2].connect(t, "/", "c", "rc")
	c2 := nodes[2].connect(t, "/", "c2", "rc,shared")
	byID := map[string]*peer{a.id(): a, b.id(): b, c.id(): c, c2.id(): c2}
	A := nodes[0].srv

	ids := func(t *testing.T, socks []*socketio.RemoteSocket, err error, want ...*peer) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var got, exp []string
		for _, s := range socks {
			got = append(got, s.ID)
		}
		for _, p := range want {
			exp = append(exp, p.id())
		}
		sort.Strings(got)
		sort.Strings(exp)
		if !slices.Equal(got, exp) {
			t.Fatalf("sockets %v, want %v", got, exp)
		}
	}

	socks, err := A.FetchSockets(ctxT(t))
	ids(t, socks, err, a, b, c, c2)
	nodeOf := map[*peer]string{a: "A", b: "B", c: "C", c2: "C"}
	for _, s := range socks {
		p := byID[s.ID]
		wantRooms := append([]string{p.id()}, map[*peer][]string{a: {"ra"}, b: {"rb"}, c: {"rc"}, c2: {"rc", "shared"}}[p]...)
		if !slices.Equal(s.Rooms, wantRooms) {
			t.Errorf("%s: rooms %v, want %v", p.name, s.Rooms, wantRooms)
		}
		data, _ := s.Data.(map[string]any)
		if data["node"] != nodeOf[p] || data["name"] != p.name {
			t.Errorf("%s: data %#v", p.name, s.Data)
		}
		h := s.Handshake
		if h == nil || h.Auth["name"] != p.name || len(h.Query["EIO"]) != 1 || h.Query["EIO"][0] != "4" ||
			!strings.HasPrefix(h.Address, "127.0.0.1") || len(h.Headers) == 0 || h.Issued == 0 || h.URL == "" {
			t.Errorf("%s: handshake %+v", p.name, h)
		}
	}

	socks, err = A.In("rc").FetchSockets(ctxT(t))
	ids(t, socks, err, c, c2)
	socks, err = nodes[1].srv.In(a.id()).FetchSockets(ctxT(t))
	ids(t, socks, err, a)
	socks, err = A.Except("rc").FetchSockets(ctxT(t))
	ids(t, socks, err, a, b)
	socks, err = A.Local().FetchSockets(ctxT(t))
	ids(t, socks, err, a)
	socks, err = A.In("nowhere").FetchSockets(ctxT(t))
	ids(t, socks, err)

	// A remote socket acts through the adapter.
	socks, err = A.In(c2.id()).FetchSockets(ctxT(t))
	ids(t, socks, err, c2)
	if err := socks[0].Emit("direct", "x"); err != nil {
		t.Fatal(err)
	}
	c2.in.take(t, "c2", "direct")
	if err := socks[0].Join("joined"); err != nil {
		t.Fatal(err)
	}
	_ = A.To("joined").Emit("to-joined")
	expect(t, A.Of("/"), "to-joined", []*peer{a, b, c, c2}, c2)
	if err := socks[0].Disconnect(false); err != nil {
		t.Fatal(err)
	}
	if r := c2.in.take(t, "c2", "#disconnect"); r.reason != "io server disconnect" {
		t.Errorf("reason %q", r.reason)
	}
}

func TestClassicAllRooms(t *testing.T) {
	_, nodes := cluster(t, 2, nil, nil)
	a := nodes[0].connect(t, "/", "a", "x,y")
	b := nodes[1].connect(t, "/", "b", "y,z")
	rooms, err := nodes[0].classic("/").AllRooms(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{a.id(), b.id(), "x", "y", "z"}
	sort.Strings(want)
	if !slices.Equal(rooms, want) {
		t.Fatalf("rooms %v, want %v", rooms, want)
	}
}

func TestClassicSocketsJoinLeaveDisconnect(t *testing.T) {
	_, nodes := cluster(t, 3, nil, nil)
	a := nodes[0].connect(t, "/", "a", "")
	b := nodes[1].connect(t, "/", "b", "")
	c := nodes[2].connect(t, "/", "c", "rc")
	c2 := nodes[2].connect(t, "/", "c2", "")
	all := []*peer{a, b, c, c2}
	A, B := nodes[0].srv, nodes[1].srv
	nsA := A.Of("/")

	if err := A.SocketsJoin("j"); err != nil {
		t.Fatal(err)
	}
	_ = A.To("j").Emit("to-j")
	expect(t, nsA, "to-j", all, all...)

	_ = A.In(b.id()).SocketsJoin("k", "k2")
	_ = A.To("k2").Emit("to-k")
	expect(t, nsA, "to-k", all, b)
	if rooms := nodes[1].socket(b.id()).Rooms(); !slices.Equal(rooms, []string{b.id(), "j", "k", "k2"}) {
		t.Errorf("b's rooms %v", rooms)
	}

	_ = B.Except("rc").SocketsLeave("j")
	_ = B.To("j").Emit("to-j2")
	expect(t, B.Of("/"), "to-j2", all, c)

	_ = A.Local().SocketsJoin("l") // A's sockets only
	_ = A.To("l").Emit("to-l")
	expect(t, nsA, "to-l", all, a)

	if err := A.In("rc").DisconnectSockets(false); err != nil {
		t.Fatal(err)
	}
	if r := c.in.take(t, "c", "#disconnect"); r.reason != "io server disconnect" {
		t.Errorf("c: reason %q", r.reason)
	}
	rest := []*peer{a, b, c2}
	expect(t, nsA, "#disconnect", rest)

	_ = B.DisconnectSockets(true)
	for _, p := range rest {
		p.in.take(t, p.name, "#disconnect")
	}
}

func TestClassicServerSideEmit(t *testing.T) {
	type got struct {
		node string
		args []any
	}
	events := make(chan got, 16)
	_, nodes := cluster(t, 3, &redis.Options{RequestTimeout: time.Second}, func(n *node) {
		nsp := n.srv.Of("/")
		nsp.OnServerSideEmit("hello", func(e *socketio.ServerSideEvent) {
			events <- got{n.name, e.Args}
			e.Ack(n.name)
		})
		// A handler may wait for the cluster: it does not run on the
		// subscription's goroutine.
		nsp.OnServerSideEmit("nested", func(e *socketio.ServerSideEvent) {
			replies, err := nsp.ServerSideEmitWithAck(context.Background(), "hello")
			if err != nil {
				e.Ack(err.Error())
				return
			}
			e.Ack(len(replies))
		})
		nsp.OnServerSideEmit("slow", func(e *socketio.ServerSideEvent) {
			if n.name != "C" {
				e.Ack(n.name)
			}
		})
		nsp.OnServerSideEmit("binary", func(e *socketio.ServerSideEvent) {
			var b []byte
			if len(e.Args) == 1 {
				_ = e.Args[0].(interface{ Decode(any) error }).Decode(&b)
			}
			e.Ack(append(b, byte(n.name[0])))
		})
	})
	A := nodes[0].srv.Of("/")
	drainEvents := func(want int) []string {
		var from []string
		for range want {
			select {
			case g := <-events:
				from = append(from, g.node)
			case <-time.After(wait):
				t.Fatalf("only %d server-side events", len(from))
			}
		}
		sort.Strings(from)
		return from
	}

	if err := A.ServerSideEmit("hello", "world", 1); err != nil {
		t.Fatal(err)
	}
	if from := drainEvents(2); !slices.Equal(from, []string{"B", "C"}) {
		t.Fatalf("events on %v", from)
	}

	replies, err := A.ServerSideEmitWithAck(ctxT(t), "hello", "x")
	if err != nil {
		t.Fatal(err)
	}
	drainEvents(2)
	var names []string
	for _, r := range replies {
		var s string
		if len(r) != 1 || r[0].(interface{ Decode(any) error }).Decode(&s) != nil {
			t.Fatalf("reply %v", r)
		}
		names = append(names, s)
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{"B", "C"}) {
		t.Fatalf("replies from %v", names)
	}

	replies, err = A.ServerSideEmitWithAck(ctxT(t), "nested")
	if err != nil {
		t.Fatal(err)
	}
	drainEvents(4)
	for _, r := range replies {
		var n int
		if err := r[0].(interface{ Decode(any) error }).Decode(&n); err != nil || n != 2 {
			t.Errorf("nested reply %v (%v)", r, err)
		}
	}

	replies, err = A.ServerSideEmitWithAck(ctxT(t), "binary", []byte{1})
	if err != nil || len(replies) != 2 {
		t.Fatalf("binary: %v, %v", replies, err)
	}
	for _, r := range replies {
		var b []byte
		if err := r[0].(interface{ Decode(any) error }).Decode(&b); err != nil || len(b) != 2 || b[0] != 1 {
			t.Errorf("binary reply %v (%v)", b, err)
		}
	}

	start := time.Now()
	replies, err = A.ServerSideEmitWithAck(ctxT(t), "slow")
	var tr *adapter.ErrTimeoutReached
	if !errors.As(err, &tr) || !errors.Is(err, socketio.ErrTimeout) || len(replies) != 1 {
		t.Fatalf("slow: %v, %v", replies, err)
	}
	if err.Error() != "timeout reached: only 1 responses received out of 2" {
		t.Errorf("error text %q", err)
	}
	if d := time.Since(start); d < time.Second || d > wait {
		t.Errorf("timed out after %v, want the request timeout (1s)", d)
	}

	// A context shorter than the request timeout ends the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := A.ServerSideEmitWithAck(ctx, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", err)
	}

	// Reserved names are refused before anything is published.
	if err := A.ServerSideEmit("connect"); err == nil {
		t.Error("reserved event name accepted")
	}
}

func TestClassicServerCount(t *testing.T) {
	_, nodes := cluster(t, 3, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := nodes[2].srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitServerCount(t, nodes[0], "/", 2)
	waitServerCount(t, nodes[1], "/chat", 2)
}

func TestClassicNamespaces(t *testing.T) {
	rs, nodes := cluster(t, 3, nil, nil)
	a := nodes[0].connect(t, "/", "a", "")
	b := nodes[1].connect(t, "/", "b", "")
	ca := nodes[0].connect(t, "/chat", "chat-a", "")
	cb := nodes[1].connect(t, "/chat", "chat-b", "room")
	cc := nodes[2].connect(t, "/chat", "chat-c", "room")
	main := []*peer{a, b}
	chat := []*peer{ca, cb, cc}

	chatA, mainA := nodes[0].srv.Of("/chat"), nodes[0].srv.Of("/")
	_ = chatA.Emit("news")
	expect(t, chatA, "news", chat, chat...)
	expect(t, mainA, "news", main)
	_ = chatA.To("room").Emit("news2")
	expect(t, chatA, "news2", chat, cb, cc)
	_ = mainA.To("room").Emit("news3") // no member in "/"
	expect(t, mainA, "news3", main)
	expect(t, chatA, "news3", chat)

	socks, err := nodes[1].srv.Of("/chat").FetchSockets(ctxT(t))
	if err != nil || len(socks) != 3 {
		t.Fatalf("chat sockets: %d, %v", len(socks), err)
	}

	// A namespace's adapter that closes unsubscribes, the others stay.
	probe := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	defer probe.Close()
	// PUBSUB NUMPAT counts distinct patterns: CLIENT LIST has each
	// connection's count.
	patterns := func() int {
		list, _ := probe.ClientList(context.Background()).Result()
		n := 0
		for _, f := range strings.Fields(list) {
			if v, ok := strings.CutPrefix(f, "psub="); ok {
				k, _ := strconv.Atoi(v)
				n += k
			}
		}
		return n
	}
	if n := patterns(); n != 6 {
		t.Errorf("%d patterns, want 6 (2 namespaces x 3 nodes)", n)
	}
	chans, _ := probe.PubSubChannels(context.Background(), "socket.io-*").Result()
	if len(chans) != 2*2+2*3 {
		t.Errorf("channels %v, want the 2 shared and 3 own per namespace", chans)
	}
	if err := nodes[2].classic("/chat").Close(); err != nil {
		t.Fatal(err)
	}
	waitServerCount(t, nodes[0], "/chat", 2)
	waitServerCount(t, nodes[0], "/", 3)
	eventually(t, classicPoll, "the pattern is dropped", func() bool { return patterns() == 5 })
	_ = nodes[0].srv.Emit("still")
	expect(t, nodes[0].srv.Of("/"), "still", main, main...)
}

// --- failures ------------------------------------------------------------------------

func TestClassicRequestTimeout(t *testing.T) {
	rs, nodes := cluster(t, 2, &redis.Options{RequestTimeout: 300 * time.Millisecond}, func(n *node) {
		n.srv.Of("/").OnServerSideEmit("hello", func(e *socketio.ServerSideEvent) { e.Ack("hi") })
	})
	a := nodes[0].connect(t, "/", "a", "")
	b := nodes[1].connect(t, "/", "b", "")
	// A node that never answers: it subscribes to the request channel.
	newSpy(t, rs, nil, "socket.io-request#/#")
	waitServerCount(t, nodes[0], "/", 3)

	start := time.Now()
	socks, err := nodes[0].srv.FetchSockets(ctxT(t))
	var rt *redis.RequestTimeoutError
	if !errors.As(err, &rt) || !errors.Is(err, socketio.ErrTimeout) || rt.Got != 1 || rt.Want != 2 {
		t.Fatalf("FetchSockets: %v", err)
	}
	if err.Error() != "timeout reached while waiting for fetchSockets response" {
		t.Errorf("error text %q", err)
	}
	if len(socks) != 2 || (socks[0].ID != a.id() && socks[1].ID != a.id()) || (socks[0].ID != b.id() && socks[1].ID != b.id()) {
		t.Errorf("sockets so far: %v", socks)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > wait {
		t.Errorf("timed out after %v", d)
	}

	replies, err := nodes[0].srv.Of("/").ServerSideEmitWithAck(ctxT(t), "hello")
	if err == nil || err.Error() != "timeout reached: only 1 responses received out of 2" || len(replies) != 1 {
		t.Errorf("ServerSideEmitWithAck: %v, %v", replies, err)
	}
	if _, err := nodes[1].classic("/").AllRooms(ctxT(t)); !errors.As(err, &rt) || rt.Op != "allRooms" {
		t.Errorf("AllRooms: %v", err)
	}
	// Broadcasts with acknowledgement count the silent node as a server
	// and time out, with what came.
	res, err := nodes[0].srv.Timeout(300*time.Millisecond).EmitWithAck(ctxT(t), "ask", "q")
	if !errors.Is(err, socketio.ErrTimeout) || len(res) != 2 {
		t.Errorf("EmitWithAck: %d acks, %v", len(res), err)
	}
}

func TestClassicRedisOutage(t *testing.T) {
	logs := &logRecorder{}
	rs, nodes := cluster(t, 2, &redis.Options{RequestTimeout: time.Second, Logger: slog.New(logs)}, nil)
	a := nodes[0].connect(t, "/", "a", "")
	b := nodes[1].connect(t, "/", "b", "")
	A := nodes[0].srv

	// Traffic before, during and after the outage.
	stop := make(chan struct{})
	var traffic sync.WaitGroup
	traffic.Go(func() {
		for i := 0; i < 2000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			_ = nodes[1].srv.Emit("traffic", i)
			_ = A.To("nowhere").Emit("traffic", i)
		}
	})
	defer func() {
		close(stop)
		traffic.Wait()
	}()

	rs.Stop()
	waitState(t, false, nodes...)

	// Local delivery goes on, and nothing blocks.
	for i := range 5 {
		start := time.Now()
		if err := A.Emit("during", i); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("Emit took %v while Redis is down", d)
		}
		a.in.take(t, "a", "during")
	}
	if _, err := A.FetchSockets(ctxT(t)); err == nil {
		t.Error("FetchSockets succeeded while Redis is down")
	}
	if _, err := A.Of("/").ServerSideEmitWithAck(ctxT(t), "x"); err == nil {
		t.Error("ServerSideEmitWithAck succeeded while Redis is down")
	}

	rs.Restart()
	waitState(t, true, nodes...)
	waitServerCount(t, nodes[0], "/", 2)

	// Cross-node delivery resumes.
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("no cross-node delivery after Redis came back")
		}
		_ = A.Emit("after", i)
		if !func() bool {
			timer := time.NewTimer(100 * time.Millisecond)
			defer timer.Stop()
			for {
				if len(b.in.drain("after")) > 0 {
					return true
				}
				select {
				case <-b.in.ch:
				case <-timer.C:
					return false
				}
			}
		}() {
			continue
		}
		break
	}
	socks, err := A.FetchSockets(ctxT(t))
	if err != nil || len(socks) != 2 {
		t.Fatalf("FetchSockets after the outage: %d, %v", len(socks), err)
	}
	expect(t, A.Of("/"), "none", []*peer{a, b})
	for _, r := range []string{
		"WARN socketio: redis subscription lost",
		"INFO socketio: redis subscription restored",
		"WARN socketio: redis publish failed",
	} {
		if !logs.has(r) {
			t.Errorf("not logged: %s", r)
		}
	}
}

// --- the wire --------------------------------------------------------------------------

func TestClassicWireBroadcast(t *testing.T) {
	rs, nodes := cluster(t, 1, nil, nil)
	A := nodes[0].srv
	uid := nodes[0].classic("/").UID()
	if len(uid) != 6 || strings.Trim(uid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Fatalf("uid %q", uid)
	}
	sp := newSpy(t, rs, []string{"socket.io#/#*"})
	head := "93" + mpStr(uid)

	_ = A.Emit("hello", "world", []byte{1, 2})
	m := sp.next(t, on("socket.io#/#"))
	want := mp(t, head,
		"83", mpStr("type"), "02", mpStr("data"), "93", mpStr("hello"), mpStr("world"), "c4 02 01 02", mpStr("nsp"), mpStr("/"),
		"83", mpStr("rooms"), "90", mpStr("except"), "90", mpStr("flags"), "80")
	if got := []byte(m.Payload); string(got) != string(want) {
		t.Errorf("broadcast\n got %x\nwant %x", got, want)
	}

	_ = A.To("r1").Except("r2").Volatile().Emit("e")
	m = sp.next(t, on("socket.io#/#r1#"))
	want = mp(t, head,
		"83", mpStr("type"), "02", mpStr("data"), "91", mpStr("e"), mpStr("nsp"), mpStr("/"),
		"83", mpStr("rooms"), "91", mpStr("r1"), mpStr("except"), "91", mpStr("r2"), mpStr("flags"), "81", mpStr("volatile"), "c3")
	if got := []byte(m.Payload); string(got) != string(want) {
		t.Errorf("room broadcast\n got %x\nwant %x", got, want)
	}

	_ = A.To("r1", "r2").Emit("two")
	if m = sp.next(t, func(string) bool { return true }); m.Channel != "socket.io#/#" {
		t.Errorf("two rooms published on %q", m.Channel)
	}

	_ = A.Local().Emit("local")
	_ = A.Emit("after-local")
	m = sp.next(t, func(string) bool { return true })
	if !strings.Contains(m.Payload, "after-local") {
		t.Errorf("a local broadcast was published: %q", m.Payload)
	}
}

func TestClassicWireFromNode(t *testing.T) {
	// Messages as a Node.js node or the emitter publish them.
	logs := &logRecorder{}
	rs, nodes := cluster(t, 1, &redis.Options{Logger: slog.New(logs)}, func(n *node) {
		n.srv.Of("/").OnServerSideEmit("hello", func(e *socketio.ServerSideEvent) {
			var s string
			if len(e.Args) == 1 && e.Args[0].(interface{ Decode(any) error }).Decode(&s) == nil {
				e.Ack("got " + s)
			}
		})
	})
	a := nodes[0].connect(t, "/", "a", "r1")
	a2 := nodes[0].connect(t, "/", "a2", "")
	all := []*peer{a, a2}
	uid := nodes[0].classic("/").UID()
	sp := newSpy(t, rs, nil, "socket.io-response#/#")

	// The emitter's broadcast, with binary.
	sp.publish(t, "socket.io#/#", mp(t, "93", mpStr("emitter"),
		"83", mpStr("type"), "02", mpStr("data"), "92", mpStr("hi"), "c4 01 09", mpStr("nsp"), mpStr("/"),
		"83", mpStr("rooms"), "90", mpStr("except"), "90", mpStr("flags"), "80"))
	for _, p := range all {
		var bin []byte
		if err := p.in.take(t, p.name, "hi").args.Bind(&bin); err != nil || string(bin) != "\x09" {
			t.Errorf("%s: %v %v", p.name, bin, err)
		}
	}
	mark := func() { sp.marker(t) }
	// To a room, on the room's channel; the packet has no nsp ("/").
	sp.publish(t, "socket.io#/#r1#", mp(t, "93", mpStr("xyz123"),
		"82", mpStr("type"), "02", mpStr("data"), "91", mpStr("room"),
		"82", mpStr("rooms"), "91", mpStr("r1"), mpStr("except"), "90"))
	expectAfter(t, mark, "room", all, a)
	// Ignored: its own uid, another namespace, an unknown room, garbage.
	sp.publish(t, "socket.io#/#", mp(t, "93", mpStr(uid),
		"83", mpStr("type"), "02", mpStr("data"), "91", mpStr("own"), mpStr("nsp"), mpStr("/"),
		"82", mpStr("rooms"), "90", mpStr("except"), "90"))
	sp.publish(t, "socket.io#/#", mp(t, "93", mpStr("xyz123"),
		"83", mpStr("type"), "02", mpStr("data"), "91", mpStr("other"), mpStr("nsp"), mpStr("/x"),
		"82", mpStr("rooms"), "90", mpStr("except"), "90"))
	sp.publish(t, "socket.io#/#nope#", mp(t, "93", mpStr("xyz123"),
		"83", mpStr("type"), "02", mpStr("data"), "91", mpStr("nope"), mpStr("nsp"), mpStr("/"),
		"82", mpStr("rooms"), "91", mpStr("nope"), mpStr("except"), "90"))
	sp.publish(t, "socket.io#/#", []byte("garbage"))
	sp.publish(t, "socket.io-request#/#", []byte("{garbage"))
	sp.publish(t, "socket.io-request#/#", []byte("\x81\xa4type\x07"))
	expectAfter(t, mark, "own", all)
	expectAfter(t, mark, "other", all)
	expectAfter(t, mark, "nope", all)
	if !logs.has("DEBUG socketio: redis message dropped") {
		t.Error("the garbage was not logged")
	}

	// The emitter's requests (JSON).
	toE2 := func() {
		sp.publish(t, "socket.io#/#e2#", mp(t, "93", mpStr("emitter"),
			"83", mpStr("type"), "02", mpStr("data"), "91", mpStr("to-e2"), mpStr("nsp"), mpStr("/"),
			"83", mpStr("rooms"), "91", mpStr("e2"), mpStr("except"), "90", mpStr("flags"), "80"))
	}
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"emitter","type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["e1","e2"]}`))
	toE2()
	expectAfter(t, mark, "to-e2", all, a)
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"emitter","type":3,"opts":{"rooms":[],"except":[]},"rooms":["e2"]}`))
	toE2()
	expectAfter(t, mark, "to-e2", all)
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"emitter","type":6,"data":["hello","world"]}`))
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"emitter","type":4,"opts":{"rooms":["e1"],"except":[]},"close":false}`))
	if r := a.in.take(t, "a", "#disconnect"); r.reason != "io server disconnect" {
		t.Errorf("reason %q", r.reason)
	}

	// The legacy {sid, room} form is answered.
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"old","requestId":"leg001","type":2,"sid":"`+a2.id()+`","room":"legacy"}`))
	if m := sp.next(t, on("socket.io-response#/#")); m.Payload != `{"requestId":"leg001"}` {
		t.Errorf("legacy answer %q", m.Payload)
	}
	if rooms := nodes[0].socket(a2.id()).Rooms(); !slices.Contains(rooms, "legacy") {
		t.Errorf("rooms %v after a legacy REMOTE_JOIN", rooms)
	}

	// Requests with answers.
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"nodejs","requestId":"req001","type":0,"rooms":["legacy"]}`))
	if m := sp.next(t, on("socket.io-response#/#")); m.Payload != `{"requestId":"req001","sockets":["`+a2.id()+`"]}` {
		t.Errorf("SOCKETS answer %q", m.Payload)
	}
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"nodejs","requestId":"req002","type":1}`))
	rooms := []string{a2.id(), "legacy"}
	sort.Strings(rooms)
	if m := sp.next(t, on("socket.io-response#/#")); m.Payload != `{"requestId":"req002","rooms":["`+rooms[0]+`","`+rooms[1]+`"]}` {
		t.Errorf("ALL_ROOMS answer %q", m.Payload)
	}
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"nodejs","requestId":"req003","type":5,"opts":{"rooms":["legacy"],"except":[]}}`))
	m := sp.next(t, on("socket.io-response#/#"))
	prefix := `{"requestId":"req003","sockets":[{"id":"` + a2.id() + `","handshake":{"headers":{`
	if !strings.HasPrefix(m.Payload, prefix) ||
		!strings.Contains(m.Payload, `"auth":{"name":"a2","rooms":""}},"rooms":["`+a2.id()+`","legacy"],"data":{"name":"a2","node":"A"}}]}`) {
		t.Errorf("REMOTE_FETCH answer %s", m.Payload)
	}
	sp.publish(t, "socket.io-request#/#", []byte(`{"uid":"nodejs","requestId":"req004","type":6,"data":["hello","you"]}`))
	if m := sp.next(t, on("socket.io-response#/#")); m.Payload != `{"type":6,"requestId":"req004","data":"got you"}` {
		t.Errorf("SERVER_SIDE_EMIT answer %q", m.Payload)
	}

	// BROADCAST with acknowledgements (MessagePack), from a Node.js node.
	sp.publish(t, "socket.io-request#/#", mp(t, "85",
		mpStr("uid"), mpStr("nodejs"), mpStr("requestId"), mpStr("req005"), mpStr("type"), "07",
		mpStr("packet"), "83", mpStr("type"), "02", mpStr("data"), "92", mpStr("ask"), mpStr("q"), mpStr("nsp"), mpStr("/"),
		mpStr("opts"), "83", mpStr("rooms"), "91", mpStr("legacy"), mpStr("except"), "90", mpStr("flags"), "81", mpStr("timeout"), "cd 03 e8"))
	if m := sp.next(t, on("socket.io-response#/#")); m.Payload != `{"type":8,"requestId":"req005","clientCount":1}` {
		t.Errorf("BROADCAST_CLIENT_COUNT %q", m.Payload)
	}
	m = sp.next(t, on("socket.io-response#/#"))
	want := mp(t, "83", mpStr("type"), "09", mpStr("requestId"), mpStr("req005"), mpStr("packet"),
		"82", mpStr("echo"), mpStr("q"), mpStr("from"), mpStr("a2"))
	if m.Payload != string(want) {
		t.Errorf("BROADCAST_ACK\n got %x\nwant %x", m.Payload, want)
	}
}

func TestClassicWireRequests(t *testing.T) {
	// What a Go node sends, answered by a fake Node.js node.
	rs, nodes := cluster(t, 1, &redis.Options{RequestTimeout: 2 * time.Second}, nil)
	a := nodes[0].connect(t, "/", "a", "")
	A := nodes[0].srv
	uid := nodes[0].classic("/").UID()
	sp := newSpy(t, rs, []string{"socket.io#/#*"}, "socket.io-request#/#", "socket.io-response#/#")
	waitServerCount(t, nodes[0], "/", 2)
	isReq := on("socket.io-request#/#")
	requestID := func(payload, prefix string) string {
		t.Helper()
		rest, ok := strings.CutPrefix(payload, prefix)
		if !ok || len(rest) < 8 || rest[6] != '"' {
			t.Fatalf("request %s, want the prefix %s", payload, prefix)
		}
		return rest[:6]
	}

	_ = A.In("x").Except("y").SocketsJoin("j1", "j2")
	if m := sp.next(t, isReq); m.Payload != `{"uid":"`+uid+`","type":2,"opts":{"rooms":["x"],"except":["y"]},"rooms":["j1","j2"]}` {
		t.Errorf("REMOTE_JOIN %s", m.Payload)
	}
	_ = A.SocketsLeave("j1")
	if m := sp.next(t, isReq); m.Payload != `{"uid":"`+uid+`","type":3,"opts":{"rooms":[],"except":[]},"rooms":["j1"]}` {
		t.Errorf("REMOTE_LEAVE %s", m.Payload)
	}
	_ = A.In("nobody").DisconnectSockets(true)
	if m := sp.next(t, isReq); m.Payload != `{"uid":"`+uid+`","type":4,"opts":{"rooms":["nobody"],"except":[]},"close":true}` {
		t.Errorf("REMOTE_DISCONNECT %s", m.Payload)
	}
	_ = A.ServerSideEmit("ev", "<b>&", 1)
	if m := sp.next(t, isReq); m.Payload != `{"uid":"`+uid+`","type":6,"data":["ev","<b>&",1]}` {
		t.Errorf("SERVER_SIDE_EMIT %s", m.Payload)
	}

	// FetchSockets, answered as Node.js does.
	type fetchResult struct {
		socks []*socketio.RemoteSocket
		err   error
	}
	done := make(chan fetchResult, 1)
	go func() {
		socks, err := A.In("x").FetchSockets(context.Background())
		done <- fetchResult{socks, err}
	}()
	m := sp.next(t, isReq)
	id := requestID(m.Payload, `{"uid":"`+uid+`","requestId":"`)
	if m.Payload != `{"uid":"`+uid+`","requestId":"`+id+`","type":5,"opts":{"rooms":["x"],"except":[]}}` {
		t.Errorf("REMOTE_FETCH %s", m.Payload)
	}
	sp.publish(t, "socket.io-response#/#", []byte(`{"requestId":"other","sockets":[{"id":"zzz"}]}`))
	sp.publish(t, "socket.io-response#/#", []byte(`{"requestId":"`+id+`","sockets":[{"id":"nodeSocketId00000001","handshake":{"headers":{"host":"h","x-a":"1"},"time":"t","address":"::1","xdomain":false,"secure":false,"issued":1700000000000,"url":"/socket.io/?EIO=4","query":{"EIO":"4","t":["1","2"]},"auth":{"token":"abc"}},"rooms":["nodeSocketId00000001","x"],"data":{"k":[1,2]}}]}`))
	r := <-done
	if r.err != nil || len(r.socks) != 1 {
		t.Fatalf("FetchSockets: %v, %v", r.socks, r.err)
	}
	s := r.socks[0]
	if s.ID != "nodeSocketId00000001" || !slices.Equal(s.Rooms, []string{"nodeSocketId00000001", "x"}) ||
		s.Handshake.Headers["X-A"][0] != "1" || !slices.Equal(s.Handshake.Query["t"], []string{"1", "2"}) ||
		s.Handshake.Auth["token"] != "abc" || s.Handshake.Issued != 1700000000000 {
		t.Errorf("remote socket %+v %+v", s, s.Handshake)
	}
	if d, _ := s.Data.(map[string]any); d == nil || fmt.Sprint(d["k"]) != "[1 2]" {
		t.Errorf("data %#v", s.Data)
	}

	// ServerSideEmit with an acknowledgement.
	type sseResult struct {
		replies [][]any
		err     error
	}
	sdone := make(chan sseResult, 1)
	go func() {
		replies, err := A.Of("/").ServerSideEmitWithAck(context.Background(), "q", 1)
		sdone <- sseResult{replies, err}
	}()
	m = sp.next(t, isReq)
	id = requestID(m.Payload, `{"uid":"`+uid+`","requestId":"`)
	if m.Payload != `{"uid":"`+uid+`","requestId":"`+id+`","type":6,"data":["q",1]}` {
		t.Errorf("SERVER_SIDE_EMIT with ack %s", m.Payload)
	}
	sp.publish(t, "socket.io-response#/#", []byte(`{"type":6,"requestId":"`+id+`","data":{"ok":true}}`))
	sr := <-sdone
	if sr.err != nil || len(sr.replies) != 1 {
		t.Fatalf("ServerSideEmitWithAck: %v, %v", sr.replies, sr.err)
	}
	var reply struct{ OK bool }
	if err := sr.replies[0][0].(interface{ Decode(any) error }).Decode(&reply); err != nil || !reply.OK {
		t.Errorf("reply %v (%v)", sr.replies, err)
	}

	// Broadcast with acknowledgements: a MessagePack request, then the
	// fake node's count and acknowledgement.
	type ackResult struct {
		res []socketio.Args
		err error
	}
	adone := make(chan ackResult, 1)
	go func() {
		res, err := A.Timeout(wait).EmitWithAck(context.Background(), "ask", "q")
		adone <- ackResult{res, err}
	}()
	m = sp.next(t, isReq)
	raw := []byte(m.Payload)
	prefix := mp(t, "85", mpStr("uid"), mpStr(uid), mpStr("requestId"), "a6")
	if len(raw) < len(prefix)+6 || string(raw[:len(prefix)]) != string(prefix) {
		t.Fatalf("BROADCAST request %x", raw)
	}
	id = string(raw[len(prefix) : len(prefix)+6])
	want := mp(t, hex.EncodeToString(prefix), hex.EncodeToString([]byte(id)), mpStr("type"), "07",
		mpStr("packet"), "83", mpStr("type"), "02", mpStr("data"), "92", mpStr("ask"), mpStr("q"), mpStr("nsp"), mpStr("/"),
		mpStr("opts"), "83", mpStr("rooms"), "90", mpStr("except"), "90", mpStr("flags"), "81", mpStr("timeout"), "cd 27 10")
	if string(raw) != string(want) {
		t.Errorf("BROADCAST request\n got %x\nwant %x", raw, want)
	}
	sp.publish(t, "socket.io-response#/#", []byte(`{"type":8,"requestId":"`+id+`","clientCount":1}`))
	sp.publish(t, "socket.io-response#/#", mp(t, "83", mpStr("type"), "09", mpStr("requestId"), mpStr(id), mpStr("packet"),
		"82", mpStr("from"), mpStr("node"), mpStr("echo"), mpStr("q")))
	ar := <-adone
	if ar.err != nil || len(ar.res) != 2 {
		t.Fatalf("EmitWithAck: %v, %v", ar.res, ar.err)
	}
	var froms []string
	for _, r := range ar.res {
		var x struct{ From string }
		_ = r.Bind(&x)
		froms = append(froms, x.From)
	}
	sort.Strings(froms)
	if !slices.Equal(froms, []string{"a", "node"}) {
		t.Errorf("acks from %v", froms)
	}
	_ = a
}

func TestClassicWireOptions(t *testing.T) {
	rs := redistest.Start(t)
	opts := &redis.Options{Key: "myapp", PublishOnSpecificResponseChannel: true}
	n := startNode(t, rs, "A", opts, nil)
	a := n.connect(t, "/", "a", "r")
	waitServerCount(t, n, "/", 1)
	uid := n.classic("/").UID()
	probe := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	defer probe.Close()
	for _, c := range []string{"myapp-request#/#", "myapp-response#/#", "myapp-response#/#" + uid + "#"} {
		if m, err := probe.PubSubNumSub(context.Background(), c).Result(); err != nil || m[c] != 1 {
			t.Errorf("NUMSUB %s = %v (%v)", c, m, err)
		}
	}
	sp := newSpy(t, rs, []string{"myapp#/#*"}, "myapp-response#/#", "myapp-response#/#nodejs#")
	_ = n.srv.To("r").Emit("x")
	if m := sp.next(t, func(string) bool { return true }); m.Channel != "myapp#/#r#" {
		t.Errorf("published on %q", m.Channel)
	}
	// Answers go to the requester's own channel...
	sp.publish(t, "myapp-request#/#", []byte(`{"uid":"nodejs","requestId":"req001","type":0,"rooms":["r"]}`))
	if m := sp.next(t, func(string) bool { return true }); m.Channel != "myapp-response#/#nodejs#" || m.Payload != `{"requestId":"req001","sockets":["`+a.id()+`"]}` {
		t.Errorf("answer on %q: %s", m.Channel, m.Payload)
	}
	// ...but those of SERVER_SIDE_EMIT, as in Node.js.
	n.srv.Of("/").OnServerSideEmit("e", func(e *socketio.ServerSideEvent) { e.Ack() })
	sp.publish(t, "myapp-request#/#", []byte(`{"uid":"nodejs","requestId":"req002","type":6,"data":["e"]}`))
	if m := sp.next(t, func(string) bool { return true }); m.Channel != "myapp-response#/#" || m.Payload != `{"type":6,"requestId":"req002"}` {
		t.Errorf("answer on %q: %s", m.Channel, m.Payload)
	}
}
