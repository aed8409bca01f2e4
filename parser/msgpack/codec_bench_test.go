package msgpack

import (
	"bytes"
	"testing"

	"github.com/go-sio/socketio/parser"
)

// The benchmarks of this file complete bench_test.go with the cases the
// JSON codec's benchmarks measure: a small struct event, a relay of raw
// arguments (the server echoing or broadcasting what a client sent), and
// 4 KiB of binary, which MessagePack carries inline.

type benchChat struct {
	From string `json:"from"`
	Text string `json:"text"`
	At   int64  `json:"at"`
}

type benchUpload struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

func encodeBench(b *testing.B, p *parser.Packet) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default.Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// decodeOf encodes p and decodes it again: the packet a server receives.
func decodeOf(b *testing.B, p *parser.Packet) (*parser.Packet, []byte) {
	b.Helper()
	msgs, err := Default.Encode(p)
	if err != nil {
		b.Fatal(err)
	}
	in, err := Default.NewDecoder().Decode(msgs[0].Data, true)
	if err != nil {
		b.Fatal(err)
	}
	return in, msgs[0].Data
}

var (
	benchChatPacket = parser.Packet{Type: parser.Event, Namespace: "/chat", Event: "message",
		Args: []any{benchChat{From: "ann", Text: "hello, how are you?", At: 1700000000000}}}
	benchUploadPacket = parser.Packet{Type: parser.Event, Namespace: "/chat", Event: "upload", ID: 7, HasID: true,
		Args: []any{benchUpload{Name: "photo.jpg", Data: bytes.Repeat([]byte{0xAB}, 4096)}}}
)

// BenchmarkEncodeEvent encodes a small chat message struct.
func BenchmarkEncodeEvent(b *testing.B) { encodeBench(b, &benchChatPacket) }

// BenchmarkEncodeRelay encodes the raw arguments of a received event.
func BenchmarkEncodeRelay(b *testing.B) {
	in, _ := decodeOf(b, &benchChatPacket)
	encodeBench(b, &parser.Packet{Type: parser.Event, Namespace: "/chat", Event: "message", Args: in.Args})
}

// BenchmarkEncodeAckRelay encodes an echo's acknowledgement: the raw
// arguments of the event under its ack id.
func BenchmarkEncodeAckRelay(b *testing.B) {
	in, _ := decodeOf(b, &benchPacket)
	encodeBench(b, &parser.Packet{Type: parser.Ack, Namespace: "/chat", ID: in.ID, HasID: true, Args: in.Args})
}

// BenchmarkEncodeBinary encodes a struct with a 4 KiB []byte field.
func BenchmarkEncodeBinary(b *testing.B) { encodeBench(b, &benchUploadPacket) }

// BenchmarkEncodeRelayBinary relays a raw argument holding 4 KiB of bin.
func BenchmarkEncodeRelayBinary(b *testing.B) {
	in, _ := decodeOf(b, &benchUploadPacket)
	encodeBench(b, &parser.Packet{Type: parser.Event, Namespace: "/chat", Event: "upload", Args: in.Args})
}

// BenchmarkDecodeBinary decodes the event with 4 KiB of bin.
func BenchmarkDecodeBinary(b *testing.B) {
	_, data := decodeOf(b, &benchUploadPacket)
	dec := Default.NewDecoder()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.Decode(data, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBindBinary decodes the raw upload argument into its struct.
func BenchmarkBindBinary(b *testing.B) {
	in, _ := decodeOf(b, &benchUploadPacket)
	r := in.Args[0].(parser.Raw)
	b.ReportAllocs()
	for b.Loop() {
		var u benchUpload
		if err := r.Decode(&u); err != nil {
			b.Fatal(err)
		}
		if len(u.Data) != 4096 {
			b.Fatalf("data: %d bytes, want 4096", len(u.Data))
		}
	}
}
