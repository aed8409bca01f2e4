package parser

import (
	"bytes"
	"testing"
)

type chatMessage struct {
	From string `json:"from"`
	Text string `json:"text"`
	At   int64  `json:"at"`
}

// BenchmarkEncodeEvent encodes a small chat message, a struct that cannot
// hold binary values.
func BenchmarkEncodeEvent(b *testing.B) {
	p := &Packet{Type: Event, Namespace: "/chat", Event: "message",
		Args: []any{chatMessage{From: "ann", Text: "hello, how are you?", At: 1700000000000}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default.Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeRelay encodes arguments received as Raw, as a server
// broadcasting what a client sent.
func BenchmarkEncodeRelay(b *testing.B) {
	in, err := Default.NewDecoder().Decode([]byte(`2/chat,["message",{"from":"ann","text":"hello, how are you?","at":1700000000000},"room-1"]`), false)
	if err != nil {
		b.Fatal(err)
	}
	p := &Packet{Type: Event, Namespace: "/chat", Event: "message", Args: in.Args}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default.Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEvent decodes a small chat message, arguments left raw.
func BenchmarkDecodeEvent(b *testing.B) {
	msg := []byte(`2/chat,12["message",{"from":"ann","text":"hello, how are you?","at":1700000000000}]`)
	d := Default.NewDecoder()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(msg, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeBinary encodes a struct with a 4 KiB binary field.
func BenchmarkEncodeBinary(b *testing.B) {
	type upload struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Data []byte `json:"data"`
	}
	p := &Packet{Type: Event, Event: "upload", ID: 3, HasID: true,
		Args: []any{upload{Name: "photo.jpg", Type: "image/jpeg", Data: bytes.Repeat([]byte{0xAB}, 4096)}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default.Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}
