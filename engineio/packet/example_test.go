package packet_test

import (
	"fmt"

	"github.com/go-sio/socketio/engineio/packet"
)

func ExampleAppendPayload() {
	packets := []packet.Packet{
		{Type: packet.Message, Data: []byte("hello")},
		{Type: packet.Message, Data: []byte{1, 2, 3, 4}, Binary: true},
		{Type: packet.Ping},
	}
	// Size the buffer once; AppendPayload then writes without allocating.
	buf := make([]byte, 0, packet.PayloadLen(packets))
	buf = packet.AppendPayload(buf, packets)
	fmt.Printf("%q\n", buf)
	fmt.Println(len(buf) == packet.PayloadLen(packets))
	// Output:
	// "4hello\x1ebAQIDBA==\x1e2"
	// true
}

func ExampleDecodePayload() {
	payload := []byte("4hello\x1ebAQIDBA==\x1e2probe")
	err := packet.DecodePayload(payload, func(p packet.Packet) error {
		if p.Binary {
			fmt.Printf("%v binary %v\n", p.Type, p.Data)
		} else {
			fmt.Printf("%v %q\n", p.Type, p.Data)
		}
		return nil
	})
	fmt.Println("error:", err)

	// Packets before an invalid one are still delivered.
	err = packet.DecodePayload([]byte("4ok\x1e9bad"), func(p packet.Packet) error {
		fmt.Printf("%v %q\n", p.Type, p.Data)
		return nil
	})
	fmt.Println("error:", err)
	// Output:
	// message "hello"
	// message binary [1 2 3 4]
	// ping "probe"
	// error: <nil>
	// message "ok"
	// error: engineio: invalid packet: unknown type '9'
}
