package parser

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Type is a Socket.IO packet type.
type Type byte

// The Socket.IO v5 packet types.
const (
	Connect Type = iota
	Disconnect
	Event
	Ack
	ConnectError
	BinaryEvent
	BinaryAck
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// ReservedEvents are the event names a client may not send and a server may
// not emit, as in the reference implementation.
var ReservedEvents = map[string]bool{
	"connect":        true,
	"connect_error":  true,
	"disconnect":     true,
	"disconnecting":  true,
	"newListener":    true,
	"removeListener": true,
}

// ErrInvalidPacket is wrapped by every decoding error.
var ErrInvalidPacket = errors.New("socketio: invalid packet")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidPacket}, args...)...)
}

// Packet is one Socket.IO packet.
//
// On the decoding side, Args holds Raw values and Data holds a Raw (or nil
// when the packet had no payload). On the encoding side, Args and Data may
// hold any value the codec can encode, Raw values included: a Raw of the
// same codec is written back byte for byte.
type Packet struct {
	Type Type
	// Namespace is the namespace name, "/" for the main namespace.
	Namespace string
	// ID is the acknowledgement id, meaningful when HasID is true.
	ID    uint64
	HasID bool
	// Event is the event name of an EVENT packet.
	Event string
	// Args are the arguments of an EVENT (after the name) or of an ACK.
	Args []any
	// Data is the payload of a CONNECT (auth) or CONNECT_ERROR packet.
	Data any
}

// Message is one Engine.IO message of an encoded packet.
type Message struct {
	Data   []byte
	Binary bool
}

// Codec turns packets into Engine.IO messages and back. The default codec
// is JSON (with binary attachments); parser/msgpack provides another.
// A Codec is safe for concurrent use; a Decoder belongs to one connection.
type Codec interface {
	// Encode returns the Engine.IO messages that carry p, in order.
	Encode(p *Packet) ([]Message, error)
	// NewDecoder returns a decoder for the messages of one connection.
	NewDecoder() Decoder
	// Unmarshal decodes a Raw value produced by this codec into v, as
	// encoding/json would for a JSON value; binary values go to []byte.
	Unmarshal(r Raw, v any) error
}

// Decoder decodes the Engine.IO messages of one connection.
type Decoder interface {
	// Decode takes the next message. It returns the packet it completes,
	// or nil while a packet still waits for binary attachments. An error
	// wraps ErrInvalidPacket; the connection should then be closed.
	Decode(data []byte, binary bool) (*Packet, error)
}

// Raw is one encoded value as it arrived, in its codec's format, with the
// binary attachments of its packet. It is decoded on demand (Decode) or
// relayed as is. The zero Raw is an absent value.
type Raw struct {
	codec       Codec
	data        []byte
	attachments [][]byte
}

// NewRaw returns a Raw value of codec c. Codecs call it when decoding.
func NewRaw(c Codec, data []byte, attachments [][]byte) Raw {
	return Raw{codec: c, data: data, attachments: attachments}
}

// Bytes returns the encoded value (which may contain placeholders that
// refer to the attachments).
func (r Raw) Bytes() []byte { return r.data }

// Attachments returns the binary attachments of the packet r came from.
func (r Raw) Attachments() [][]byte { return r.attachments }

// Codec returns the codec that produced r.
func (r Raw) Codec() Codec { return r.codec }

// IsZero reports whether r holds no value.
func (r Raw) IsZero() bool { return r.codec == nil }

// Decode decodes r into v, which must be a non-nil pointer.
func (r Raw) Decode(v any) error {
	if r.codec == nil {
		return errors.New("socketio: decode of an absent value")
	}
	return r.codec.Unmarshal(r, v)
}

// MarshalJSON lets a Raw nested in another value (a map, a struct) be
// written by encoding/json: a JSON value as it came, any other decoded
// first.
func (r Raw) MarshalJSON() ([]byte, error) {
	if r.codec == nil {
		return []byte("null"), nil
	}
	if isJSON(r.codec) && len(r.attachments) == 0 {
		return r.data, nil
	}
	var v any
	if err := r.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// String returns the encoded form, for logs.
func (r Raw) String() string { return string(r.data) }
