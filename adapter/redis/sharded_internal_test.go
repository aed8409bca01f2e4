package redis

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
)

// --- fakes: a driver that records, a namespace of fake sockets ----------------

type shDriver struct {
	mu        sync.Mutex
	published []shPub
	subs      []string // "+ch" / "-ch", in order
	entries   []StreamEntry
	failSub   bool
	numSub    int
}

type shPub struct {
	channel string
	payload []byte
	sharded bool
}

func (d *shDriver) Publish(_ context.Context, channel string, payload []byte, sharded bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.published = append(d.published, shPub{channel, append([]byte(nil), payload...), sharded})
	return nil
}

func (d *shDriver) NumSub(context.Context, string, bool) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return max(d.numSub, 1), nil
}

func (d *shDriver) Subscribe(_ context.Context, _ bool, _ func(Message), _ func(error)) (Subscription, error) {
	if d.failSub {
		return nil, errors.New("no subscription")
	}
	return shSub{d}, nil
}

func (d *shDriver) XAdd(_ context.Context, stream string, _ int64, fields []string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := StreamEntry{ID: strconv.Itoa(len(d.entries)+1) + "-0", Fields: map[string]string{}}
	for i := 0; i+1 < len(fields); i += 2 {
		e.Fields[fields[i]] = fields[i+1]
	}
	d.entries = append(d.entries, e)
	return e.ID, nil
}

func (d *shDriver) XRead(ctx context.Context, _, _ string, _ int64, _ time.Duration) ([]StreamEntry, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (d *shDriver) XRange(context.Context, string, string, string) ([]StreamEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.entries), nil
}

func (d *shDriver) Set(context.Context, string, string, time.Duration) error { return nil }
func (d *shDriver) GetDel(context.Context, string) (string, bool, error) {
	return "", false, nil
}

type shSub struct{ d *shDriver }

func (s shSub) Subscribe(_ context.Context, channels ...string) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for _, c := range channels {
		s.d.subs = append(s.d.subs, "+"+c)
	}
	return nil
}

func (s shSub) PSubscribe(context.Context, ...string) error { return nil }

func (s shSub) Unsubscribe(_ context.Context, channels ...string) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for _, c := range channels {
		s.d.subs = append(s.d.subs, "-"+c)
	}
	return nil
}

func (s shSub) Close() error { return nil }

func (d *shDriver) subscriptions() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.subs)
}

type shSocket struct {
	id string
	n  atomic.Int64
}

func (s *shSocket) ID() adapter.SocketID { return s.id }
func (s *shSocket) Send(*parser.Packet, []parser.Message, adapter.BroadcastFlags) {
	s.n.Add(1)
}
func (s *shSocket) ExpectAck(uint64, func([]any)) {}
func (s *shSocket) Disconnect(bool)               {}
func (s *shSocket) Details() adapter.SocketDetails {
	return adapter.SocketDetails{ID: s.id, Data: map[string]any{"k": []byte{1}}}
}

type shNsp struct {
	name     string
	sockets  map[string]*shSocket
	a        adapter.Adapter
	recovery *adapter.RecoveryConfig
	ids      atomic.Uint64
}

func newShNsp(name string, ids ...string) *shNsp {
	n := &shNsp{name: name, sockets: map[string]*shSocket{}}
	for _, id := range ids {
		n.sockets[id] = &shSocket{id: id}
	}
	return n
}

func (n *shNsp) Name() string        { return n.name }
func (n *shNsp) Codec() parser.Codec { return parser.Default }
func (n *shNsp) LocalSocket(id adapter.SocketID) (adapter.Socket, bool) {
	s, ok := n.sockets[id]
	return s, ok
}
func (n *shNsp) LocalSockets() []adapter.Socket {
	out := []adapter.Socket{}
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}
func (n *shNsp) Recovery() *adapter.RecoveryConfig               { return n.recovery }
func (n *shNsp) Join(id adapter.SocketID, rooms []adapter.Room)  { n.a.AddAll(id, rooms) }
func (n *shNsp) Leave(id adapter.SocketID, room adapter.Room)    { n.a.Del(id, room) }
func (n *shNsp) HandleServerSideEmit(string, []any, func([]any)) {}
func (n *shNsp) NextAckID() uint64                               { return n.ids.Add(1) }

// --- unit tests -------------------------------------------------------------------

func TestLooksLikeSocketID(t *testing.T) {
	for _, tc := range []struct {
		room string
		want bool
	}{
		{"AAAAAAAAAAAAAAAAAAAA", true},
		{"AAAAAAAAAAAAAAAAAAA", false},
		{"AAAAAAAAAAAAAAAAAAAAA", false},
		{strings.Repeat("é", 20), true}, // 20 UTF-16 code units (40 bytes)
		{strings.Repeat("😀", 10), true}, // 10 surrogate pairs
		{strings.Repeat("😀", 10) + "a", false},
		{"", false},
	} {
		if got := looksLikeSocketID(tc.room); got != tc.want {
			t.Errorf("looksLikeSocketID(%q) = %v", tc.room, got)
		}
	}
}

func TestShardedPublishChannel(t *testing.T) {
	bcast := func(rooms []string, req string) *adapter.ClusterMessage {
		return &adapter.ClusterMessage{UID: "u", Nsp: "/", Type: adapter.MsgBroadcast, Data: &adapter.MessageData{
			RequestID: req, Opts: adapter.EncodeOptions(adapter.BroadcastOptions{Rooms: rooms}),
		}}
	}
	sid := "AAAAAAAAAAAAAAAAAAAA"
	for _, tc := range []struct {
		mode SubscriptionMode
		m    *adapter.ClusterMessage
		want string
	}{
		{Dynamic, bcast([]string{"r"}, ""), "p#/#r#"},
		{Dynamic, bcast([]string{sid}, ""), "p#/#"},
		{Dynamic, bcast([]string{"r", "s"}, ""), "p#/#"},
		{Dynamic, bcast(nil, ""), "p#/#"},
		{Dynamic, bcast([]string{"r"}, "req"), "p#/#"}, // with ack: every node counts
		{DynamicPrivate, bcast([]string{sid}, ""), "p#/#" + sid + "#"},
		{Static, bcast([]string{"r"}, ""), "p#/#"},
		{Dynamic, &adapter.ClusterMessage{Type: adapter.MsgSocketsJoin, Data: &adapter.MessageData{Opts: adapter.EncodeOptions(adapter.BroadcastOptions{Rooms: []string{"r"}})}}, "p#/#"},
	} {
		f := NewShardedAdapter(&shDriver{}, &ShardedOptions{ChannelPrefix: "p", SubscriptionMode: tc.mode})
		a := f(newShNsp("/")).(*ShardedAdapter)
		if got := a.publishChannel(tc.m); got != tc.want {
			t.Errorf("%v: channel of %+v = %q, want %q", tc.mode, tc.m.Data.Opts, got, tc.want)
		}
	}
}

// Room channels follow room creation and deletion, once per room.
func TestShardedRoomSubscriptions(t *testing.T) {
	d := &shDriver{}
	nsp := newShNsp("/", "s1xxxxxxxxxxxxxxxxxx", "s2xxxxxxxxxxxxxxxxxx")
	a := NewShardedAdapter(d, nil)(nsp).(*ShardedAdapter)
	nsp.a = a
	if err := a.Init(); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	flush := func() {
		t.Helper()
		if err := a.hub.flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	flush()
	a.AddAll("s1xxxxxxxxxxxxxxxxxx", []string{"r1", "r2", "s1xxxxxxxxxxxxxxxxxx", "s2xxxxxxxxxxxxxxxxxx"})
	a.AddAll("s2xxxxxxxxxxxxxxxxxx", []string{"r1"})
	a.AddAll("s2xxxxxxxxxxxxxxxxxx", []string{"r1"}) // again: no change
	flush()
	a.Del("s1xxxxxxxxxxxxxxxxxx", "r1") // r1 keeps s2
	a.Del("s1xxxxxxxxxxxxxxxxxx", "nowhere")
	flush()
	a.DelAll("s2xxxxxxxxxxxxxxxxxx") // r1 goes
	flush()
	a.DelAll("s1xxxxxxxxxxxxxxxxxx") // r2 goes
	flush()
	want := []string{
		"+socket.io#/#", "+socket.io#/#" + a.UID() + "#",
		"+socket.io#/#r1#", "+socket.io#/#r2#",
		"-socket.io#/#r1#",
		"-socket.io#/#r2#",
	}
	// The first batch is sorted: compare sets for it.
	got := d.subscriptions()
	if len(got) != len(want) || !shSameSet(got[:2], want[:2]) || !slices.Equal(got[2:], want[2:]) {
		t.Errorf("subscriptions\n %q\nwant\n %q", got, want)
	}
	if len(a.members) != 0 || len(a.subs) != 0 {
		t.Errorf("left %v %v", a.members, a.subs)
	}
}

func shSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A room created and deleted before the worker runs costs no command.
func TestSubHubCoalesces(t *testing.T) {
	d := &shDriver{}
	h := newSubHub(d, true, time.Second, slog.New(slog.DiscardHandler), nil)
	defer h.close()
	h.mu.Lock() // hold the worker off
	for range 3 {
		h.routes["x"] = map[any]func(string, []byte){1: nil}
		h.dirty["x"] = true
		delete(h.routes, "x")
	}
	h.mu.Unlock()
	h.add(1, func(string, []byte) {}, "y")
	if err := h.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := d.subscriptions(); !slices.Equal(got, []string{"+y"}) {
		t.Errorf("subscriptions %q", got)
	}
}

func TestStateReporter(t *testing.T) {
	var calls []string
	r := newStateReporter(slog.New(slog.DiscardHandler), func(up bool, err error) { calls = append(calls, strconv.FormatBool(up)) })
	boom := errors.New("boom")
	r.set("a", nil) // up already: nothing
	r.set("a", boom)
	r.set("b", boom)
	r.set("a", boom)
	r.set("a", nil) // b still down
	r.set("b", nil)
	r.set("b", nil)
	if !slices.Equal(calls, []string{"false", "true"}) {
		t.Errorf("OnRedisState calls %v", calls)
	}
}

// FuzzShardedMessage feeds what a channel may carry to a sharded
// adapter: nothing panics, and what decodes encodes again.
func FuzzShardedMessage(f *testing.F) {
	for _, s := range []string{
		`{"uid":"x","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["e",1,{"a":[true,null]}],"nsp":"/"},"opts":{"rooms":["r"],"except":["s"],"flags":{"volatile":true,"timeout":5}}}}`,
		`{"uid":"x","nsp":"/","type":3,"data":{"requestId":"q","packet":{"type":2,"data":["e"],"nsp":"/","id":4},"opts":{"rooms":[],"except":[],"flags":{}}}}`,
		`{"uid":"x","nsp":"/","type":4,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["a","b"]}}`,
		`{"uid":"x","nsp":"/","type":5,"data":{"opts":{"rooms":["a"],"except":[],"flags":{}},"rooms":["a"]}}`,
		`{"uid":"x","nsp":"/","type":6,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"close":true}}`,
		`{"uid":"x","nsp":"/","type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"q"}}`,
		`{"uid":"x","nsp":"/","type":8,"data":{"requestId":"q","sockets":[{"id":"a","handshake":{"headers":{"a":"b"},"query":{"x":["1","2"]},"auth":{}},"rooms":["a"],"data":{}}]}}`,
		`{"uid":"x","nsp":"/","type":9,"data":{"packet":["ev",1,"2"],"requestId":"q"}}`,
		`{"uid":"x","nsp":"/","type":10,"data":{"requestId":"q","packet":"ok"}}`,
		`{"uid":"x","nsp":"/","type":11,"data":{"requestId":"q","clientCount":3}}`,
		`{"uid":"x","nsp":"/","type":12,"data":{"requestId":"q","packet":[1]}}`,
		`{"uid":"x","nsp":"/","type":13}`,
		"\x84\xa3uid\xa1x\xa3nsp\xa1/\xa4type\x03\xa4data\x82\xa6packet\x83\xa4type\x02\xa4data\x92\xa2mp\xc4\x01\x01\xa3nsp\xa1/\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80",
		"\x83\xa3uid\xa1x\xa3nsp\xa1/\xa4type\x09",
		"\xc1", "{", "",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, payload []byte, toResponseChannel bool) {
		d := &shDriver{}
		nsp := newShNsp("/", "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb")
		a := NewShardedAdapter(d, &ShardedOptions{RequestTimeout: 100 * time.Millisecond})(nsp).(*ShardedAdapter)
		nsp.a = a
		ch := a.channel
		if toResponseChannel {
			ch = a.response
		}
		a.onRaw(ch, payload)
		_ = a.Close()

		m, err := adapter.DecodeMessage(payload)
		if err != nil {
			return
		}
		again, err := shardedEncode(m)
		if err != nil {
			return // e.g. MessagePack map keys JSON cannot write
		}
		m2, err := adapter.DecodeMessage(again)
		if err != nil {
			t.Fatalf("%q re-encoded as %q does not decode: %v", payload, again, err)
		}
		if !utf8.ValidString(m.UID) || !utf8.ValidString(m.Nsp) {
			return // JSON writes U+FFFD for invalid bytes
		}
		if m2.UID != m.UID || m2.Nsp != m.Nsp || m2.Type != m.Type {
			t.Fatalf("%q: decoded %+v then %+v", payload, m, m2)
		}
	})
}
