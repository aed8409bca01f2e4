package parser

import (
	"bytes"
	"testing"
)

// The benchmarks of this file complete bench_test.go: the decoding side of
// acknowledgements and binary packets, the relay of binary arguments (what
// a server does with a payload it broadcasts or echoes without decoding
// it) and the typed binding of a handler.

// benchDecode decodes one packet made of msgs per op with one decoder,
// failing when it does not complete a packet.
func benchDecode(b *testing.B, msgs []Message) {
	b.Helper()
	d := Default.NewDecoder()
	n := 0
	for _, m := range msgs {
		n += len(m.Data)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		var p *Packet
		for _, m := range msgs {
			var err error
			if p, err = d.Decode(m.Data, m.Binary); err != nil {
				b.Fatal(err)
			}
		}
		if p == nil {
			b.Fatal("no packet decoded")
		}
	}
}

// benchEncode encodes p per op.
func benchEncode(b *testing.B, p *Packet) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default.Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// mustDecode decodes msgs into one packet.
func mustDecode(b *testing.B, msgs ...Message) *Packet {
	b.Helper()
	d := Default.NewDecoder()
	var p *Packet
	for _, m := range msgs {
		var err error
		if p, err = d.Decode(m.Data, m.Binary); err != nil {
			b.Fatal(err)
		}
	}
	if p == nil {
		b.Fatal("incomplete packet")
	}
	return p
}

// binaryEventMessages is an event carrying a 4 KiB binary value, as the
// reference client sends it: a text header and one attachment.
func binaryEventMessages() []Message {
	return []Message{
		{Data: []byte(`51-/chat,7["upload",{"name":"photo.jpg","data":{"_placeholder":true,"num":0}}]`)},
		{Data: bytes.Repeat([]byte{0xAB}, 4096), Binary: true},
	}
}

// BenchmarkDecodeAck decodes an acknowledgement with one small object.
func BenchmarkDecodeAck(b *testing.B) {
	benchDecode(b, []Message{{Data: []byte(`3/chat,12[{"ok":true,"id":"a1b2c3"}]`)}})
}

// BenchmarkDecodeBinary decodes an event with a 4 KiB attachment: the
// header, then the binary message that completes it.
func BenchmarkDecodeBinary(b *testing.B) {
	benchDecode(b, binaryEventMessages())
}

// BenchmarkEncodeAckRelay encodes the acknowledgement of an echo: the
// arguments of the event, still raw, sent back under the event's ack id.
func BenchmarkEncodeAckRelay(b *testing.B) {
	in := mustDecode(b, Message{Data: []byte(`2/chat,12["echo",{"from":"ann","text":"hello, how are you?","at":1700000000000},42]`)})
	benchEncode(b, &Packet{Type: Ack, Namespace: "/chat", ID: in.ID, HasID: true, Args: in.Args})
}

// BenchmarkEncodeRelayBinary encodes a raw argument that holds a 4 KiB
// attachment, as a server relaying a client's binary payload.
func BenchmarkEncodeRelayBinary(b *testing.B) {
	in := mustDecode(b, binaryEventMessages()...)
	benchEncode(b, &Packet{Type: Event, Namespace: "/chat", Event: "upload", Args: in.Args})
}

// BenchmarkEncodeRelayLarge relays a 16 KiB JSON string argument.
func BenchmarkEncodeRelayLarge(b *testing.B) {
	text := bytes.Repeat([]byte("x"), 16<<10)
	in := mustDecode(b, Message{Data: append(append([]byte(`2["msg","`), text...), `"]`...)})
	benchEncode(b, &Packet{Type: Event, Event: "msg", Args: in.Args})
}

// BenchmarkBindStruct decodes a raw argument into a struct, as
// Event.Bind and the FuncN handlers do.
func BenchmarkBindStruct(b *testing.B) {
	in := mustDecode(b, Message{Data: []byte(`2/chat,["message",{"from":"ann","text":"hello, how are you?","at":1700000000000}]`)})
	r := in.Args[0].(Raw)
	b.ReportAllocs()
	for b.Loop() {
		var m chatMessage
		if err := r.Decode(&m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBindBinary decodes a raw argument with a placeholder into a
// struct with a []byte field: the attachment is put in place.
func BenchmarkBindBinary(b *testing.B) {
	in := mustDecode(b, binaryEventMessages()...)
	r := in.Args[0].(Raw)
	type upload struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	b.ReportAllocs()
	for b.Loop() {
		var u upload
		if err := r.Decode(&u); err != nil {
			b.Fatal(err)
		}
		if len(u.Data) != 4096 {
			b.Fatalf("data: %d bytes, want 4096", len(u.Data))
		}
	}
}
