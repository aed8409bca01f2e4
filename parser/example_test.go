package parser_test

import (
	"fmt"

	"github.com/go-sio/socketio/parser"
)

// An event with a binary value is one text message, where a placeholder
// stands for the value, followed by one binary message per value.
func ExampleJSON_Encode() {
	type file struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	msgs, err := parser.Default.Encode(&parser.Packet{
		Type:      parser.Event,
		Namespace: "/uploads",
		Event:     "file",
		ID:        7,
		HasID:     true,
		Args:      []any{file{Name: "hello.txt", Data: []byte("hello")}},
	})
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		if m.Binary {
			fmt.Printf("binary: %q\n", m.Data)
		} else {
			fmt.Printf("text:   %s\n", m.Data)
		}
	}
	// Output:
	// text:   51-/uploads,7["file",{"name":"hello.txt","data":{"_placeholder":true,"num":0}}]
	// binary: "hello"
}

// A decoder takes the messages of one connection; arguments stay encoded
// until a handler binds them with Raw.Decode.
func ExampleRaw_Decode() {
	d := parser.Default.NewDecoder()
	p, err := d.Decode([]byte(`2/chat,3["message",{"from":"ann","text":"hi!"}]`), false)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Type, p.Namespace, p.Event, p.ID)

	arg := p.Args[0].(parser.Raw)
	fmt.Println("raw:", arg)
	var msg struct {
		From string `json:"from"`
		Text string `json:"text"`
	}
	if err := arg.Decode(&msg); err != nil {
		panic(err)
	}
	fmt.Printf("%s says %q\n", msg.From, msg.Text)
	// Output:
	// EVENT /chat message 3
	// raw: {"from":"ann","text":"hi!"}
	// ann says "hi!"
}

// A binary packet completes with its last attachment; placeholders then
// decode to the attachments.
func ExampleJSON_NewDecoder() {
	d := parser.Default.NewDecoder()
	for _, m := range []parser.Message{
		{Data: []byte(`51-["avatar",{"user":"ann","png":{"_placeholder":true,"num":0}}]`)},
		{Data: []byte{0x89, 'P', 'N', 'G'}, Binary: true},
	} {
		p, err := d.Decode(m.Data, m.Binary)
		if err != nil {
			panic(err)
		}
		if p == nil {
			fmt.Println("waiting for attachments")
			continue
		}
		var avatar struct {
			User string `json:"user"`
			PNG  []byte `json:"png"`
		}
		if err := p.Args[0].(parser.Raw).Decode(&avatar); err != nil {
			panic(err)
		}
		fmt.Printf("%s %s: %q\n", p.Event, avatar.User, avatar.PNG)
	}
	// Output:
	// waiting for attachments
	// avatar ann: "\x89PNG"
}

// Arguments received are sent on as they came, byte for byte.
func ExampleRaw() {
	p, err := parser.Default.NewDecoder().Decode([]byte(`2["move",{"y":2,"x":1}]`), false)
	if err != nil {
		panic(err)
	}
	msgs, err := parser.Default.Encode(&parser.Packet{Type: parser.Event, Namespace: "/game", Event: "moved", Args: p.Args})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", msgs[0].Data)
	// Output:
	// 2/game,["moved",{"y":2,"x":1}]
}
