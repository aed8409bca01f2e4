package socketio

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
)

// BroadcastOperator selects sockets of a namespace (by rooms, on every node
// or this one) and acts on them. It is immutable: each method returns a new
// operator, so one can be kept and reused.
type BroadcastOperator struct {
	nsp    *Namespace
	rooms  []string
	except []string
	flags  adapter.BroadcastFlags
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.rooms = slices.Clip(c.rooms)
	c.except = slices.Clip(c.except)
	return &c
}

// To adds rooms to the selection: sockets in any of them are reached.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !slices.Contains(c.rooms, r) {
			c.rooms = append(c.rooms, r)
		}
	}
	return c
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in any of rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !slices.Contains(c.except, r) {
			c.except = append(c.except, r)
		}
	}
	return c
}

// Local restricts the operation to this node.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.flags.Local = true
	return c
}

// Volatile lets the event be dropped for clients that cannot take it now.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.flags.Volatile = true
	return c
}

// Compress sets the compress flag.
func (b *BroadcastOperator) Compress(v bool) *BroadcastOperator {
	c := b.clone()
	c.flags.NoCompress = !v
	return c
}

// Timeout sets how long EmitWithAck waits for acknowledgements.
func (b *BroadcastOperator) Timeout(d time.Duration) *BroadcastOperator {
	c := b.clone()
	c.flags.Timeout = d
	return c
}

func (b *BroadcastOperator) options() adapter.BroadcastOptions {
	return adapter.BroadcastOptions{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// Emit sends an event to the selected sockets. The packet is encoded once.
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	if parser.ReservedEvents[event] {
		return reservedError(event)
	}
	p := &parser.Packet{Type: parser.Event, Namespace: b.nsp.name, Event: event, Args: args}
	if h := b.nsp.srv.cfg.hooks.EventOut; h != nil {
		h(b.nsp, nil, event, args)
	}
	return b.nsp.adapter.Broadcast(p, b.options())
}

// EmitWithAck sends an event to the selected sockets and collects one
// acknowledgement from each, in arrival order. It returns when every
// socket has answered, or with ErrTimeout (and the answers received so
// far) when the Timeout elapses, or with ctx's error. Without a Timeout,
// ctx must carry the deadline.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if parser.ReservedEvents[event] {
		return nil, reservedError(event)
	}
	var timeout <-chan time.Time
	if b.flags.Timeout > 0 {
		t := time.NewTimer(b.flags.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var (
		mu        sync.Mutex
		responses []Args
		expected  int
		servers   int
		changed   = make(chan struct{}, 1)
	)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	id := b.nsp.NextAckID()
	p := &parser.Packet{Type: parser.Event, Namespace: b.nsp.name, Event: event, Args: args, ID: id, HasID: true}
	if h := b.nsp.srv.cfg.hooks.EventOut; h != nil {
		h(b.nsp, nil, event, args)
	}
	err := b.nsp.adapter.BroadcastWithAck(p, b.options(),
		func(n int) {
			mu.Lock()
			expected += n
			servers++
			mu.Unlock()
			notify()
		},
		func(a []any) {
			mu.Lock()
			responses = append(responses, toArgs(a))
			mu.Unlock()
			notify()
		})
	if err != nil {
		return nil, err
	}
	wantServers := 1
	if !b.flags.Local {
		if wantServers, err = b.nsp.adapter.ServerCount(ctx); err != nil {
			return nil, err
		}
	}
	for {
		mu.Lock()
		done := servers >= wantServers && len(responses) >= expected
		got := slices.Clone(responses)
		mu.Unlock()
		if done {
			return got, nil
		}
		select {
		case <-changed:
		case <-timeout:
			return got, ErrTimeout
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
}

// RemoteSocket is a socket returned by FetchSockets, on this node or
// another. Its methods act on it through the adapter.
type RemoteSocket struct {
	ID        string
	Handshake *Handshake
	Rooms     []string
	Data      any
	nsp       *Namespace
}

func (r *RemoteSocket) operator() *BroadcastOperator { return r.nsp.operator().To(r.ID) }

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error {
	return r.operator().Emit(event, args...)
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...string) error { return r.operator().SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(rooms ...string) error { return r.operator().SocketsLeave(rooms...) }

// Disconnect disconnects the socket.
func (r *RemoteSocket) Disconnect(close bool) error { return r.operator().DisconnectSockets(close) }

// FetchSockets returns the selected sockets.
func (b *BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	details, err := b.nsp.adapter.FetchSockets(ctx, b.options())
	out := make([]*RemoteSocket, 0, len(details))
	for _, d := range details {
		out = append(out, &RemoteSocket{ID: d.ID, Handshake: d.Handshake, Rooms: d.Rooms, Data: d.Data, nsp: b.nsp})
	}
	return out, err
}

// SocketsJoin makes the selected sockets join rooms.
func (b *BroadcastOperator) SocketsJoin(rooms ...string) error {
	return b.nsp.adapter.AddSockets(b.options(), rooms)
}

// SocketsLeave makes the selected sockets leave rooms.
func (b *BroadcastOperator) SocketsLeave(rooms ...string) error {
	return b.nsp.adapter.DelSockets(b.options(), rooms)
}

// DisconnectSockets disconnects the selected sockets (close: their whole
// connections).
func (b *BroadcastOperator) DisconnectSockets(close bool) error {
	return b.nsp.adapter.DisconnectSockets(b.options(), close)
}
