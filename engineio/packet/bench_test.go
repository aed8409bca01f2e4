package packet

import "testing"

// benchPackets is a typical polling response: a few text messages of the
// size Socket.IO events tend to have, and one binary attachment.
func benchPackets() []Packet {
	event := []byte(`2["chat message",{"from":"alice","text":"hello, how are you today?"}]`)
	attachment := make([]byte, 256)
	for i := range attachment {
		attachment[i] = byte(i)
	}
	return []Packet{
		{Type: Message, Data: event},
		{Type: Message, Data: event},
		{Type: Message, Data: event},
		{Type: Message, Data: attachment, Binary: true},
		{Type: Ping},
	}
}

func BenchmarkAppendPayload(b *testing.B) {
	packets := benchPackets()
	buf := make([]byte, 0, PayloadLen(packets))
	b.SetBytes(int64(PayloadLen(packets)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPayload(buf[:0], packets)
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	payload := AppendPayload(nil, benchPackets())
	n := 0
	count := func(p Packet) error {
		n += len(p.Data)
		return nil
	}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodePayload(payload, count); err != nil {
			b.Fatal(err)
		}
	}
	if n == 0 {
		b.Fatal("no data decoded")
	}
}
