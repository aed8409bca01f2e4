package msgpack_test

import (
	"fmt"
	"time"

	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

type chatMessage struct {
	From string    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

func Example() {
	codec := msgpack.New()

	// One packet is one binary message.
	msgs, err := codec.Encode(&parser.Packet{
		Type:      parser.Event,
		Namespace: "/chat",
		Event:     "chat message",
		Args:      []any{chatMessage{From: "ann", Text: "hi", At: time.UnixMilli(1700000000000)}},
		ID:        1,
		HasID:     true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d message, binary: %v, %d bytes\n", len(msgs), msgs[0].Binary, len(msgs[0].Data))

	// The receiving side decodes the packet; its arguments stay raw until
	// a handler binds them.
	p, err := codec.NewDecoder().Decode(msgs[0].Data, msgs[0].Binary)
	if err != nil {
		panic(err)
	}
	var m chatMessage
	if err := p.Args[0].(parser.Raw).Decode(&m); err != nil {
		panic(err)
	}
	fmt.Println(p.Type, p.Namespace, p.Event, p.ID, m.From, m.Text, m.At.UTC().Format(time.RFC3339))

	var generic any
	if err := p.Args[0].(parser.Raw).Decode(&generic); err != nil {
		panic(err)
	}
	fmt.Println(generic)
	// Output:
	// 1 message, binary: true, 71 bytes
	// EVENT /chat chat message 1 ann hi 2023-11-14T22:13:20Z
	// map[at:2023-11-14 22:13:20 +0000 UTC from:ann text:hi]
}

// Binary values travel inline, and the Date and ArrayBuffer forms of
// notepack.io 2.x (what a Node.js peer sends) decode to time.Time and []byte.
func ExampleCodec_Unmarshal() {
	// 0x93: an array of 3 values: bin [1 2], notepack's ArrayBuffer
	// (ext 8 of type 0) [3 4], and notepack's Date (fixext 8 of type 0).
	raw := parser.NewRaw(msgpack.Default, []byte{
		0x93,
		0xc4, 0x02, 0x01, 0x02,
		0xc7, 0x02, 0x00, 0x03, 0x04,
		0xd7, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
	}, nil)
	var v []any
	if err := msgpack.Default.Unmarshal(raw, &v); err != nil {
		panic(err)
	}
	fmt.Println(v[0], v[1], v[2])
	// Output: [1 2] [3 4] 2023-11-14 22:13:20 +0000 UTC
}
