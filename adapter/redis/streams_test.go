package redis_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/adapter/redis"
	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
	"github.com/go-sio/socketio/parser/msgpack"
)

func streamsMaker(o *redis.StreamsOptions) busFactory {
	return func(d redis.Driver, onState func(bool, error)) adapter.Factory {
		var opts redis.StreamsOptions
		if o != nil {
			opts = *o
		}
		opts.OnRedisState = onState
		if opts.RequestTimeout == 0 {
			opts.RequestTimeout = 2 * time.Second
		}
		if opts.BlockTime == 0 {
			opts.BlockTime = 2 * time.Second
		}
		return redis.NewStreamsAdapter(d, &opts)
	}
}

// withRecovery turns connection state recovery on.
func withRecovery(so *socketio.ServerOptions) {
	so.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute}
}

var entryID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

func TestStreamsBroadcast(t *testing.T) {
	_, nodes := busCluster(t, 3, streamsMaker(nil), nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	a1 := a.connect(t, "/", "a1", "red")
	a2 := a.connect(t, "/", "a2", "")
	b1 := b.connect(t, "/", "b1", "red,blue")
	b2 := b.connect(t, "/", "b2", "blue")
	c1 := c.connect(t, "/", "c1", "")
	all := []*peer{a1, a2, b1, b2, c1}
	nsp := c.srv.Of("/")

	_ = nsp.Emit("all", 1)
	expect(t, nsp, "all", all, all...)
	_ = nsp.To("red").Emit("red")
	expect(t, nsp, "red", all, a1, b1)
	_ = nsp.To("red", "blue").Emit("red or blue")
	expect(t, nsp, "red or blue", all, a1, b1, b2)
	_ = nsp.Except("blue").Emit("not blue")
	expect(t, nsp, "not blue", all, a1, a2, c1)
	_ = nsp.To(b2.id()).Emit("to b2")
	expect(t, nsp, "to b2", all, b2)
	_ = nsp.Local().Emit("local")
	expect(t, nsp, "local", all, c1)
	_ = nsp.Volatile().Emit("volatile")
	expectVolatile(t, nsp, "volatile", all)
	if s := a.socket(a1.id()); s != nil {
		_ = s.To("red").Emit("from a1")
	}
	expect(t, nsp, "from a1", all, b1)
	_ = nsp.To("blue").Emit("bin", []byte{1, 2, 3})
	for _, p := range []*peer{b1, b2} {
		var got []byte
		if err := p.in.take(t, p.name, "bin").args.Bind(&got); err != nil || string(got) != "\x01\x02\x03" {
			t.Errorf("%s: binary event %v %v", p.name, got, err)
		}
	}
	// Without recovery, no offset is added.
	_ = a.srv.Emit("plain", "x")
	if e := b1.in.take(t, "b1", "plain"); len(e.args) != 1 {
		t.Errorf("plain event args %v", e.args)
	}
}

func TestStreamsRequests(t *testing.T) {
	var mu sync.Mutex
	sse := map[string]int{}
	setup := func(n *node) {
		n.srv.Of("/").OnServerSideEmit("ping", func(e *socketio.ServerSideEvent) {
			mu.Lock()
			sse[n.name]++
			mu.Unlock()
			e.Ack("pong " + n.name)
		})
	}
	rs := redistest.Start(t)
	var nodes []*node
	for _, name := range []string{"A", "B", "C"} {
		nodes = append(nodes, startBusNode(t, rs, name, streamsMaker(nil), nil, setup))
	}
	for _, n := range nodes {
		waitServerCount(t, n, "/", 3)
		waitServerCount(t, n, "/chat", 3)
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	a1 := a.connect(t, "/", "a1", "red")
	b1 := b.connect(t, "/", "b1", "red")
	b2 := b.connect(t, "/", "b2", "")
	c1 := c.connect(t, "/", "c1", "")
	cc := c.connect(t, "/chat", "cc", "")
	all := []*peer{a1, b1, b2, c1}

	// Acknowledgements from clients on every node.
	res, err := a.srv.Timeout(5*time.Second).EmitWithAck(ctxT(t), "ask", "q")
	if err != nil || len(res) != 4 {
		t.Fatalf("EmitWithAck: %d answers, %v", len(res), err)
	}
	for _, p := range all {
		p.in.drain("ask")
	}
	res, err = c.srv.To("red").Timeout(5*time.Second).EmitWithAck(ctxT(t), "ask", "q")
	if err != nil || len(res) != 2 {
		t.Errorf("EmitWithAck(red): %d answers, %v", len(res), err)
	}

	socks, err := b.srv.FetchSockets(ctxT(t))
	if err != nil || len(socks) != 4 {
		t.Fatalf("FetchSockets: %d, %v", len(socks), err)
	}
	socks, err = c.srv.Of("/chat").FetchSockets(ctxT(t))
	if err != nil || len(socks) != 1 || socks[0].ID != cc.id() {
		t.Errorf("FetchSockets(/chat): %v, %v", socks, err)
	}

	if err := c.srv.In("red").SocketsJoin("green"); err != nil {
		t.Fatal(err)
	}
	eventually(t, busPoll, "red joins green", func() bool {
		return slices.Contains(a.socket(a1.id()).Rooms(), "green") && slices.Contains(b.socket(b1.id()).Rooms(), "green")
	})
	if err := c.srv.SocketsLeave("red"); err != nil {
		t.Fatal(err)
	}
	eventually(t, busPoll, "everyone leaves red", func() bool {
		return !slices.Contains(a.socket(a1.id()).Rooms(), "red") && !slices.Contains(b.socket(b1.id()).Rooms(), "red")
	})

	if err := a.srv.ServerSideEmit("ping"); err != nil {
		t.Fatal(err)
	}
	replies, err := a.srv.Of("/").ServerSideEmitWithAck(ctxT(t), "ping")
	if err != nil || len(replies) != 2 {
		t.Errorf("ServerSideEmitWithAck: %v, %v", replies, err)
	}
	eventually(t, busPoll, "B and C get both pings", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return sse["B"] == 2 && sse["C"] == 2 && sse["A"] == 0
	})

	if err := a.srv.In("green").DisconnectSockets(true); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{a1, b1} {
		p.in.take(t, p.name, "#disconnect")
	}
	eventually(t, busPoll, "two sockets left", func() bool {
		socks, err := c.srv.FetchSockets(ctxT(t))
		return err == nil && len(socks) == 2
	})
}

// The entries and messages are those of Node's streams adapter, and a
// node reads what Node writes.
func TestStreamsWire(t *testing.T) {
	rs, nodes := busCluster(t, 1, streamsMaker(nil), nil)
	a := nodes[0]
	a1 := a.connect(t, "/", "a1", "red")
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := ctxT(t)
	last := func() goredis.XMessage {
		t.Helper()
		res, err := rdb.XRevRangeN(ctx, "socket.io", "+", "-", 1).Result()
		if err != nil || len(res) != 1 {
			t.Fatalf("XREVRANGE: %v %v", res, err)
		}
		return res[0]
	}
	// Field order, as XADD wrote it: read it raw.
	rawFields := func(id string) []string {
		t.Helper()
		v, err := rdb.Do(ctx, "XRANGE", "socket.io", id, id).Slice()
		if err != nil || len(v) != 1 {
			t.Fatalf("XRANGE %s: %v %v", id, v, err)
		}
		var out []string
		for _, f := range v[0].([]any)[1].([]any) {
			out = append(out, f.(string))
		}
		return out
	}

	_ = a.srv.To("red").Emit("hello", 1, "two")
	a1.in.take(t, "a1", "hello")
	e := last()
	f := rawFields(e.ID)
	uid := f[1]
	want := []string{"uid", uid, "nsp", "/", "type", "3", "data", `{"opts":{"rooms":["red"],"except":[],"flags":{}},"packet":{"type":2,"data":["hello",1,"two"],"nsp":"/"}}`}
	if !slices.Equal(f, want) || len(uid) != 16 {
		t.Errorf("entry fields\n %q\nwant\n %q", f, want)
	}
	_ = a.srv.Emit("bin", []byte{7})
	a1.in.take(t, "a1", "bin")
	e = last()
	data, err := base64.StdEncoding.DecodeString(e.Values["data"].(string))
	if err != nil || !strings.Contains(string(data), "\xc4\x01\x07") {
		t.Errorf("binary entry data %q (%v)", e.Values["data"], err)
	}
	_ = a.srv.DisconnectSockets(false)
	a1.in.take(t, "a1", "#disconnect")
	if f := rawFields(last().ID); !slices.Equal(f[4:], []string{"type", "6", "data", `{"opts":{"rooms":[],"except":[],"flags":{}},"close":false}`}) {
		t.Errorf("DISCONNECT_SOCKETS entry %q", f)
	}
	a1 = a.connect(t, "/", "a1", "red")

	// The requests that expect answers go by PUBLISH, in MessagePack.
	ps := rdb.Subscribe(ctx, "socket.io#/#")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	// (The spy counts as a server: this times out.)
	acked := make(chan error, 1)
	go func() {
		_, err := a.srv.Timeout(300*time.Millisecond).EmitWithAck(context.Background(), "ask", 1)
		acked <- err
	}()
	defer func() { <-acked }()
	m, err := ps.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msg map[string]any
	if err := msgpack.Unmarshal([]byte(m.Payload), &msg); err != nil {
		t.Fatalf("%q: %v", m.Payload, err)
	}
	if msg["type"] != int64(3) || msg["uid"] != uid || msg["nsp"] != "/" {
		t.Errorf("broadcast with ack: %v", msg)
	}
	if d, _ := msg["data"].(map[string]any); d == nil || d["requestId"] == nil || d["packet"] == nil {
		t.Errorf("broadcast with ack data: %v", msg["data"])
	}
	a1.in.take(t, "a1", "ask")

	// Written by Node: JSON and base64 MessagePack entries; others dropped.
	add := func(values ...string) {
		t.Helper()
		if err := rdb.XAdd(ctx, &goredis.XAddArgs{Stream: "socket.io", Values: values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	add("uid", "node0000000000001", "nsp", "/", "type", "3", "data",
		`{"packet":{"type":2,"data":["from node",{"k":[1]}],"nsp":"/"},"opts":{"rooms":["red"],"except":[],"flags":{}}}`)
	add("uid", "node0000000000001", "nsp", "/", "type", "3", "data", "garbage")
	add("uid", "node0000000000001", "type", "3", "data", `{"packet":{"type":2,"data":["no nsp"],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{}}}`)
	add("uid", "node0000000000001", "nsp", "/", "type", "x", "data", `{}`)
	// @msgpack/msgpack: {packet: {type: 2, data: ["mp", Buffer<09>], nsp: "/"}, opts: {rooms: [], except: [], flags: {}}}
	mp := "\x82\xa6packet\x83\xa4type\x02\xa4data\x92\xa2mp\xc4\x01\x09\xa3nsp\xa1/\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80"
	add("uid", "node0000000000001", "nsp", "/", "type", "3", "data", base64.StdEncoding.EncodeToString([]byte(mp)))
	ev := a1.in.take(t, "a1", "from node")
	var obj map[string][]int
	if err := ev.args.Bind(&obj); err != nil || len(obj["k"]) != 1 {
		t.Errorf("from node: %v %v", obj, err)
	}
	ev = a1.in.take(t, "a1", "mp")
	var b []byte
	if err := ev.args.Bind(&b); err != nil || len(b) != 1 || b[0] != 9 {
		t.Errorf("mp: %v %v", b, err)
	}
	expect(t, a.srv.Of("/"), "no nsp", []*peer{a1})
}

func TestStreamsStreamCount(t *testing.T) {
	rs, nodes := busCluster(t, 2, streamsMaker(&redis.StreamsOptions{StreamCount: 3}), nil)
	a, b := nodes[0], nodes[1]
	b1 := b.connect(t, "/", "b1", "")
	bc := b.connect(t, "/chat", "bc", "")
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	// Node: hashCode("/") = 47, 47 % 3 = 2; hashCode("/chat") = 46457863, % 3 = 1.
	_ = a.srv.Emit("main")
	_ = a.srv.Of("/chat").Emit("chat")
	b1.in.take(t, "b1", "main")
	bc.in.take(t, "bc", "chat")
	for stream, want := range map[string]int64{"socket.io-0": 0, "socket.io-1": 1, "socket.io-2": 1, "socket.io": 0} {
		if n, _ := rdb.XLen(context.Background(), stream).Result(); n != want {
			t.Errorf("%s has %d entries, want %d", stream, n, want)
		}
	}
}

// streamsSessionKeys decodes a stored session into its keys.
func streamsSessionKeys(t *testing.T, raw string) map[string]any {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := msgpack.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A client dropped by node A comes back through node B, started after
// the drop: it keeps its id, rooms and data, and gets every packet it
// missed once, those broadcast while it reconnects included.
func TestStreamsRecoveryAcrossNodes(t *testing.T) {
	rs, nodes := busCluster(t, 2, streamsMaker(nil), withRecovery)
	a, c := nodes[0], nodes[1]
	router := &busRouter{}
	router.set(a.srv)
	hs := httptest.NewServer(router)
	t.Cleanup(hs.Close)

	p := connectTo(t, hs.URL, "/", "p", "r", true)
	other := c.connect(t, "/", "other", "")
	sid := p.id()
	_ = a.srv.Emit("e", 1)
	_ = c.srv.Emit("e", 2)
	for range 2 {
		e := p.in.take(t, "p", "e")
		var v int
		var off string
		if err := e.args.Bind(&v, &off); err != nil || len(e.args) != 2 || !entryID.MatchString(off) {
			t.Fatalf("event with offset: %v", e.args)
		}
	}

	// Drop: the session is kept in Redis.
	router.set(nil)
	sa := a.socket(sid)
	_ = sa.Conn().Close()
	p.in.take(t, "p", "#disconnect")
	eventually(t, busPoll, "A lets the socket go", func() bool { _, ok := a.srv.Of("/").Socket(sid); return !ok })
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	keys, err := rdb.Keys(context.Background(), "sio:session:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("session keys %v, %v", keys, err)
	}
	raw, _ := rdb.Get(context.Background(), keys[0]).Result()
	stored := streamsSessionKeys(t, raw)
	if len(stored) != 4 || stored["sid"] != sid || fmt.Sprint(stored["rooms"]) != fmt.Sprintf("[%s r]", sid) ||
		fmt.Sprint(stored["data"]) != "map[name:p node:A]" || keys[0] != "sio:session:"+fmt.Sprint(stored["pid"]) {
		t.Errorf("stored session %v under %s", stored, keys[0])
	}
	if ttl, _ := rdb.PTTL(context.Background(), keys[0]).Result(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Errorf("session TTL %v, want about a minute", ttl)
	}

	// Missed while away, before node B starts.
	_ = a.srv.Emit("m", 1)
	_ = c.srv.To("r").Emit("m", 2)
	_ = c.srv.Except("r").Emit("x", 1)
	_ = c.srv.Volatile().Emit("v")
	_ = a.srv.To("elsewhere").Emit("x", 2)
	b := startBusNode(t, rs, "L", streamsMaker(nil), withRecovery, nil)
	waitServerCount(t, b, "/", 3)
	// ... after B starts, B's own included.
	_ = c.srv.Emit("m", 3)
	_ = b.srv.To("r").Emit("m", 4)

	// Traffic from C (the reader) and B (own entries) while p reconnects.
	var wg sync.WaitGroup
	var cmu sync.Mutex
	stop := make(chan struct{})
	counts := map[string]int{}
	for _, src := range []*node{b, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := 0
			for {
				select {
				case <-stop:
					cmu.Lock()
					counts[src.name] = i
					cmu.Unlock()
					return
				case <-time.After(time.Millisecond):
				}
				i++
				_ = src.srv.Emit("seq"+src.name, i)
			}
		}()
	}
	router.set(b.srv)
	if e := p.in.take(t, "p", "ready"); e.args[0].String() != `"L"` {
		t.Fatalf("reconnected to %v", e.args)
	}
	time.Sleep(50 * time.Millisecond) // traffic goes on after the recovery
	close(stop)
	wg.Wait()
	if !p.sock.Recovered() || p.id() != sid {
		t.Fatalf("recovered %v with id %s, want true and %s", p.sock.Recovered(), p.id(), sid)
	}
	expect(t, c.srv.Of("/"), "nothing", []*peer{p, other})
	expect(t, b.srv.Of("/"), "nothing", []*peer{p, other})

	var ms []string
	for _, e := range p.in.drain("m") {
		ms = append(ms, e.args[0].String())
		if len(e.args) != 2 || !strings.HasPrefix(e.args[1].String(), `"`) {
			t.Errorf("replayed event without offset: %v", e.args)
		}
	}
	if want := []string{"1", "2", "3", "4"}; !slices.Equal(ms, want) {
		t.Errorf("missed events %v, want %v", ms, want)
	}
	if n := len(p.in.drain("x")) + len(p.in.drain("v")); n != 0 {
		t.Errorf("%d events replayed that were not for p", n)
	}
	for _, src := range []string{b.name, c.name} {
		var got []int
		for _, e := range p.in.drain("seq" + src) {
			var i int
			_ = e.args.Bind(&i)
			got = append(got, i)
		}
		for i := range got {
			if got[i] != i+1 {
				t.Errorf("seq%s: got %v... at %d (want each of 1..%d once, in order)", src, got[max(0, i-2):min(len(got), i+3)], i, counts[src])
				break
			}
		}
		if len(got) != counts[src] {
			t.Errorf("seq%s: %d events, want %d", src, len(got), counts[src])
		}
	}

	// The recovered socket is in its room, on B, with its data.
	s := b.socket(sid)
	if s == nil || !slices.Contains(s.Rooms(), "r") || fmt.Sprint(s.Data()) != "map[name:p node:A]" {
		t.Fatalf("recovered socket %v", s)
	}
	_ = c.srv.To("r").Emit("after")
	expect(t, c.srv.Of("/"), "after", []*peer{p, other}, p)
	if n, _ := rdb.Exists(context.Background(), keys[0]).Result(); n != 0 {
		t.Error("the session is still stored after its recovery")
	}
}

// A session stored as Node stores it is restored by a Go node; a client
// with an unknown offset or pid gets a new session.
func TestStreamsRecoveryOfNodeSession(t *testing.T) {
	rs, nodes := busCluster(t, 1, streamsMaker(nil), withRecovery)
	a := nodes[0]
	rdb := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := ctxT(t)
	w := a.connect(t, "/", "witness", "")
	_ = a.srv.To("room1").Emit("missed", 1)
	_ = a.srv.Emit("seen")
	w.in.take(t, "witness", "seen")
	// (with recovery, an emit to one socket is an entry too: "ready")
	ids, _ := rdb.XRange(ctx, "socket.io", "-", "+").Result()
	if len(ids) != 3 || !strings.Contains(ids[1].Values["data"].(string), `"missed",1`) {
		t.Fatalf("stream %v", ids)
	}
	// The client got "missed" 1 (its offset), not what follows.
	offset := ids[1].ID
	_ = a.srv.To("room1").Emit("missed", 2)

	// @msgpack/msgpack of {sid, pid, rooms: [sid, "room1"], data: {user: "bob", n: 1}}
	sid, pid := "AAAAAAAAAAAAAAAAAAA1", "PPPPPPPPPPPPPPPPPPP1"
	node := "\x84\xa3sid\xb4" + sid + "\xa3pid\xb4" + pid + "\xa5rooms\x92\xb4" + sid + "\xa5room1\xa4data\x82\xa4user\xa3bob\xa1n\x01"
	if err := rdb.Set(ctx, "sio:session:"+pid, base64.StdEncoding.EncodeToString([]byte(node)), time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	var got *socketio.Socket
	var mu sync.Mutex
	a.srv.OnConnection(func(s *socketio.Socket) {
		if s.ID() == sid {
			mu.Lock()
			got = s
			mu.Unlock()
		}
	})
	p := connectAuth(t, a.url, "/", map[string]any{"name": "p", "pid": pid, "offset": offset}, false)
	e := p.in.take(t, "p", "missed")
	if e.args[0].String() != "2" || len(e.args) != 2 {
		t.Errorf("replayed %v, want [2, offset]", e.args)
	}
	eventually(t, busPoll, "the recovered socket connects", func() bool { mu.Lock(); defer mu.Unlock(); return got != nil })
	if !got.Recovered() || p.id() != sid || !slices.Contains(got.Rooms(), "room1") {
		t.Errorf("recovered %v id %s rooms %v", got.Recovered(), p.id(), got.Rooms())
	}
	if d, _ := got.Data().(map[string]any); fmt.Sprint(d["user"]) != "bob" {
		t.Errorf("data %#v", got.Data())
	}

	// Restored once (a client that leaves of its own will leaves no
	// session); an invalid offset or an offset not in the stream restores
	// nothing.
	p.sock.Disconnect()
	eventually(t, busPoll, "p leaves", func() bool { _, ok := a.srv.Of("/").Socket(sid); return !ok })
	for _, auth := range []map[string]any{
		{"name": "q", "pid": pid, "offset": offset},
		{"name": "q", "pid": "PPPPPPPPPPPPPPPPPPP2", "offset": "not-an-offset"},
		{"name": "q", "pid": "PPPPPPPPPPPPPPPPPPP3", "offset": "1-0"},
	} {
		if auth["pid"] != pid {
			_ = rdb.Set(ctx, "sio:session:"+auth["pid"].(string), base64.StdEncoding.EncodeToString([]byte(node)), time.Minute).Err()
		}
		q := connectAuth(t, a.url, "/", auth, false)
		if q.sock.Recovered() || q.id() == sid {
			t.Errorf("auth %v: recovered", auth)
		}
	}
}

func TestStreamsRedisOutage(t *testing.T) {
	rs, nodes := busCluster(t, 2, streamsMaker(&redis.StreamsOptions{RequestTimeout: 500 * time.Millisecond}), nil)
	a, b := nodes[0], nodes[1]
	a1 := a.connect(t, "/", "a1", "")
	b1 := b.connect(t, "/", "b1", "")
	all := []*peer{a1, b1}
	_ = a.srv.Emit("before")
	expect(t, a.srv.Of("/"), "before", all, a1, b1)

	traffic := busTraffic(a, "t")
	rs.Stop()
	waitState(t, false, nodes...)
	_ = a.srv.Emit("during")
	a1.in.take(t, "a1", "during")
	socks, err := a.srv.FetchSockets(ctxT(t))
	if !errors.Is(err, adapter.ErrTimeout) || len(socks) != 1 {
		t.Errorf("FetchSockets during the outage: %d sockets, %v", len(socks), err)
	}

	rs.Restart()
	waitState(t, true, nodes...)
	waitServerCount(t, b, "/", 2)
	busCrosses(t, a, b1, "after")
	_ = b.srv.Emit("back")
	expect(t, b.srv.Of("/"), "back", all, a1, b1)
	traffic.check(t, a1, b1)
}

// Closing does not wait for the XREAD to time out.
func TestStreamsCloseIsPrompt(t *testing.T) {
	rs := redistest.Start(t)
	n := startBusNode(t, rs, "A", streamsMaker(&redis.StreamsOptions{BlockTime: time.Minute}), nil, nil)
	waitServerCount(t, n, "/", 1)
	_ = n.srv.Of("/chat")
	time.Sleep(50 * time.Millisecond) // the readers block
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
}
