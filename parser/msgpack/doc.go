// Package msgpack is a Socket.IO codec wire-compatible with the npm package
// socket.io-msgpack-parser (3.0.2, built on notepack.io 2.x).
//
// Every packet is one MessagePack map sent as one binary Engine.IO message:
//
//	{"type": 0-4, "nsp": "/chat", "data": ..., "id": 12}
//
// type is CONNECT, DISCONNECT, EVENT, ACK or CONNECT_ERROR (there are no
// BINARY_EVENT or BINARY_ACK packets: binary values travel inline as
// MessagePack bin); data is absent or a map for CONNECT, absent for
// DISCONNECT, a string or a map for CONNECT_ERROR, [event, ...args] for
// EVENT and [...args] for ACK; id is the optional ack id. Keys are found
// by name, in any order; other keys are ignored.
//
// # Encoding
//
// Values are written as notepack.io 2.x writes the same JavaScript values:
// integers, and floats with an integral value, in their smallest integer
// encoding, other numbers as float 64, strings as str, []byte as bin,
// time.Time as notepack's Date (fixext 8 of type 0 holding int64
// milliseconds, which notepack 2.x and 3.x both decode as a Date), maps
// with their keys sorted. Structs are written as maps keyed by their
// `json` tags, with the rules of encoding/json (omitempty, omitzero, "-",
// embedded structs), so a struct travels with the same keys under this
// codec and the JSON one; a json.Marshaler is written as the value its
// JSON stands for, an encoding.TextMarshaler as a string. A parser.Raw of
// this codec is written byte for byte; a Raw of another codec is decoded
// and written again.
//
// # Decoding
//
// Decoding is strict, as the reference checkPacket, and bounded: a length
// larger than what is left of the message, nesting 1000 levels deep,
// trailing bytes, a text message, a packet type outside 0-4, a namespace
// that is not a string, data of the wrong shape or an id that is not a
// non-negative integer are errors wrapping parser.ErrInvalidPacket. Like
// the JSON codec (and unlike the reference), an EVENT must start with a
// non-reserved event name, a string or a number. Decoding never panics
// and never allocates more than the message justifies.
//
// The arguments of a decoded packet are parser.Raw values holding their
// MessagePack bytes, slices of the message; they are decoded on demand
// (Codec.Unmarshal) and relayed unchanged. The quirks of notepack.io are
// accepted: undefined (fixext 1 of type 0) is nil and stands for an absent
// key; a Date is fixext 8 of type 0 (2.x) or the timestamp extension
// (3.x); the ArrayBuffer of notepack 2.x in Node.js (ext 8/16/32 of type
// 0) is binary, like bin; any other extension decodes to
// []any{int64(type), []byte(data)}, the pair notepack makes of it.
//
// A Codec is safe for concurrent use; its decoders hold no state.
package msgpack
