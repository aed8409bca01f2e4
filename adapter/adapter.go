// Package adapter defines how a namespace reaches its sockets, on this node
// and on others: the Adapter interface, and the in-memory adapter that keeps
// the room index of a single process.
//
// The adapter never imports the socketio package. It reaches sockets through
// the Namespace and Socket interfaces, which the socketio package
// implements; the Redis adapters implement Adapter in their own module.
//
// # Concurrency
//
// Adapter methods are safe for concurrent use. Broadcast encodes a packet
// once and hands the same messages to every target socket; it never blocks
// on a socket (sockets queue what they are given).
package adapter

import (
	"context"
	"errors"
	"time"

	"github.com/go-sio/socketio/parser"
)

// SocketID identifies a socket. Room names a room; every socket is also in
// the room named by its own id.
type (
	SocketID = string
	Room     = string
)

// BroadcastFlags modify a broadcast, as in Node.
type BroadcastFlags struct {
	// Volatile packets are dropped for sockets that cannot take them now.
	Volatile bool
	// NoCompress disables compression of the packet (compress(false)).
	NoCompress bool
	// Local restricts the broadcast to this node.
	Local bool
	// Timeout bounds the wait for acknowledgements (0: none).
	Timeout time.Duration
}

// BroadcastOptions select the sockets of a broadcast: those in any of Rooms
// (every socket when Rooms is empty), minus those in any of Except.
type BroadcastOptions struct {
	Rooms  []Room
	Except []Room
	Flags  BroadcastFlags
}

// SocketDetails is what FetchSockets reports of a socket, local or remote.
type SocketDetails struct {
	ID        SocketID   `json:"id"`
	Handshake *Handshake `json:"handshake"`
	Rooms     []Room     `json:"rooms"`
	Data      any        `json:"data"`
}

// Socket is what an adapter needs of a local socket.
type Socket interface {
	ID() SocketID
	// Send queues the encoded messages of p (shared between sockets:
	// read-only); p itself is given for the socket's outgoing listeners.
	Send(p *parser.Packet, msgs []parser.Message, flags BroadcastFlags)
	// ExpectAck registers fn as the handler of the acknowledgement id.
	ExpectAck(id uint64, fn func(args []any))
	// Disconnect disconnects the socket (close: the whole connection).
	Disconnect(close bool)
	// Details describes the socket for FetchSockets.
	Details() SocketDetails
}

// Namespace is what an adapter needs of its namespace.
type Namespace interface {
	Name() string
	Codec() parser.Codec
	// LocalSocket returns the connected local socket id, if any.
	LocalSocket(id SocketID) (Socket, bool)
	// LocalSockets returns every connected local socket.
	LocalSockets() []Socket
	// Recovery returns the connection state recovery settings, nil when
	// recovery is off.
	Recovery() *RecoveryConfig
	// Join and Leave change a local socket's rooms as a remote request asks
	// (they go through the namespace so that hooks fire).
	Join(id SocketID, rooms []Room)
	Leave(id SocketID, room Room)
	// HandleServerSideEmit delivers an event from another node; reply,
	// when non-nil, sends the acknowledgement back.
	HandleServerSideEmit(event string, args []any, reply func(args []any))
	// NextAckID returns a fresh acknowledgement id of the namespace (a
	// broadcast with acknowledgements from another node gets one here).
	NextAckID() uint64
}

// Adapter spreads a namespace's rooms and broadcasts, over one process or
// many. Each namespace has its own.
type Adapter interface {
	// Init starts the adapter; Close stops it.
	Init() error
	Close() error

	// AddAll puts a local socket in rooms; Del and DelAll take it out.
	AddAll(id SocketID, rooms []Room)
	Del(id SocketID, room Room)
	DelAll(id SocketID)
	// SocketRooms returns the rooms of a local socket, its own room first.
	SocketRooms(id SocketID) []Room
	// Sockets returns the local sockets in any of rooms (all when empty).
	Sockets(rooms []Room) []SocketID
	// Rooms returns every local room with at least one member (socket id
	// rooms excluded).
	Rooms() []Room

	// Broadcast sends p to the selected sockets, on every node unless
	// opts.Flags.Local.
	Broadcast(p *parser.Packet, opts BroadcastOptions) error
	// BroadcastWithAck sends p, expecting an acknowledgement from each
	// target: clientCount is called once per node with the number of
	// sockets reached there, ack once per acknowledgement.
	BroadcastWithAck(p *parser.Packet, opts BroadcastOptions, clientCount func(n int), ack func(args []any)) error
	// ServerCount returns the number of nodes, this one included.
	ServerCount(ctx context.Context) (int, error)

	// FetchSockets returns the selected sockets of every node (or of this
	// one, with opts.Flags.Local).
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketDetails, error)
	// AddSockets, DelSockets and DisconnectSockets act on the selected
	// sockets of every node (or of this one).
	AddSockets(opts BroadcastOptions, rooms []Room) error
	DelSockets(opts BroadcastOptions, rooms []Room) error
	DisconnectSockets(opts BroadcastOptions, close bool) error
	// ServerSideEmit sends an event to the other nodes. With ack non-nil,
	// it waits (bounded by ctx) for one reply per other node.
	ServerSideEmit(ctx context.Context, event string, args []any, ack func(args []any)) error

	// Connection state recovery (used only when Namespace.Recovery is not
	// nil). Offset returns the offset of the last stored packet ("" when
	// none). PersistSession keeps the state of a socket that disconnected
	// unexpectedly. RestoreSession takes it back (it can be restored once)
	// when its packets after offset are still stored (nil offset: after the
	// session's ConnectOffset, when RecoverWithoutOffset), or returns nil.
	Offset() string
	PersistSession(s *Session)
	RestoreSession(pid string, offset *string) (*Session, error)
	// Attach runs fn while no broadcast is being stored or delivered, so
	// that a socket fn makes a target misses none and gets none twice.
	// With from not nil, fn gets the stored packets after *from ("": all)
	// that target rooms, in order, to replay first.
	Attach(from *string, rooms []Room, fn func(missed []*parser.Packet))
}

// Factory creates the adapter of a namespace.
type Factory func(nsp Namespace) Adapter

// ErrTimeout is returned when a cluster request does not complete in time.
var ErrTimeout = errors.New("socketio: operation has timed out")
