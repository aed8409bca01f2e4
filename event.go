package socketio

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
)

// Args are the arguments of an event or of an acknowledgement, still
// encoded. Decode them with Bind or one by one with parser.Raw.Decode; pass
// one to Emit to relay it unchanged.
type Args []parser.Raw

// Bind decodes the arguments in order into the pointers given. Extra
// arguments are ignored; a missing one is an error.
func (a Args) Bind(ptrs ...any) error {
	for i, p := range ptrs {
		if i >= len(a) {
			return fmt.Errorf("socketio: argument %d missing (got %d)", i, len(a))
		}
		if p == nil {
			continue
		}
		if err := a[i].Decode(p); err != nil {
			return fmt.Errorf("socketio: argument %d: %w", i, err)
		}
	}
	return nil
}

// Values returns the arguments as []any, for relaying them all.
func (a Args) Values() []any {
	out := make([]any, len(a))
	for i, r := range a {
		out[i] = r
	}
	return out
}

func toArgs(v []any) Args {
	out := make(Args, 0, len(v))
	for _, x := range v {
		if r, ok := x.(parser.Raw); ok {
			out = append(out, r)
		}
	}
	return out
}

// Event is an incoming event, on the server (from a client) or in the
// client package (from a server): the handler types and the FuncN adapters
// are shared by both sides.
type Event struct {
	// Name is the event name.
	Name string
	// Args are the arguments, still encoded.
	Args    Args
	socket  *Socket
	ack     Ack
	bindErr func(e *Event, err error)
}

// NewEvent returns an event for handlers outside this package's server
// (the client package uses it). ack, when non-nil, sends the
// acknowledgement; bindErr, when non-nil, is told when a FuncN handler's
// arguments do not decode.
func NewEvent(name string, args Args, ack func(args []any) error, bindErr func(e *Event, err error)) *Event {
	e := &Event{Name: name, Args: args, bindErr: bindErr}
	if ack != nil {
		e.ack = Ack{st: &ackState{send: ack}}
	}
	return e
}

// Socket returns the server socket that received the event (nil for an
// event received by the client package).
func (e *Event) Socket() *Socket { return e.socket }

// Bind decodes the arguments into the pointers given (see Args.Bind).
func (e *Event) Bind(ptrs ...any) error { return e.Args.Bind(ptrs...) }

// Ack returns the acknowledgement of the event; its Send does nothing when
// the sender asked for none.
func (e *Event) Ack() Ack { return e.ack }

// Ack acknowledges an event. The zero Ack (no acknowledgement requested)
// ignores Send.
type Ack struct{ st *ackState }

type ackState struct {
	send func(args []any) error
	sent atomic.Bool
}

// ErrAckSent is returned when an acknowledgement is sent twice.
var ErrAckSent = errors.New("socketio: acknowledgement already sent")

// Requested reports whether the sender asked for an acknowledgement.
func (a Ack) Requested() bool { return a.st != nil }

// Send sends the acknowledgement with args. It may be called once, from
// any goroutine.
func (a Ack) Send(args ...any) error {
	if a.st == nil {
		return nil
	}
	if !a.st.sent.CompareAndSwap(false, true) {
		return ErrAckSent
	}
	return a.st.send(args)
}

// serverAck returns the acknowledgement of event id received by s.
func serverAck(s *Socket, id uint64) Ack {
	return Ack{st: &ackState{send: func(args []any) error {
		if !s.connected.Load() {
			return ErrDisconnected
		}
		return s.sendPacket(&parser.Packet{Type: parser.Ack, Namespace: s.nsp.name, ID: id, HasID: true, Args: args}, adapter.BroadcastFlags{})
	}}}
}

// bindFailed reports arguments that do not decode for a typed handler: the
// BindError hook fires and, when the sender asked for an acknowledgement,
// it gets {"error": "<message>"}.
func bindFailed(e *Event, err error) {
	if e.bindErr != nil {
		e.bindErr(e, err)
	}
	_ = e.ack.Send(map[string]string{"error": err.Error()})
}

// Func0 adapts a handler that takes no argument besides its Ack.
func Func0(fn func(ack Ack)) func(*Event) {
	return func(e *Event) { fn(e.ack) }
}

// Func1 adapts a handler whose first argument decodes into A. When the
// argument does not decode, fn is not called (see Hooks.BindError).
func Func1[A any](fn func(a A, ack Ack)) func(*Event) {
	return func(e *Event) {
		var a A
		if err := e.Bind(&a); err != nil {
			bindFailed(e, err)
			return
		}
		fn(a, e.ack)
	}
}

// Func2 adapts a handler of two decoded arguments.
func Func2[A, B any](fn func(a A, b B, ack Ack)) func(*Event) {
	return func(e *Event) {
		var a A
		var b B
		if err := e.Bind(&a, &b); err != nil {
			bindFailed(e, err)
			return
		}
		fn(a, b, e.ack)
	}
}

// Func3 adapts a handler of three decoded arguments.
func Func3[A, B, C any](fn func(a A, b B, c C, ack Ack)) func(*Event) {
	return func(e *Event) {
		var a A
		var b B
		var c C
		if err := e.Bind(&a, &b, &c); err != nil {
			bindFailed(e, err)
			return
		}
		fn(a, b, c, e.ack)
	}
}
