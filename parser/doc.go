// Package parser implements the Socket.IO v5 packet format: the packet
// model, the Codec interface, and the default JSON codec with binary
// attachments, byte-compatible with the reference socket.io-parser.
//
// Arguments stay encoded (Raw) until a handler decodes them, so a value that
// is relayed unchanged is written back byte for byte, object keys in their
// original order, without being decoded and encoded again.
//
// Decoding is strict, as the reference decoder: unknown packet types, bad
// attachment counts (more than MaxAttachments, 10 by default), placeholders
// that name no attachment, payloads of the wrong shape (a CONNECT payload
// that is not an object, an EVENT that is not an array starting with a
// non-reserved name...) are errors wrapping ErrInvalidPacket. Decoding
// never panics and never recurses on the nesting depth of a payload it
// only relays. (Deliberate differences: an EVENT or CONNECT_ERROR packet
// without any payload, which the reference decoder lets through, is
// refused.)
//
// Codecs are pure and safe for concurrent use; a Decoder holds the state of
// one connection (a binary packet waiting for its attachments).
package parser
