package adapter

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio/parser"
)

// fakeSocket records what it is sent.
type fakeSocket struct {
	id   string
	mu   sync.Mutex
	msgs [][]parser.Message
}

func (s *fakeSocket) ID() SocketID { return s.id }
func (s *fakeSocket) Send(_ *parser.Packet, msgs []parser.Message, _ BroadcastFlags) {
	s.mu.Lock()
	s.msgs = append(s.msgs, msgs)
	s.mu.Unlock()
}
func (s *fakeSocket) ExpectAck(uint64, func([]any)) {}
func (s *fakeSocket) Disconnect(bool)               {}
func (s *fakeSocket) Details() SocketDetails        { return SocketDetails{ID: s.id} }

type fakeNamespace struct {
	sockets  map[string]*fakeSocket
	recovery *RecoveryConfig
}

func (n *fakeNamespace) Name() string        { return "/" }
func (n *fakeNamespace) Codec() parser.Codec { return parser.Default }
func (n *fakeNamespace) LocalSocket(id SocketID) (Socket, bool) {
	s, ok := n.sockets[id]
	return s, ok
}
func (n *fakeNamespace) LocalSockets() []Socket {
	out := []Socket{}
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}
func (n *fakeNamespace) Join(SocketID, []Room)                           {}
func (n *fakeNamespace) Leave(SocketID, Room)                            {}
func (n *fakeNamespace) Recovery() *RecoveryConfig                       { return n.recovery }
func (n *fakeNamespace) HandleServerSideEmit(string, []any, func([]any)) {}
func (n *fakeNamespace) NextAckID() uint64                               { return 0 }

func newFake(ids ...string) *fakeNamespace {
	n := &fakeNamespace{sockets: map[string]*fakeSocket{}}
	for _, id := range ids {
		n.sockets[id] = &fakeSocket{id: id}
	}
	return n
}

func selected(m *Memory, opts BroadcastOptions) []string {
	var ids []string
	for _, s := range m.Select(opts) {
		ids = append(ids, s.ID())
	}
	slices.Sort(ids)
	return ids
}

func TestMemoryRoomsAndSelection(t *testing.T) {
	n := newFake("a", "b", "c")
	m := newMemory(n)
	m.AddAll("a", []Room{"r1", "r2", "a"}) // its own room is implied, not stored
	m.AddAll("b", []Room{"r2"})
	if got := m.SocketRooms("a"); !slices.Equal(got, []Room{"a", "r1", "r2"}) {
		t.Fatalf("SocketRooms(a) = %v", got)
	}
	if got := m.Rooms(); !slices.Equal(got, []Room{"r1", "r2"}) {
		t.Fatalf("Rooms() = %v", got)
	}
	for _, tc := range []struct {
		opts BroadcastOptions
		want []string
	}{
		{BroadcastOptions{}, []string{"a", "b", "c"}},
		{BroadcastOptions{Rooms: []Room{"r2"}}, []string{"a", "b"}},
		{BroadcastOptions{Rooms: []Room{"r1", "r2"}}, []string{"a", "b"}}, // each once
		{BroadcastOptions{Rooms: []Room{"c"}}, []string{"c"}},             // a socket's own room
		{BroadcastOptions{Except: []Room{"r1"}}, []string{"b", "c"}},
		{BroadcastOptions{Rooms: []Room{"r2"}, Except: []Room{"b"}}, []string{"a"}},
		{BroadcastOptions{Rooms: []Room{"nowhere"}}, nil},
	} {
		if got := selected(m, tc.opts); !slices.Equal(got, tc.want) {
			t.Errorf("Select(%+v) = %v, want %v", tc.opts, got, tc.want)
		}
	}
	m.Del("a", "r2")
	m.DelAll("b")
	if got := selected(m, BroadcastOptions{Rooms: []Room{"r2"}}); got != nil {
		t.Errorf("r2 after Del/DelAll: %v", got)
	}
	if got := m.Rooms(); !slices.Equal(got, []Room{"r1"}) {
		t.Errorf("Rooms() after Del/DelAll = %v (empty rooms must go)", got)
	}
}

// A broadcast is encoded once: every socket gets the same messages.
func TestMemoryBroadcastEncodesOnce(t *testing.T) {
	n := newFake("a", "b", "c")
	m := newMemory(n)
	if err := m.Broadcast(&parser.Packet{Type: parser.Event, Namespace: "/", Event: "e", Args: []any{1}}, BroadcastOptions{}); err != nil {
		t.Fatal(err)
	}
	var first *byte
	for _, s := range n.sockets {
		if len(s.msgs) != 1 || string(s.msgs[0][0].Data) != `2["e",1]` {
			t.Fatalf("%s got %v", s.id, s.msgs)
		}
		if p := &s.msgs[0][0].Data[0]; first == nil {
			first = p
		} else if p != first {
			t.Fatal("sockets got different copies of the encoded packet")
		}
	}
}

func TestSessionStore(t *testing.T) {
	n := newFake("a")
	n.recovery = &RecoveryConfig{MaxDisconnectionDuration: time.Minute, MaxPackets: 2}
	m := newMemory(n)
	emit := func(v int, opts BroadcastOptions) string {
		_ = m.Broadcast(&parser.Packet{Type: parser.Event, Namespace: "/", Event: "e", Args: []any{v}}, opts)
		return m.Offset()
	}
	o1 := emit(1, BroadcastOptions{})
	m.PersistSession(&Session{SID: "a", PID: "p", Rooms: []Room{"a", "r"}})
	o2 := emit(2, BroadcastOptions{Rooms: []Room{"r"}})
	emit(3, BroadcastOptions{Rooms: []Room{"elsewhere"}})
	if o1 == o2 || o1 == "" {
		t.Fatalf("offsets %q %q", o1, o2)
	}
	// MaxPackets 2: e1 is gone, so o1 cannot be resumed from.
	if s, _ := m.RestoreSession("p", &o1); s != nil {
		t.Fatalf("restored from a trimmed offset: %+v", s)
	}
	s, _ := m.RestoreSession("p", &o2)
	if s == nil || s.SID != "a" || s.ResumeFrom != o2 {
		t.Fatalf("RestoreSession = %+v", s)
	}
	var missed []*parser.Packet
	m.Attach(&s.ResumeFrom, s.Rooms, func(p []*parser.Packet) { missed = p })
	if len(missed) != 0 { // e3 targeted another room
		t.Fatalf("missed %v", missed)
	}
	if s, _ := m.RestoreSession("p", &o2); s != nil {
		t.Fatal("a session is restored once")
	}
}

func TestShouldInclude(t *testing.T) {
	rooms := []Room{"id", "r1"}
	for _, tc := range []struct {
		opts BroadcastOptions
		want bool
	}{
		{BroadcastOptions{}, true},
		{BroadcastOptions{Rooms: []Room{"r1"}}, true},
		{BroadcastOptions{Rooms: []Room{"id"}}, true},
		{BroadcastOptions{Rooms: []Room{"r2"}}, false},
		{BroadcastOptions{Except: []Room{"r1"}}, false},
		{BroadcastOptions{Rooms: []Room{"r1"}, Except: []Room{"id"}}, false},
	} {
		if got := ShouldInclude(rooms, tc.opts); got != tc.want {
			t.Errorf("ShouldInclude(%v, %+v) = %v", rooms, tc.opts, got)
		}
	}
}
