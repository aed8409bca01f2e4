package msgpack

import (
	"testing"
	"time"

	"github.com/go-sio/socketio/parser"
)

var benchPacket = parser.Packet{
	Type: parser.Event, Namespace: "/chat", Event: "chat message", ID: 7, HasID: true,
	Args: []any{
		"hello, world",
		map[string]any{"from": "ann", "n": 42, "ratio": 0.5, "tags": []any{"a", "b"}},
		[]byte("0123456789abcdef"),
		time.UnixMilli(1700000000000),
	},
}

func BenchmarkEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default.Encode(&benchPacket); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	msgs, err := Default.Encode(&benchPacket)
	if err != nil {
		b.Fatal(err)
	}
	data := msgs[0].Data
	dec := Default.NewDecoder()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.Decode(data, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalAny(b *testing.B) {
	msgs, err := Default.Encode(&benchPacket)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Default.NewDecoder().Decode(msgs[0].Data, true)
	if err != nil {
		b.Fatal(err)
	}
	r := p.Args[1].(parser.Raw)
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := r.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalStruct(b *testing.B) {
	msgs, err := Default.Encode(&benchPacket)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Default.NewDecoder().Decode(msgs[0].Data, true)
	if err != nil {
		b.Fatal(err)
	}
	r := p.Args[1].(parser.Raw)
	type msg struct {
		From  string   `json:"from"`
		N     int      `json:"n"`
		Ratio float64  `json:"ratio"`
		Tags  []string `json:"tags"`
	}
	b.ReportAllocs()
	for b.Loop() {
		var v msg
		if err := r.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}
