package packet

import (
	"bytes"
	"testing"
)

// The benchmarks of this file complete bench_test.go (polling payloads)
// with single packets: the WebSocket frames of every message, and the
// base64 form binary takes over polling.

var (
	benchEvent  = []byte(`2["chat message",{"from":"alice","text":"hello, how are you today?"}]`)
	benchBinary = bytes.Repeat([]byte{0xAB}, 4096)
)

// BenchmarkDecodeTextFrame decodes a WebSocket text frame holding a
// Socket.IO event: "4" and the packet.
func BenchmarkDecodeTextFrame(b *testing.B) {
	frame := append([]byte{'4'}, benchEvent...)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(frame, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBinaryFrame decodes a WebSocket binary frame of 4 KiB.
func BenchmarkDecodeBinaryFrame(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(benchBinary, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTextBase64 decodes 4 KiB of binary in its text form
// ("b" and base64), as a polling client sends it.
func BenchmarkDecodeTextBase64(b *testing.B) {
	text := AppendText(nil, Packet{Type: Message, Data: benchBinary, Binary: true})
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeText(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendText writes the text frame of an event into a reused
// buffer.
func BenchmarkAppendText(b *testing.B) {
	p := Packet{Type: Message, Data: benchEvent}
	buf := make([]byte, 0, EncodedLen(p))
	b.SetBytes(int64(EncodedLen(p)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendText(buf[:0], p)
	}
}

// BenchmarkAppendTextBase64 writes 4 KiB of binary in its text form into
// a reused buffer.
func BenchmarkAppendTextBase64(b *testing.B) {
	p := Packet{Type: Message, Data: benchBinary, Binary: true}
	buf := make([]byte, 0, EncodedLen(p))
	b.SetBytes(int64(EncodedLen(p)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendText(buf[:0], p)
	}
}
