package adapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// The cluster tests connect two or three Cluster adapters through an
// in-process bus that encodes every message as the sharded Redis adapter
// does (JSON, or MessagePack when the data holds binary) and delivers it
// to each other node, in order, on that node's own goroutine.

// --- fakes ---------------------------------------------------------------

// cSocket is a local socket of a cNamespace: it records what it is sent
// and the acknowledgement handlers it is given.
type cSocket struct {
	id   string
	nsp  *cNamespace
	data any

	mu     sync.Mutex
	got    []string // first message of each packet, as text
	binary [][]byte // attachments received
	acks   map[uint64]func([]any)
	gone   bool
	closed bool // Disconnect(true)
}

func (s *cSocket) ID() SocketID { return s.id }

func (s *cSocket) Send(_ *parser.Packet, msgs []parser.Message, _ BroadcastFlags) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, string(msgs[0].Data))
	for _, m := range msgs[1:] {
		s.binary = append(s.binary, m.Data)
	}
	s.nsp.changed()
}

func (s *cSocket) ExpectAck(id uint64, fn func([]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acks == nil {
		s.acks = make(map[uint64]func([]any))
	}
	s.acks[id] = fn
}

// ack answers the acknowledgement the last packet asked for.
func (s *cSocket) ack(t *testing.T, args ...any) {
	t.Helper()
	s.mu.Lock()
	var id uint64
	var fn func([]any)
	for k, f := range s.acks {
		id, fn = k, f
	}
	delete(s.acks, id)
	s.mu.Unlock()
	if fn == nil {
		t.Fatalf("socket %s: no acknowledgement expected", s.id)
	}
	fn(args)
}

func (s *cSocket) Disconnect(close bool) {
	s.mu.Lock()
	s.gone, s.closed = true, close
	s.mu.Unlock()
	s.nsp.remove(s.id)
}

func (s *cSocket) Details() SocketDetails {
	return SocketDetails{
		ID:        s.id,
		Handshake: &Handshake{Headers: map[string][]string{"X-Node": {s.nsp.node}}, Query: map[string][]string{}, Auth: map[string]any{}},
		Rooms:     s.nsp.adapter.SocketRooms(s.id),
		Data:      s.data,
	}
}

func (s *cSocket) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// cNamespace is the namespace of one node.
type cNamespace struct {
	name     string
	node     string
	recovery *RecoveryConfig
	adapter  *Cluster
	ids      atomic.Uint64

	mu      sync.Mutex
	sockets map[string]*cSocket
	sse     map[string]func(args []any, reply func([]any))
	notify  chan struct{}
}

func newCNamespace(name, node string) *cNamespace {
	return &cNamespace{name: name, node: node, sockets: map[string]*cSocket{}, notify: make(chan struct{}, 1)}
}

func (n *cNamespace) changed() {
	select {
	case n.notify <- struct{}{}:
	default:
	}
}

func (n *cNamespace) add(ids ...string) []*cSocket {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*cSocket
	for _, id := range ids {
		s := &cSocket{id: id, nsp: n}
		n.sockets[id] = s
		out = append(out, s)
	}
	return out
}

func (n *cNamespace) remove(id string) {
	n.mu.Lock()
	delete(n.sockets, id)
	n.mu.Unlock()
	n.adapter.DelAll(id)
	n.changed()
}

func (n *cNamespace) Name() string        { return n.name }
func (n *cNamespace) Codec() parser.Codec { return parser.Default }
func (n *cNamespace) LocalSocket(id SocketID) (Socket, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, ok := n.sockets[id]
	return s, ok
}
func (n *cNamespace) LocalSockets() []Socket {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []Socket{}
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}
func (n *cNamespace) Recovery() *RecoveryConfig { return n.recovery }
func (n *cNamespace) Join(id SocketID, rooms []Room) {
	n.adapter.AddAll(id, rooms)
	n.changed()
}
func (n *cNamespace) Leave(id SocketID, room Room) {
	n.adapter.Del(id, room)
	n.changed()
}
func (n *cNamespace) NextAckID() uint64 { return n.ids.Add(1) }
func (n *cNamespace) HandleServerSideEmit(event string, args []any, reply func([]any)) {
	n.mu.Lock()
	fn := n.sse[event]
	n.mu.Unlock()
	if fn != nil {
		fn(args, reply)
	}
}

func (n *cNamespace) onServerSideEmit(event string, fn func(args []any, reply func([]any))) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sse == nil {
		n.sse = map[string]func([]any, func([]any)){}
	}
	n.sse[event] = fn
}

// --- the bus ---------------------------------------------------------------

// fakeBus connects the nodes of a test. It encodes each message as the
// sharded adapter does and hands the bytes to every other node (or to
// one, for a response), decoded, in order.
type fakeBus struct {
	t       *testing.T
	mu      sync.Mutex
	nodes   []*fakeNode
	offsets int
	down    bool // Publish and ServerCount fail
	deaf    map[string]bool
	wg      sync.WaitGroup
	sent    []sentMessage
}

type sentMessage struct {
	to     string // "" for everyone
	format Format
	raw    []byte
}

type fakeNode struct {
	bus   *fakeBus
	c     *Cluster
	nsp   *cNamespace
	inbox chan delivery
}

type delivery struct {
	raw    []byte
	offset string
}

var errBusDown = errors.New("bus down")

func newFakeBus(t *testing.T) *fakeBus {
	b := &fakeBus{t: t, deaf: map[string]bool{}}
	t.Cleanup(func() {
		b.mu.Lock()
		for _, n := range b.nodes {
			close(n.inbox)
		}
		b.nodes = nil
		b.mu.Unlock()
		b.wg.Wait()
	})
	return b
}

// node adds a node with namespace nsp.
func (b *fakeBus) node(name, nsp string, opts *ClusterOptions) *fakeNode {
	n := &fakeNode{bus: b, nsp: newCNamespace(nsp, name), inbox: make(chan delivery, 1024)}
	return b.attach(n, opts)
}

func (b *fakeBus) attach(n *fakeNode, opts *ClusterOptions) *fakeNode {
	o := ClusterOptions{RequestTimeout: 2 * time.Second}
	if opts != nil {
		o = *opts
	}
	n.c = NewCluster(n.nsp, n, &o)
	n.nsp.adapter = n.c
	b.mu.Lock()
	b.nodes = append(b.nodes, n)
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for d := range n.inbox {
			m, err := DecodeMessage(d.raw)
			if err != nil {
				b.t.Errorf("node %s: %v in %q", n.nsp.node, err, d.raw)
				continue
			}
			if d.offset != "" {
				n.c.OnMessageSeen(m, d.offset, func() {})
			} else {
				n.c.OnMessage(m, d.offset)
			}
		}
	}()
	return n
}

func (b *fakeBus) encode(m *ClusterMessage) (Format, []byte) {
	f := FormatJSON
	switch m.Type {
	case MsgBroadcast, MsgBroadcastAck, MsgFetchSocketsResponse, MsgServerSideEmit, MsgServerSideEmitResponse:
		if HasBinary(m.Data) {
			f = FormatMsgPack
		}
	}
	raw, err := Marshal(m, f)
	if err != nil {
		b.t.Errorf("encode %+v: %v", m, err)
	}
	return f, raw
}

func (b *fakeBus) deliver(to string, m *ClusterMessage, offset string) error {
	f, raw := b.encode(m)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return errBusDown
	}
	b.sent = append(b.sent, sentMessage{to: to, format: f, raw: raw})
	for _, n := range b.nodes {
		if b.deaf[n.c.UID()] {
			continue
		}
		if to == "" || n.c.UID() == to {
			// Every node gets its own messages too, as on Redis.
			n.inbox <- delivery{raw: raw, offset: offset}
		}
	}
	return nil
}

func (n *fakeNode) Publish(_ context.Context, m *ClusterMessage) (string, error) {
	b := n.bus
	off := ""
	if n.c.offsets {
		b.mu.Lock()
		b.offsets++
		off = strconv.Itoa(b.offsets) + "-0"
		b.mu.Unlock()
	}
	return off, b.deliver("", m, off)
}

func (n *fakeNode) PublishResponse(_ context.Context, uid string, m *ClusterMessage) error {
	return n.bus.deliver(uid, m, "")
}

func (n *fakeNode) ServerCount(context.Context) (int, error) {
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return 0, errBusDown
	}
	return len(b.nodes), nil
}

func (b *fakeBus) setDown(down bool) {
	b.mu.Lock()
	b.down = down
	b.mu.Unlock()
}

func (b *fakeBus) messages() []sentMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sent)
}

// eventually polls cond until it holds, failing t after a few seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// wantPackets waits until s has received exactly want.
func wantPackets(t *testing.T, s *cSocket, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s receives %q", s.id, want), func() bool { return len(s.received()) >= len(want) })
	if got := s.received(); !slices.Equal(got, want) {
		t.Fatalf("%s received %q, want %q", s.id, got, want)
	}
}

// settle waits until every node has handled what was sent so far.
func (b *fakeBus) settle(t *testing.T) {
	t.Helper()
	eventually(t, "the bus settles", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, n := range b.nodes {
			if len(n.inbox) > 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(5 * time.Millisecond) // the message in hand, if any
}

func event(name string, args ...any) *parser.Packet {
	return &parser.Packet{Type: parser.Event, Namespace: "/", Event: name, Args: args}
}

// --- tests -----------------------------------------------------------------

func TestClusterBroadcast(t *testing.T) {
	b := newFakeBus(t)
	n1, n2, n3 := b.node("n1", "/", nil), b.node("n2", "/", nil), b.node("n3", "/", nil)
	a := n1.nsp.add("a1", "a2")
	c := n2.nsp.add("b1", "b2")
	d := n3.nsp.add("c1")
	n1.c.AddAll("a1", []Room{"r"})
	n2.c.AddAll("b1", []Room{"r", "x"})
	n3.c.AddAll("c1", []Room{"x"})

	steps := []struct {
		opts BroadcastOptions
		want []*cSocket
	}{
		{BroadcastOptions{}, []*cSocket{a[0], a[1], c[0], c[1], d[0]}},
		{BroadcastOptions{Rooms: []Room{"r"}}, []*cSocket{a[0], c[0]}},
		{BroadcastOptions{Rooms: []Room{"r", "x"}}, []*cSocket{a[0], c[0], d[0]}},
		{BroadcastOptions{Except: []Room{"x"}}, []*cSocket{a[0], a[1], c[1]}},
		{BroadcastOptions{Rooms: []Room{"b2"}}, []*cSocket{c[1]}}, // a socket's own room, on another node
		{BroadcastOptions{Flags: BroadcastFlags{Local: true}}, []*cSocket{a[0], a[1]}},
		{BroadcastOptions{Flags: BroadcastFlags{Volatile: true}}, []*cSocket{a[0], a[1], c[0], c[1], d[0]}},
	}
	all := append(append(slices.Clone(a), c...), d...)
	want := map[*cSocket][]string{}
	for i, st := range steps {
		if err := n1.c.Broadcast(event("e", i), st.opts); err != nil {
			t.Fatal(err)
		}
		for _, s := range st.want {
			want[s] = append(want[s], fmt.Sprintf(`2["e",%d]`, i))
		}
	}
	for _, s := range all {
		wantPackets(t, s, want[s]...)
	}
	b.settle(t)
	for _, s := range all {
		if got := s.received(); !slices.Equal(got, want[s]) {
			t.Errorf("%s received %q, want %q", s.id, got, want[s])
		}
	}
	// The local broadcast was not published; the others were, as JSON.
	msgs := b.messages()
	if len(msgs) != len(steps)-1 {
		t.Fatalf("%d messages published, want %d", len(msgs), len(steps)-1)
	}
	var first map[string]any
	if err := json.Unmarshal(msgs[1].raw, &first); err != nil || msgs[1].format != FormatJSON {
		t.Fatalf("message %q: %v", msgs[1].raw, err)
	}
	wantJSON := `{"uid":"` + n1.c.UID() + `","nsp":"/","type":3,"data":{"opts":{"rooms":["r"],"except":[],"flags":{}},"packet":{"type":2,"data":["e",1],"nsp":"/"}}}`
	if string(msgs[1].raw) != wantJSON {
		t.Errorf("published\n %s\nwant\n %s", msgs[1].raw, wantJSON)
	}
}

// A message from Node (JSON, binary as MessagePack) is delivered; messages
// of another namespace, or from this node, are ignored.
func TestClusterOnMessageFromNode(t *testing.T) {
	b := newFakeBus(t)
	n1 := b.node("n1", "/", nil)
	s := n1.nsp.add("a")[0]
	n1.c.AddAll("a", []Room{"room1"})
	handle := func(raw []byte) {
		t.Helper()
		m, err := DecodeMessage(raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		n1.c.OnMessage(m, "")
	}
	handle([]byte(`{"uid":"abcdef0123456789","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["hello",{"a":[1,2]},"x"],"nsp":"/"},"opts":{"rooms":["room1"],"except":[],"flags":{}}}}`))
	handle([]byte(`{"uid":"abcdef0123456789","nsp":"/other","type":3,"data":{"packet":{"type":2,"data":["nope"],"nsp":"/other"},"opts":{"rooms":[],"except":[],"flags":{}}}}`))
	handle([]byte(`{"uid":"` + n1.c.UID() + `","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["self"],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{}}}}`))
	// notepack: {uid, nsp, type: 3, data: {packet: {type: 2, data: ["bin", <Buffer 01 02>], nsp: "/"}, opts: {rooms: [], except: [], flags: {}}}}
	mp, err := msgpack.Marshal(map[string]any{
		"uid": "abcdef0123456789", "nsp": "/", "type": 3,
		"data": map[string]any{
			"packet": map[string]any{"type": 2, "data": []any{"bin", []byte{1, 2}}, "nsp": "/"},
			"opts":   map[string]any{"rooms": []any{}, "except": []any{}, "flags": map[string]any{}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	handle(mp)
	wantPackets(t, s, `2["hello",{"a":[1,2]},"x"]`, `51-["bin",{"_placeholder":true,"num":0}]`)
	if !bytes.Equal(s.binary[0], []byte{1, 2}) {
		t.Errorf("attachment %v", s.binary)
	}
}

func TestClusterBroadcastWithAck(t *testing.T) {
	b := newFakeBus(t)
	n1, n2, n3 := b.node("n1", "/", nil), b.node("n2", "/", nil), b.node("n3", "/", nil)
	a := n1.nsp.add("a1")
	c := n2.nsp.add("b1", "b2")
	d := n3.nsp.add("c1")
	var mu sync.Mutex
	var counts []int
	var acks []string
	err := n1.c.BroadcastWithAck(&parser.Packet{Type: parser.Event, Namespace: "/", Event: "q", Args: []any{1}, ID: 7, HasID: true},
		BroadcastOptions{Flags: BroadcastFlags{Timeout: time.Second}},
		func(n int) { mu.Lock(); counts = append(counts, n); mu.Unlock() },
		func(args []any) {
			mu.Lock()
			defer mu.Unlock()
			for _, a := range args {
				switch v := a.(type) {
				case parser.Raw:
					acks = append(acks, string(v.Bytes()))
				default:
					acks = append(acks, fmt.Sprint(v))
				}
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	wantPackets(t, a[0], `27["q",1]`)
	for _, s := range append(c, d...) {
		eventually(t, s.id+" gets the packet", func() bool { return len(s.received()) == 1 })
		if got := s.received()[0]; !strings.HasPrefix(got, "2") || !strings.HasSuffix(got, `["q",1]`) || got == `2["q",1]` {
			t.Errorf("%s got %q, want an EVENT with an ack id", s.id, got)
		}
	}
	a[0].ack(t, "from a1")
	c[0].ack(t, "from b1")
	c[1].ack(t, []byte{9})
	d[0].ack(t, map[string]any{"k": 1})
	eventually(t, "every count and acknowledgement", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(counts) == 3 && len(acks) == 4
	})
	mu.Lock()
	slices.Sort(counts)
	slices.Sort(acks)
	mu.Unlock()
	if !slices.Equal(counts, []int{1, 1, 2}) {
		t.Errorf("client counts %v, want 1, 1 and 2", counts)
	}
	// b2's binary acknowledgement came back as MessagePack (c4 01 09 is bin 8 of one byte).
	if want := []string{`"from b1"`, "from a1", `{"k":1}`, "\xc4\x01\t"}; !slices.Equal(acks, want) {
		t.Errorf("acknowledgements %q, want %q", acks, want)
	}
}

func TestClusterFetchSockets(t *testing.T) {
	b := newFakeBus(t)
	n1, n2, n3 := b.node("n1", "/", nil), b.node("n2", "/", nil), b.node("n3", "/", nil)
	n1.nsp.add("a1")
	c := n2.nsp.add("b1", "b2")
	c[0].data = map[string]any{"user": "bob"}
	c[1].data = map[string]any{"avatar": []byte{1, 2, 3}} // goes as MessagePack
	n2.c.AddAll("b1", []Room{"r"})
	n3.nsp.add("c1")[0].data = "x"
	n3.c.AddAll("c1", []Room{"r"})

	got, err := n1.c.FetchSockets(context.Background(), BroadcastOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]SocketDetails{}
	for _, d := range got {
		byID[d.ID] = d
	}
	if len(got) != 4 || len(byID) != 4 {
		t.Fatalf("FetchSockets = %+v", got)
	}
	if d := byID["b1"]; !slices.Equal(d.Rooms, []Room{"b1", "r"}) || fmt.Sprint(d.Data) != "map[user:bob]" ||
		d.Handshake == nil || d.Handshake.Headers["X-Node"][0] != "n2" {
		t.Errorf("b1 = %+v", d)
	}
	if d := byID["b2"]; fmt.Sprintf("%v", d.Data) != "map[avatar:[1 2 3]]" {
		t.Errorf("b2 data = %#v", d.Data)
	}
	formats := map[Format]int{}
	for _, m := range b.messages() {
		if m.to != "" {
			formats[m.format]++
		}
	}
	if formats[FormatJSON] != 1 || formats[FormatMsgPack] != 1 {
		t.Errorf("response formats %v, want one JSON and one MessagePack", formats)
	}

	got, err = n1.c.FetchSockets(context.Background(), BroadcastOptions{Rooms: []Room{"r"}, Except: []Room{"c1"}})
	if err != nil || len(got) != 1 || got[0].ID != "b1" {
		t.Errorf("FetchSockets(r except c1) = %+v, %v", got, err)
	}
	got, err = n1.c.FetchSockets(context.Background(), BroadcastOptions{Flags: BroadcastFlags{Local: true}})
	if err != nil || len(got) != 1 || got[0].ID != "a1" {
		t.Errorf("FetchSockets(local) = %+v, %v", got, err)
	}
}

func TestClusterRequestTimeout(t *testing.T) {
	b := newFakeBus(t)
	n1, n2, n3 := b.node("n1", "/", nil), b.node("n2", "/", nil), b.node("n3", "/", nil)
	n2.nsp.add("b1")
	n3.nsp.add("c1")
	b.mu.Lock()
	b.deaf[n3.c.UID()] = true
	b.mu.Unlock()

	start := time.Now()
	got, err := n1.c.FetchSockets(context.Background(), BroadcastOptions{Flags: BroadcastFlags{Timeout: 200 * time.Millisecond}})
	var te *ErrTimeoutReached
	if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) || te.Got != 1 || te.Want != 2 {
		t.Fatalf("FetchSockets err = %v", err)
	}
	if err.Error() != "timeout reached: only 1 responses received out of 2" {
		t.Errorf("error text %q", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("FetchSockets returned after %v, want about the timeout", d)
	}
	if len(got) != 1 || got[0].ID != "b1" {
		t.Errorf("partial result %+v", got)
	}

	// ctx ends a request too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = n1.c.FetchSockets(ctx, BroadcastOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FetchSockets with a short ctx: %v", err)
	}

	// Close ends a pending request at once.
	done := make(chan error, 1)
	go func() {
		_, err := n1.c.FetchSockets(context.Background(), BroadcastOptions{Flags: BroadcastFlags{Timeout: time.Minute}})
		done <- err
	}()
	eventually(t, "the request is pending", func() bool {
		n1.c.mu.Lock()
		defer n1.c.mu.Unlock()
		return len(n1.c.requests) == 1
	})
	_ = n1.c.Close()
	select {
	case err := <-done:
		if !errors.As(err, &te) {
			t.Errorf("FetchSockets after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the pending request")
	}
}

func TestClusterRemoteRoomsAndDisconnect(t *testing.T) {
	b := newFakeBus(t)
	n1, n2 := b.node("n1", "/", nil), b.node("n2", "/", nil)
	a := n1.nsp.add("a1")
	c := n2.nsp.add("b1", "b2")
	n2.c.AddAll("b2", []Room{"vip"})

	if err := n1.c.AddSockets(BroadcastOptions{Except: []Room{"vip"}}, []Room{"r1", "r2"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b1 joins r1 and r2", func() bool { return slices.Equal(n2.c.SocketRooms("b1"), []Room{"b1", "r1", "r2"}) })
	if got := n1.c.SocketRooms("a1"); !slices.Equal(got, []Room{"a1", "r1", "r2"}) {
		t.Errorf("a1 rooms %v", got)
	}
	if got := n2.c.SocketRooms("b2"); !slices.Equal(got, []Room{"b2", "vip"}) {
		t.Errorf("b2 rooms %v (excepted)", got)
	}
	if err := n1.c.DelSockets(BroadcastOptions{Rooms: []Room{"r1"}}, []Room{"r2"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b1 leaves r2", func() bool { return slices.Equal(n2.c.SocketRooms("b1"), []Room{"b1", "r1"}) })
	if err := n1.c.DisconnectSockets(BroadcastOptions{Rooms: []Room{"vip"}}, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b2 is disconnected", func() bool {
		c[1].mu.Lock()
		defer c[1].mu.Unlock()
		return c[1].gone && c[1].closed
	})
	b.settle(t)
	if a[0].gone || c[0].gone {
		t.Error("a socket outside vip was disconnected")
	}
	// JSON, with Node's keys.
	var join map[string]any
	_ = json.Unmarshal(b.messages()[0].raw, &join)
	if want := `map[opts:map[except:[vip] flags:map[] rooms:[]] rooms:[r1 r2]]`; fmt.Sprint(join["data"]) != want {
		t.Errorf("SOCKETS_JOIN data %v, want %s", join["data"], want)
	}
}

func TestClusterServerSideEmit(t *testing.T) {
	b := newFakeBus(t)
	n1, n2, n3 := b.node("n1", "/", nil), b.node("n2", "/", nil), b.node("n3", "/", nil)
	got := make(chan string, 4)
	for _, n := range []*fakeNode{n2, n3} {
		n.nsp.onServerSideEmit("hello", func(args []any, reply func([]any)) {
			var s string
			_ = args[0].(parser.Raw).Decode(&s)
			got <- n.nsp.node + ":" + s
			if reply != nil {
				// A handler may use the bus while it runs.
				socks, err := n.c.FetchSockets(context.Background(), BroadcastOptions{})
				reply([]any{fmt.Sprintf("%s saw %d sockets (%v)", n.nsp.node, len(socks), err), "ignored"})
			}
		})
	}
	if err := n1.c.ServerSideEmit(context.Background(), "hello", []any{"world"}, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case s := <-got:
			if !strings.HasSuffix(s, ":world") {
				t.Errorf("handler got %q", s)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("server-side event not received")
		}
	}
	var mu sync.Mutex
	var replies []string
	err := n1.c.ServerSideEmit(context.Background(), "hello", []any{"again"}, func(a []any) {
		var s string
		if len(a) != 1 || a[0].(parser.Raw).Decode(&s) != nil {
			t.Errorf("reply %v", a)
		}
		mu.Lock()
		replies = append(replies, s)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(replies)
	if want := []string{"n2 saw 0 sockets (<nil>)", "n3 saw 0 sockets (<nil>)"}; !slices.Equal(replies, want) {
		t.Errorf("replies %q, want %q", replies, want)
	}
}

// A bus outage does not stop local delivery; requests end with
// ErrTimeoutReached; the server count is the last one known.
func TestClusterBusDown(t *testing.T) {
	b := newFakeBus(t)
	n1, _ := b.node("n1", "/", nil), b.node("n2", "/", nil)
	s := n1.nsp.add("a1")[0]
	if n, err := n1.c.ServerCount(context.Background()); n != 2 || err != nil {
		t.Fatalf("ServerCount = %d, %v", n, err)
	}
	b.setDown(true)
	if err := n1.c.Broadcast(event("e"), BroadcastOptions{}); err != nil {
		t.Errorf("Broadcast: %v", err)
	}
	wantPackets(t, s, `2["e"]`)
	if n, err := n1.c.ServerCount(context.Background()); n != 2 || err != nil {
		t.Errorf("ServerCount while down = %d, %v, want the last known 2", n, err)
	}
	start := time.Now()
	got, err := n1.c.FetchSockets(context.Background(), BroadcastOptions{})
	if !errors.Is(err, ErrTimeout) || len(got) != 1 || time.Since(start) > time.Second {
		t.Errorf("FetchSockets while down = %v, %v after %v", got, err, time.Since(start))
	}
	if err := n1.c.ServerSideEmit(context.Background(), "x", nil, func([]any) {}); !errors.Is(err, ErrTimeout) {
		t.Errorf("ServerSideEmit with ack while down: %v", err)
	}
	b.setDown(false)
	if got, err := n1.c.FetchSockets(context.Background(), BroadcastOptions{}); err != nil || len(got) != 1 {
		t.Errorf("FetchSockets after the outage = %v, %v", got, err)
	}
}

// With BusOffsets and recovery, broadcasts carry the bus offset, locally
// and remotely; volatile ones and those with an ack do not.
func TestClusterBusOffsets(t *testing.T) {
	b := newFakeBus(t)
	opts := &ClusterOptions{BusOffsets: true, RequestTimeout: time.Second}
	n1 := &fakeNode{bus: b, nsp: newCNamespace("/", "n1"), inbox: make(chan delivery, 1024)}
	n2 := &fakeNode{bus: b, nsp: newCNamespace("/", "n2"), inbox: make(chan delivery, 1024)}
	for _, n := range []*fakeNode{n1, n2} {
		n.nsp.recovery = &RecoveryConfig{MaxDisconnectionDuration: time.Minute, MaxPackets: 100}
		b.attach(n, opts)
	}
	a := n1.nsp.add("a")[0]
	c := n2.nsp.add("b")[0]
	_ = n1.c.Broadcast(event("e", 1), BroadcastOptions{})
	_ = n1.c.Broadcast(event("v"), BroadcastOptions{Flags: BroadcastFlags{Volatile: true}})
	wantPackets(t, c, `2["e",1,"1-0"]`, `2["v"]`)
	_ = n2.c.Broadcast(event("e", 2), BroadcastOptions{})
	wantPackets(t, a, `2["e",1,"1-0"]`, `2["v"]`, `2["e",2,"3-0"]`)
	wantPackets(t, c, `2["e",1,"1-0"]`, `2["v"]`, `2["e",2,"3-0"]`)
	// The published packet itself has no offset.
	if raw := string(b.messages()[0].raw); !strings.Contains(raw, `"data":["e",1]`) {
		t.Errorf("published %s", raw)
	}
	// The bus keeps the sessions: the in-memory store is off.
	n1.c.PersistSession(&Session{SID: "a", PID: "p"})
	if s, _ := n1.c.RestoreSession("p", new(string)); s != nil {
		t.Errorf("the in-memory store kept a session: %+v", s)
	}
}

// OnMessageSeen runs seen in the section that delivers the broadcast, so
// Exclusive sees either both or neither.
func TestClusterOnMessageSeenIsExclusive(t *testing.T) {
	nsp := newCNamespace("/", "n1")
	nsp.recovery = &RecoveryConfig{MaxDisconnectionDuration: time.Minute, MaxPackets: 100}
	bus := &nopBus{}
	c := NewCluster(nsp, bus, &ClusterOptions{BusOffsets: true})
	nsp.adapter = c
	s := nsp.add("a")[0]
	raw := []byte(`{"uid":"other","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["e"],"nsp":"/"},"opts":{"rooms":[],"except":[],"flags":{}}}}`)
	var last atomic.Value
	last.Store("")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 200; i++ {
			m, _ := DecodeMessage(raw)
			id := strconv.Itoa(i) + "-0"
			c.OnMessageSeen(m, id, func() { last.Store(id) })
		}
	}()
	for range 50 {
		c.Exclusive(func() {
			n := len(s.received())
			if l := last.Load().(string); l != "" && l != strconv.Itoa(n)+"-0" || l == "" && n != 0 {
				t.Errorf("seen %q while %d packets were delivered", l, n)
			}
		})
	}
	wg.Wait()
	if n := len(s.received()); n != 200 {
		t.Fatalf("%d packets delivered", n)
	}
	if got := s.received()[199]; got != `2["e","200-0"]` {
		t.Errorf("last packet %q", got)
	}
}

type nopBus struct{}

func (nopBus) Publish(context.Context, *ClusterMessage) (string, error)       { return "", nil }
func (nopBus) PublishResponse(context.Context, string, *ClusterMessage) error { return nil }
func (nopBus) ServerCount(context.Context) (int, error)                       { return 1, nil }

func TestClusterMessageEncoding(t *testing.T) {
	yes := true
	two := 2
	for _, tc := range []struct {
		name string
		m    ClusterMessage
		json string
	}{
		{"broadcast", ClusterMessage{UID: "u", Nsp: "/", Type: MsgBroadcast, Data: &MessageData{
			Packet: &WirePacket{Type: parser.Event, Data: []any{"e", 1}, Nsp: "/"},
			Opts:   EncodeOptions(BroadcastOptions{Rooms: []Room{"r"}, Flags: BroadcastFlags{Volatile: true, NoCompress: true, Timeout: 1500 * time.Millisecond}}),
		}}, `{"uid":"u","nsp":"/","type":3,"data":{"opts":{"rooms":["r"],"except":[],"flags":{"volatile":true,"compress":false,"timeout":1500}},"packet":{"type":2,"data":["e",1],"nsp":"/"}}}`},
		{"broadcast with ack", ClusterMessage{UID: "u", Nsp: "/", Type: MsgBroadcast, Data: &MessageData{
			RequestID: "rid", Packet: &WirePacket{Type: parser.Event, Data: []any{"e"}, Nsp: "/"}, Opts: EncodeOptions(BroadcastOptions{}),
		}}, `{"uid":"u","nsp":"/","type":3,"data":{"requestId":"rid","opts":{"rooms":[],"except":[],"flags":{}},"packet":{"type":2,"data":["e"],"nsp":"/"}}}`},
		{"join", ClusterMessage{UID: "u", Nsp: "/", Type: MsgSocketsJoin, Data: &MessageData{Opts: EncodeOptions(BroadcastOptions{}), Rooms: []Room{"a"}}},
			`{"uid":"u","nsp":"/","type":4,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["a"]}}`},
		{"disconnect", ClusterMessage{UID: "u", Nsp: "/", Type: MsgDisconnectSockets, Data: &MessageData{Opts: EncodeOptions(BroadcastOptions{}), Close: &yes}},
			`{"uid":"u","nsp":"/","type":6,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"close":true}}`},
		{"fetch", ClusterMessage{UID: "u", Nsp: "/", Type: MsgFetchSockets, Data: &MessageData{RequestID: "rid", Opts: EncodeOptions(BroadcastOptions{})}},
			`{"uid":"u","nsp":"/","type":7,"data":{"requestId":"rid","opts":{"rooms":[],"except":[],"flags":{}}}}`},
		{"fetch response", ClusterMessage{UID: "u", Nsp: "/", Type: MsgFetchSocketsResponse, Data: &MessageData{RequestID: "rid", Sockets: []SocketDetails{}}},
			`{"uid":"u","nsp":"/","type":8,"data":{"requestId":"rid","sockets":[]}}`},
		{"server-side emit", ClusterMessage{UID: "u", Nsp: "/", Type: MsgServerSideEmit, Data: &MessageData{Packet: []any{"e", "x"}}},
			`{"uid":"u","nsp":"/","type":9,"data":{"packet":["e","x"]}}`},
		{"server-side emit response", ClusterMessage{UID: "u", Nsp: "/", Type: MsgServerSideEmitResponse, Data: &MessageData{RequestID: "rid", Packet: "ok"}},
			`{"uid":"u","nsp":"/","type":10,"data":{"requestId":"rid","packet":"ok"}}`},
		{"client count", ClusterMessage{UID: "u", Nsp: "/", Type: MsgBroadcastClientCount, Data: &MessageData{RequestID: "rid", ClientCount: &two}},
			`{"uid":"u","nsp":"/","type":11,"data":{"requestId":"rid","clientCount":2}}`},
		{"ack", ClusterMessage{UID: "u", Nsp: "/", Type: MsgBroadcastAck, Data: &MessageData{RequestID: "rid", Packet: map[string]any{"a": 1}}},
			`{"uid":"u","nsp":"/","type":12,"data":{"requestId":"rid","packet":{"a":1}}}`},
		{"ack without value", ClusterMessage{UID: "u", Nsp: "/", Type: MsgBroadcastAck, Data: &MessageData{RequestID: "rid"}},
			`{"uid":"u","nsp":"/","type":12,"data":{"requestId":"rid"}}`},
		{"heartbeat", ClusterMessage{UID: "u", Nsp: "/", Type: MsgHeartbeat}, `{"uid":"u","nsp":"/","type":2}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := Marshal(&tc.m, FormatJSON)
			if err != nil || string(raw) != tc.json {
				t.Fatalf("JSON\n got %s (%v)\nwant %s", raw, err, tc.json)
			}
			// Both formats decode to the same message.
			mp, err := Marshal(&tc.m, FormatMsgPack)
			if err != nil || FormatOf(mp) != FormatMsgPack {
				t.Fatal(err)
			}
			for _, enc := range [][]byte{raw, mp} {
				m, err := DecodeMessage(enc)
				if err != nil {
					t.Fatalf("decode %q: %v", enc, err)
				}
				if m.UID != "u" || m.Nsp != "/" || m.Type != tc.m.Type || (m.Data == nil) != (tc.m.Data == nil) {
					t.Fatalf("decoded %+v", m)
				}
				again, err := Marshal(m, FormatJSON)
				if err != nil || string(again) != tc.json {
					t.Errorf("decoded then encoded\n got %s (%v)\nwant %s", again, err, tc.json)
				}
			}
		})
	}
}

func TestHasBinary(t *testing.T) {
	type custom struct{ A int }
	jsonRaw := parser.NewRaw(parser.Default, []byte(`"x"`), nil)
	binRaw := parser.NewRaw(parser.Default, []byte(`{"_placeholder":true,"num":0}`), [][]byte{{1}})
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{nil, false},
		{"s", false},
		{[]any{1, "a", map[string]any{"k": []any{true}}}, false},
		{[]any{1, map[string]any{"k": []byte{1}}}, true},
		{jsonRaw, false},
		{binRaw, true},
		{custom{}, true}, // not looked into: MessagePack, which every node reads
		{&MessageData{Packet: &WirePacket{Data: []any{"e", 1}}}, false},
		{&MessageData{Packet: &WirePacket{Data: []any{"e", []byte{}}}}, true},
		{&MessageData{Sockets: []SocketDetails{{ID: "a", Data: map[string]any{"k": "v"}}}}, false},
		{&MessageData{Sockets: []SocketDetails{{ID: "a", Data: map[string]any{"k": []byte{0}}}}}, true},
		{(*MessageData)(nil), false},
	} {
		if got := HasBinary(tc.v); got != tc.want {
			t.Errorf("HasBinary(%#v) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestDecodeMessageRejects(t *testing.T) {
	for _, raw := range []string{
		``,
		`{`,
		`{"uid":"u","nsp":"/","type":3,"data":{"packet":{"type":0,"data":["e"]}}}`,
		`{"uid":"u","nsp":"/","type":3,"data":{"packet":{"type":2}}}`,
		`{"uid":"u","nsp":"/","type":9,"data":{"packet":{"a":1}}}`,
		"\x93\x01\x02",
		"\xc1",
	} {
		if m, err := DecodeMessage([]byte(raw)); err == nil {
			if m.Type == MsgBroadcast || m.Type == MsgServerSideEmit {
				t.Errorf("DecodeMessage(%q) = %+v, want an error", raw, m)
			}
		} else if !errors.Is(err, ErrBadMessage) {
			t.Errorf("DecodeMessage(%q): %v does not wrap ErrBadMessage", raw, err)
		}
	}
	// An event without a name is dropped by OnMessage, not delivered.
	b := newFakeBus(t)
	n := b.node("n1", "/", nil)
	s := n.nsp.add("a")[0]
	m, err := DecodeMessage([]byte(`{"uid":"u","nsp":"/","type":3,"data":{"packet":{"type":2,"data":[]},"opts":{"rooms":[],"except":[],"flags":{}}}}`))
	if err == nil {
		n.c.OnMessage(m, "")
	}
	m, err = DecodeMessage([]byte(`{"uid":"u","nsp":"/","type":9,"data":{"packet":[]}}`))
	if err == nil {
		n.c.OnMessage(m, "")
	}
	if got := s.received(); len(got) != 0 {
		t.Errorf("received %q", got)
	}
}
