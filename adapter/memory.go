package adapter

import (
	"context"
	"slices"
	"sync"

	"github.com/go-sio/socketio/parser"
)

// Memory is the in-memory adapter: the room index of one process. A
// socket's own room is implied by its id and not stored.
type Memory struct {
	nsp   Namespace
	store *sessionStore // nil unless recovery is on
	// bmu orders the stored broadcasts and the attachment of sockets, so
	// that every socket gets them in offset order (recovery only).
	bmu sync.Mutex

	mu    sync.RWMutex
	rooms map[Room]map[SocketID]struct{}
	sids  map[SocketID]map[Room]struct{}
}

// NewMemory returns the in-memory adapter of nsp. It is the default.
func NewMemory(nsp Namespace) Adapter { return newMemory(nsp) }

func newMemory(nsp Namespace) *Memory {
	m := &Memory{
		nsp:   nsp,
		rooms: make(map[Room]map[SocketID]struct{}),
		sids:  make(map[SocketID]map[Room]struct{}),
	}
	if cfg := nsp.Recovery(); cfg != nil {
		m.store = newSessionStore(cfg)
	}
	return m
}

// Namespace returns the namespace of the adapter.
func (m *Memory) Namespace() Namespace { return m.nsp }

func (m *Memory) Init() error  { return nil }
func (m *Memory) Close() error { return nil }

func (m *Memory) AddAll(id SocketID, rooms []Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rooms {
		if r == id {
			continue // implied
		}
		set := m.sids[id]
		if set == nil {
			set = make(map[Room]struct{}, 1)
			m.sids[id] = set
		}
		set[r] = struct{}{}
		members := m.rooms[r]
		if members == nil {
			members = make(map[SocketID]struct{}, 1)
			m.rooms[r] = members
		}
		members[id] = struct{}{}
	}
}

func (m *Memory) Del(id SocketID, room Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delLocked(id, room)
}

func (m *Memory) delLocked(id SocketID, room Room) {
	if set := m.sids[id]; set != nil {
		delete(set, room)
		if len(set) == 0 {
			delete(m.sids, id)
		}
	}
	if members := m.rooms[room]; members != nil {
		delete(members, id)
		if len(members) == 0 {
			delete(m.rooms, room)
		}
	}
}

func (m *Memory) DelAll(id SocketID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for r := range m.sids[id] {
		m.delLocked(id, r)
	}
}

func (m *Memory) SocketRooms(id SocketID) []Room {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Room, 0, 1+len(m.sids[id]))
	out = append(out, id)
	for r := range m.sids[id] {
		out = append(out, r)
	}
	slices.Sort(out[1:])
	return out
}

func (m *Memory) Rooms() []Room {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Room, 0, len(m.rooms))
	for r := range m.rooms {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

func (m *Memory) Sockets(rooms []Room) []SocketID {
	var out []SocketID
	m.apply(BroadcastOptions{Rooms: rooms}, func(s Socket) { out = append(out, s.ID()) })
	return out
}

// HasRoom reports whether room holds a connected local socket: a member,
// or the socket it is named after. It answers len(Sockets([]Room{room})) > 0
// without building the list, for receive paths.
func (m *Memory) HasRoom(room Room) bool {
	if _, ok := m.nsp.LocalSocket(room); ok {
		return true
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for id := range m.rooms[room] {
		if _, ok := m.nsp.LocalSocket(id); ok {
			return true
		}
	}
	return false
}

// apply calls fn for each connected local socket selected by opts, each
// once. The index lock is not held while fn runs.
func (m *Memory) apply(opts BroadcastOptions, fn func(Socket)) {
	for _, s := range m.Select(opts) {
		fn(s)
	}
}

// Select returns the connected local sockets selected by opts.
func (m *Memory) Select(opts BroadcastOptions) []Socket {
	m.mu.RLock()
	var ids []SocketID
	excluded := func(id SocketID) bool {
		for _, r := range opts.Except {
			if r == id {
				return true
			}
			if _, ok := m.rooms[r][id]; ok {
				return true
			}
		}
		return false
	}
	if len(opts.Rooms) > 0 {
		seen := make(map[SocketID]struct{})
		for _, r := range opts.Rooms {
			if members, ok := m.rooms[r]; ok {
				for id := range members {
					if _, dup := seen[id]; !dup && !excluded(id) {
						seen[id] = struct{}{}
						ids = append(ids, id)
					}
				}
			}
			// A room named after a socket id holds that socket.
			if _, dup := seen[r]; !dup && !excluded(r) {
				if _, ok := m.nsp.LocalSocket(r); ok {
					seen[r] = struct{}{}
					ids = append(ids, r)
				}
			}
		}
	}
	m.mu.RUnlock()

	if len(opts.Rooms) == 0 {
		// Every socket, those without rooms too: the namespace knows them.
		out := m.nsp.LocalSockets()
		if len(opts.Except) > 0 {
			m.mu.RLock()
			out = slices.DeleteFunc(out, func(s Socket) bool { return excluded(s.ID()) })
			m.mu.RUnlock()
		}
		return out
	}
	out := make([]Socket, 0, len(ids))
	for _, id := range ids {
		if s, ok := m.nsp.LocalSocket(id); ok {
			out = append(out, s)
		}
	}
	return out
}

func (m *Memory) Broadcast(p *parser.Packet, opts BroadcastOptions) error {
	if m.store != nil {
		m.bmu.Lock()
		defer m.bmu.Unlock()
		p = m.store.tag(p, opts)
	}
	msgs, err := m.nsp.Codec().Encode(p)
	if err != nil {
		return err
	}
	m.apply(opts, func(s Socket) { s.Send(p, msgs, opts.Flags) })
	return nil
}

func (m *Memory) BroadcastWithAck(p *parser.Packet, opts BroadcastOptions, clientCount func(int), ack func([]any)) error {
	msgs, err := m.nsp.Codec().Encode(p)
	if err != nil {
		return err
	}
	targets := m.Select(opts)
	for _, s := range targets {
		s.ExpectAck(p.ID, ack)
	}
	clientCount(len(targets))
	for _, s := range targets {
		s.Send(p, msgs, opts.Flags)
	}
	return nil
}

func (m *Memory) ServerCount(context.Context) (int, error) { return 1, nil }

func (m *Memory) FetchSockets(_ context.Context, opts BroadcastOptions) ([]SocketDetails, error) {
	var out []SocketDetails
	m.apply(opts, func(s Socket) { out = append(out, s.Details()) })
	return out, nil
}

func (m *Memory) AddSockets(opts BroadcastOptions, rooms []Room) error {
	m.apply(opts, func(s Socket) { m.nsp.Join(s.ID(), rooms) })
	return nil
}

func (m *Memory) DelSockets(opts BroadcastOptions, rooms []Room) error {
	m.apply(opts, func(s Socket) {
		for _, r := range rooms {
			m.nsp.Leave(s.ID(), r)
		}
	})
	return nil
}

func (m *Memory) DisconnectSockets(opts BroadcastOptions, close bool) error {
	m.apply(opts, func(s Socket) { s.Disconnect(close) })
	return nil
}

// ServerSideEmit has no other node to reach: it returns at once.
func (m *Memory) ServerSideEmit(context.Context, string, []any, func([]any)) error { return nil }

// Offset implements Adapter.
func (m *Memory) Offset() string {
	if m.store == nil {
		return ""
	}
	return m.store.offset()
}

// PersistSession implements Adapter.
func (m *Memory) PersistSession(s *Session) {
	if m.store != nil {
		m.store.persist(s)
	}
}

// RestoreSession implements Adapter.
func (m *Memory) RestoreSession(pid string, offset *string) (*Session, error) {
	if m.store == nil {
		return nil, nil
	}
	return m.store.restore(pid, offset), nil
}

// Attach implements Adapter.
func (m *Memory) Attach(from *string, rooms []Room, fn func(missed []*parser.Packet)) {
	if m.store == nil {
		fn(nil)
		return
	}
	m.bmu.Lock()
	defer m.bmu.Unlock()
	var missed []*parser.Packet
	if from != nil {
		missed = m.store.since(*from, rooms)
	}
	fn(missed)
}
