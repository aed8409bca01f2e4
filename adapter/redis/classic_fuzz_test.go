package redis

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// fakeSocket is a local socket that acknowledges every packet at once.
type fakeSocket struct {
	id string
	mu sync.Mutex
	n  int
}

func (s *fakeSocket) ID() string { return s.id }
func (s *fakeSocket) Send(p *parser.Packet, msgs []parser.Message, flags adapter.BroadcastFlags) {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}
func (s *fakeSocket) ExpectAck(id uint64, fn func(args []any)) { fn([]any{"ok", 1}) }
func (s *fakeSocket) Disconnect(bool)                          {}
func (s *fakeSocket) Details() adapter.SocketDetails {
	return adapter.SocketDetails{ID: s.id, Handshake: &adapter.Handshake{Auth: map[string]any{"a": 1}}, Rooms: []string{s.id}, Data: map[string]any{"b": []byte{1}}}
}

// fakeNamespace is "/" with two sockets.
type fakeNamespace struct {
	sockets []*fakeSocket
	ids     uint64
	mu      sync.Mutex
	events  int
	a       adapter.Adapter
}

func (n *fakeNamespace) Name() string                      { return "/" }
func (n *fakeNamespace) Codec() parser.Codec               { return parser.Default }
func (n *fakeNamespace) Recovery() *adapter.RecoveryConfig { return nil }
func (n *fakeNamespace) LocalSocket(id string) (adapter.Socket, bool) {
	for _, s := range n.sockets {
		if s.id == id {
			return s, true
		}
	}
	return nil, false
}
func (n *fakeNamespace) LocalSockets() []adapter.Socket {
	out := make([]adapter.Socket, len(n.sockets))
	for i, s := range n.sockets {
		out[i] = s
	}
	return out
}
func (n *fakeNamespace) Join(id string, rooms []string) { n.a.AddAll(id, rooms) }
func (n *fakeNamespace) Leave(id string, room string)   { n.a.Del(id, room) }
func (n *fakeNamespace) HandleServerSideEmit(event string, args []any, reply func([]any)) {
	n.mu.Lock()
	n.events++
	n.mu.Unlock()
	if reply != nil {
		reply(args)
	}
}
func (n *fakeNamespace) NextAckID() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ids++
	return n.ids
}

// fakeDriver keeps what is published; NUMSUB says 2.
type fakeDriver struct {
	mu        sync.Mutex
	published []Message
	fn        func(Message)
}

func (d *fakeDriver) Publish(_ context.Context, channel string, payload []byte, _ bool) error {
	d.mu.Lock()
	if len(d.published) < 1000 {
		d.published = append(d.published, Message{Channel: channel, Payload: payload})
	}
	d.mu.Unlock()
	return nil
}
func (d *fakeDriver) NumSub(context.Context, string, bool) (int, error) { return 2, nil }
func (d *fakeDriver) Subscribe(_ context.Context, _ bool, fn func(Message), _ func(error)) (Subscription, error) {
	d.fn = fn
	return fakeSub{}, nil
}
func (d *fakeDriver) XAdd(context.Context, string, int64, []string) (string, error) { return "", nil }
func (d *fakeDriver) XRead(context.Context, string, string, int64, time.Duration) ([]StreamEntry, error) {
	return nil, nil
}
func (d *fakeDriver) XRange(context.Context, string, string, string) ([]StreamEntry, error) {
	return nil, nil
}
func (d *fakeDriver) Set(context.Context, string, string, time.Duration) error { return nil }
func (d *fakeDriver) GetDel(context.Context, string) (string, bool, error)     { return "", false, nil }

type fakeSub struct{}

func (fakeSub) Subscribe(context.Context, ...string) error   { return nil }
func (fakeSub) PSubscribe(context.Context, ...string) error  { return nil }
func (fakeSub) Unsubscribe(context.Context, ...string) error { return nil }
func (fakeSub) Close() error                                 { return nil }

// classicSeeds are messages of each kind, as Node.js writes them: the
// channel kind (0 broadcast, 1 room broadcast, 2 request, 3 response)
// and the payload.
func classicSeeds(t testing.TB) []struct {
	kind    byte
	payload []byte
} {
	mustMP := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	packet := map[string]any{"type": 2, "data": []any{"ev", "x", []byte{1, 2}}, "nsp": "/"}
	opts := map[string]any{"rooms": []any{}, "except": []any{}, "flags": map[string]any{}}
	return []struct {
		kind    byte
		payload []byte
	}{
		{0, mustMP([]any{"emitter", packet, opts})},
		{1, mustMP([]any{"xyz123", map[string]any{"type": 2, "data": []any{"ev"}}, map[string]any{"rooms": []any{"s1"}}})},
		{2, []byte(`{"uid":"emitter","type":2,"opts":{"rooms":[],"except":["s2"]},"rooms":["a","b"]}`)},
		{2, []byte(`{"uid":"x","requestId":"r1","type":2,"sid":"s1","room":"legacy"}`)},
		{2, []byte(`{"uid":"x","requestId":"r2","type":0,"rooms":["a"]}`)},
		{2, []byte(`{"uid":"x","requestId":"r3","type":1}`)},
		{2, []byte(`{"uid":"x","type":4,"opts":{"rooms":["a"],"except":[]},"close":true}`)},
		{2, []byte(`{"uid":"x","requestId":"r4","type":5,"opts":{"rooms":[],"except":[]}}`)},
		{2, []byte(`{"uid":"x","requestId":"r5","type":6,"data":["ev",1,{"a":[2]}]}`)},
		{2, mustMP(map[string]any{"uid": "x", "requestId": "r6", "type": 7, "packet": packet, "opts": opts})},
		{3, []byte(`{"requestId":"r7","sockets":[{"id":"s","handshake":{"headers":{"a":"b"},"query":{"q":["1"]}},"rooms":["s"],"data":null}]}`)},
		{3, []byte(`{"type":8,"requestId":"r8","clientCount":3}`)},
		{3, mustMP(map[string]any{"type": 9, "requestId": "r9", "packet": []byte{1}})},
		{3, []byte(`{"type":6,"requestId":"r10","data":"x"}`)},
	}
}

// FuzzClassicMessage feeds arbitrary messages to every channel of a
// classic adapter: nothing may panic, and what it answers must decode.
func FuzzClassicMessage(f *testing.F) {
	for _, s := range classicSeeds(f) {
		f.Add(s.kind, s.payload)
	}
	d := &fakeDriver{}
	nsp := &fakeNamespace{sockets: []*fakeSocket{{id: "s1"}, {id: "s2"}}}
	a := NewAdapter(d, &Options{RequestTimeout: time.Second})(nsp).(*ClassicAdapter)
	nsp.a = a
	if err := a.Init(); err != nil {
		f.Fatal(err)
	}
	a.AddAll("s1", []string{"a", "b"})
	// Requests of this node waiting for answers, so that responses are
	// looked at too.
	a.mu.Lock()
	for _, id := range []string{"r7", "r10"} {
		typ := classicRemoteFetch
		if id == "r10" {
			typ = classicServerSideEmit
		}
		a.requests[id] = &classicPending{typ: typ, want: 1 << 30, done: make(chan struct{}), onReply: func([]any) {}}
	}
	a.acks["r8"] = &classicAckRequest{clientCount: func(int) {}, ack: func([]any) {}, timer: time.NewTimer(time.Hour)}
	a.acks["r9"] = a.acks["r8"]
	a.mu.Unlock()
	f.Cleanup(func() { _ = a.Close() })

	channels := []string{"socket.io#/#", "socket.io#/#a#", "socket.io-request#/#", "socket.io-response#/#"}
	f.Fuzz(func(t *testing.T, kind byte, payload []byte) {
		ch := channels[int(kind)%len(channels)]
		m := Message{Channel: ch, Payload: payload}
		if kind%4 < 2 {
			m.Pattern = "socket.io#/#*"
		}
		d.fn(m)
		a.events.close() // wait for the server-side events
		a.events.mu.Lock()
		a.events.closed = false
		a.events.mu.Unlock()
		a.f.pub.stop(time.Second) // wait for what is published
		a.f.pub.start()

		a.mu.Lock() // forget what the answers brought
		for _, r := range a.requests {
			r.got, r.sockets, r.rooms = 0, nil, nil
		}
		a.mu.Unlock()

		d.mu.Lock()
		out := d.published
		d.published = nil
		d.mu.Unlock()
		for _, m := range out {
			var err error
			switch {
			case m.Channel == "socket.io-response#/#":
				_, err = classicDecodeResponse(m.Payload)
			case adapter.FormatOf(m.Payload) == adapter.FormatJSON:
				err = json.Unmarshal(m.Payload, new(any))
			default:
				err = msgpack.Unmarshal(m.Payload, new(any))
			}
			if err != nil {
				t.Errorf("published on %s a message that does not decode: %v\n%q", m.Channel, err, m.Payload)
			}
		}
	})
}

// TestClassicDecodeSeeds checks that the seeds decode, so that the fuzz
// target starts from messages that go deep.
func TestClassicDecodeSeeds(t *testing.T) {
	for i, s := range classicSeeds(t) {
		var err error
		switch s.kind {
		case 0, 1:
			var p *parser.Packet
			_, p, _, err = classicDecodeBroadcast(s.payload)
			if err == nil && p == nil {
				t.Errorf("seed %d: no packet", i)
			}
		case 2:
			var r *classicRequest
			r, err = classicDecodeRequest(s.payload)
			if err == nil && r.Type == nil {
				t.Errorf("seed %d: no type", i)
			}
		case 3:
			_, err = classicDecodeResponse(s.payload)
		}
		if err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
}

func TestClassicUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := classicUID()
		if len(u) != 6 {
			t.Fatalf("uid %q", u)
		}
		for _, c := range u {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				t.Fatalf("uid %q", u)
			}
		}
		seen[u] = true
	}
	if len(seen) < 990 {
		t.Errorf("%d distinct uids of 1000", len(seen))
	}
}

func TestClassicUnique(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{nil, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a", "b", "a", "c", "b"}, []string{"a", "b", "c"}},
	} {
		got := classicUnique(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("%v: got %v", tc.in, got)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%v: got %v", tc.in, got)
			}
		}
	}
}
