// Package packet encodes and decodes Engine.IO v4 packets and polling payloads.
//
// The package is pure: it performs no I/O and keeps no state. Decoders never
// panic on untrusted input, and allocate at most what the input itself
// justifies (a base64 body decodes to 3/4 of its length).
//
// Wire format (Engine.IO protocol v4):
//
//	packet   = type [data]          type is one ASCII digit '0'..'6'
//	binary   = 'b' base64(data)     only inside text frames and polling payloads
//	payload  = packet *( 0x1e packet )
//
// Over WebSocket a binary message travels as a binary frame holding the raw
// bytes, with no type prefix.
package packet

import (
	"encoding/base64"
	"errors"
	"fmt"
)

// Type is an Engine.IO packet type.
type Type byte

// The Engine.IO v4 packet types.
const (
	Open Type = iota
	Close
	Ping
	Pong
	Message
	Upgrade
	Noop
)

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// String returns the name the reference implementation uses for t.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// Separator joins packets in an HTTP long-polling payload.
const Separator byte = 0x1e

// ErrInvalidPacket reports a packet that does not follow the Engine.IO v4 format.
var ErrInvalidPacket = errors.New("engineio: invalid packet")

// Packet is one Engine.IO packet. Binary is meaningful only for Message
// packets: it marks Data as raw bytes rather than UTF-8 text.
type Packet struct {
	Type   Type
	Data   []byte
	Binary bool
}

// EncodedLen returns the number of bytes AppendText writes for p.
func EncodedLen(p Packet) int {
	if p.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}

// AppendText appends the text form of p to dst: the type digit followed by
// the data, or 'b' and the base64 of the data for a binary message. This is
// the form used in polling payloads and in WebSocket text frames.
func AppendText(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// Decode decodes one packet received in a WebSocket frame. A binary frame is
// always a binary Message whose Data is frame itself. A text frame is decoded
// as DecodeText does. Data aliases frame except for base64 bodies.
func Decode(frame []byte, binary bool) (Packet, error) {
	if binary {
		return Packet{Type: Message, Data: frame, Binary: true}, nil
	}
	return DecodeText(frame)
}

// DecodeText decodes the text form of one packet. Data aliases text except
// for a base64 ('b') body, which is decoded into a new slice.
func DecodeText(text []byte) (Packet, error) {
	if len(text) == 0 {
		return Packet{}, fmt.Errorf("%w: empty packet", ErrInvalidPacket)
	}
	c := text[0]
	if c == 'b' {
		data, err := base64.StdEncoding.AppendDecode(nil, text[1:])
		if err != nil {
			return Packet{}, fmt.Errorf("%w: bad base64 body: %v", ErrInvalidPacket, err)
		}
		if data == nil {
			data = []byte{}
		}
		return Packet{Type: Message, Data: data, Binary: true}, nil
	}
	if c < '0' || c > '0'+byte(Noop) {
		return Packet{}, fmt.Errorf("%w: unknown type %q", ErrInvalidPacket, c)
	}
	p := Packet{Type: Type(c - '0')}
	if len(text) > 1 {
		p.Data = text[1:]
	}
	return p, nil
}

// AppendPayload appends the polling payload form of packets to dst: each
// packet's text form, separated by 0x1e. Binary messages are base64-encoded.
func AppendPayload(dst []byte, packets []Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = AppendText(dst, p)
	}
	return dst
}

// PayloadLen returns the number of bytes AppendPayload writes for packets.
func PayloadLen(packets []Packet) int {
	n := 0
	for i, p := range packets {
		if i > 0 {
			n++
		}
		n += EncodedLen(p)
	}
	return n
}

// DecodePayload splits a polling payload and calls fn with each packet in
// order. Data of each packet aliases payload (except base64 bodies), so fn
// must copy it to keep it beyond the payload's lifetime. Decoding stops at the
// first invalid packet, after fn has seen every packet before it, and returns
// an error wrapping ErrInvalidPacket; it also stops, returning fn's error, when
// fn fails.
func DecodePayload(payload []byte, fn func(Packet) error) error {
	for start := 0; start <= len(payload); {
		end := start
		for end < len(payload) && payload[end] != Separator {
			end++
		}
		p, err := DecodeText(payload[start:end])
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		start = end + 1
	}
	return nil
}
