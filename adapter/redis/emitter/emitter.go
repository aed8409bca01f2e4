// Package emitter sends events and commands to the sockets of a Socket.IO
// cluster through Redis, from a process that is not a Socket.IO server
// (a worker, a cron job), like the npm package @socket.io/redis-emitter
// 5.1, on the wire byte for byte.
//
// It publishes on the channels of the classic Redis adapter
// (redis.NewAdapter in Go, createAdapter of @socket.io/redis-adapter in
// Node.js): servers using the sharded adapter do not hear it (PUBLISH does
// not reach SSUBSCRIBE subscribers), as with the Node.js emitter.
//
// # Concurrency
//
// An Emitter and its BroadcastOperators are immutable values, safe for
// concurrent use; each method publishes one message and returns when Redis
// has taken it. Messages from one goroutine are published in order.
package emitter

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/adapter/redis"
	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// uid is how the adapters recognise the emitter (they never ignore it).
const uid = "emitter"

// Request types of the classic adapter's request channel.
const (
	remoteJoin       = 2
	remoteLeave      = 3
	remoteDisconnect = 4
	serverSideEmit   = 6
)

// Options configure an Emitter; nil means the defaults.
type Options struct {
	// Key is the prefix of the channels; it must match the adapters'.
	// Default: "socket.io".
	Key string
}

// Emitter publishes to the namespace "/" (or the one given to Of).
type Emitter struct {
	d   redis.Driver
	key string
	nsp string
}

// New returns an Emitter publishing through d.
func New(d redis.Driver, opts *Options) *Emitter {
	key := "socket.io"
	if opts != nil && opts.Key != "" {
		key = opts.Key
	}
	return &Emitter{d: d, key: key, nsp: "/"}
}

// Of returns an Emitter for namespace nsp ("/" is added in front when
// missing, as in Node).
func (e *Emitter) Of(nsp string) *Emitter {
	if len(nsp) == 0 || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	c := *e
	c.nsp = nsp
	return &c
}

func (e *Emitter) op() *BroadcastOperator { return &BroadcastOperator{e: e} }

// Emit sends an event to every socket of the namespace.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	return e.op().Emit(ctx, event, args...)
}

// To selects the sockets in any of rooms.
func (e *Emitter) To(rooms ...string) *BroadcastOperator { return e.op().To(rooms...) }

// In is To.
func (e *Emitter) In(rooms ...string) *BroadcastOperator { return e.op().To(rooms...) }

// Except excludes the sockets in any of rooms.
func (e *Emitter) Except(rooms ...string) *BroadcastOperator { return e.op().Except(rooms...) }

// Volatile marks the events as droppable for clients that cannot take them.
func (e *Emitter) Volatile() *BroadcastOperator { return e.op().Volatile() }

// Compress sets the compress flag of the events.
func (e *Emitter) Compress(compress bool) *BroadcastOperator { return e.op().Compress(compress) }

// SocketsJoin makes every socket of the namespace join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.op().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.op().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace (close: their
// whole connections).
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.op().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends an event to the servers of the namespace (their
// OnServerSideEmit handlers). Acknowledgements are not supported, as in
// Node.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if parser.ReservedEvents[event] {
		return reserved(event)
	}
	req := struct {
		UID  string `json:"uid"`
		Type int    `json:"type"`
		Data []any  `json:"data"`
	}{uid, serverSideEmit, append([]any{event}, args...)}
	return e.request(ctx, req)
}

func (e *Emitter) request(ctx context.Context, req any) error {
	b, err := adapter.Marshal(req, adapter.FormatJSON)
	if err != nil {
		return fmt.Errorf("socketio: emitter: %w", err)
	}
	return e.d.Publish(ctx, e.key+"-request#"+e.nsp+"#", b, false)
}

func reserved(event string) error {
	return fmt.Errorf("socketio: emitter: %q is a reserved event name", event)
}

// BroadcastOperator selects sockets and flags; each method returns a new
// operator.
type BroadcastOperator struct {
	e             *Emitter
	rooms, except []string
	volatile      bool
	compress      *bool
}

func (b *BroadcastOperator) with(f func(c *BroadcastOperator)) *BroadcastOperator {
	c := *b
	c.rooms = slices.Clone(b.rooms)
	c.except = slices.Clone(b.except)
	f(&c)
	return &c
}

// addUnique appends the rooms not already in set, keeping their order (a
// JavaScript Set).
func addUnique(set []string, rooms []string) []string {
	for _, r := range rooms {
		if !slices.Contains(set, r) {
			set = append(set, r)
		}
	}
	return set
}

// To adds rooms to the selection.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	return b.with(func(c *BroadcastOperator) { c.rooms = addUnique(c.rooms, rooms) })
}

// In is To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	return b.with(func(c *BroadcastOperator) { c.except = addUnique(c.except, rooms) })
}

// Volatile marks the events as volatile.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	return b.with(func(c *BroadcastOperator) { c.volatile = true })
}

// Compress sets the compress flag.
func (b *BroadcastOperator) Compress(compress bool) *BroadcastOperator {
	return b.with(func(c *BroadcastOperator) { c.compress = &compress })
}

type wireOpts struct {
	Rooms  []string `json:"rooms"`
	Flags  *flags   `json:"flags,omitempty"`
	Except []string `json:"except"`
}

type flags struct {
	Volatile bool  `json:"volatile,omitempty"`
	Compress *bool `json:"compress,omitempty"`
}

func (b *BroadcastOperator) opts(withFlags bool) wireOpts {
	o := wireOpts{Rooms: nonNil(b.rooms), Except: nonNil(b.except)}
	if withFlags {
		o.Flags = &flags{Volatile: b.volatile, Compress: b.compress}
	}
	return o
}

// Emit sends an event to the selected sockets: [uid, packet, opts] in
// MessagePack on the broadcast channel, or the room's channel when exactly
// one room is selected.
func (b *BroadcastOperator) Emit(ctx context.Context, event string, args ...any) error {
	if parser.ReservedEvents[event] {
		return reserved(event)
	}
	packet := adapter.EncodePacket(&parser.Packet{Type: parser.Event, Namespace: b.e.nsp, Event: event, Args: args})
	msg, err := msgpack.Marshal([]any{uid, packet, b.opts(true)})
	if err != nil {
		return fmt.Errorf("socketio: emitter: %w", err)
	}
	channel := b.e.key + "#" + b.e.nsp + "#"
	if len(b.rooms) == 1 {
		channel += b.rooms[0] + "#"
	}
	return b.e.d.Publish(ctx, channel, msg, false)
}

// SocketsJoin makes the selected sockets join rooms.
func (b *BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return b.e.request(ctx, roomsRequest{Type: remoteJoin, Opts: b.opts(false), Rooms: nonNil(rooms)})
}

// SocketsLeave makes the selected sockets leave rooms.
func (b *BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return b.e.request(ctx, roomsRequest{Type: remoteLeave, Opts: b.opts(false), Rooms: nonNil(rooms)})
}

// DisconnectSockets disconnects the selected sockets.
func (b *BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	return b.e.request(ctx, struct {
		Type  int      `json:"type"`
		Opts  wireOpts `json:"opts"`
		Close bool     `json:"close"`
	}{remoteDisconnect, b.opts(false), close})
}

type roomsRequest struct {
	Type  int      `json:"type"`
	Opts  wireOpts `json:"opts"`
	Rooms []string `json:"rooms"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
