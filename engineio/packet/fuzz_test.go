package packet

import (
	"bytes"
	"errors"
	"testing"
)

// checkPacket verifies the invariants of a packet a decoder accepted: its type
// is one of the seven, only messages are binary, its lengths are exact, and
// its text form decodes back to the same packet.
func checkPacket(t *testing.T, p Packet) {
	t.Helper()
	if p.Type > Noop {
		t.Fatalf("decoded unknown type %d", byte(p.Type))
	}
	if p.Binary && p.Type != Message {
		t.Fatalf("decoded binary %v packet", p.Type)
	}
	text := AppendText(nil, p)
	if len(text) != EncodedLen(p) {
		t.Fatalf("EncodedLen = %d, AppendText wrote %d bytes %q", EncodedLen(p), len(text), text)
	}
	again, err := DecodeText(text)
	if err != nil {
		t.Fatalf("DecodeText(AppendText(%+v) = %q): %v", p, text, err)
	}
	if !equalPacket(p, again) {
		t.Fatalf("round trip through %q: got %+v, want %+v", text, again, p)
	}
}

func checkError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
	}
}

func FuzzDecodeText(f *testing.F) {
	f.Fuzz(func(t *testing.T, text []byte) {
		orig := bytes.Clone(text)
		p, err := DecodeText(text)
		if !bytes.Equal(text, orig) {
			t.Fatalf("DecodeText modified its input")
		}
		if err != nil {
			checkError(t, err)
			return
		}
		checkPacket(t, p)
		// A text body is the input after the type digit, byte for byte.
		if !p.Binary && !bytes.Equal(p.Data, text[1:]) {
			t.Fatalf("text Data = %q, want %q", p.Data, text[1:])
		}
		// Binary bodies are bounded by the base64 they came from.
		if p.Binary && len(p.Data) > (len(text)-1)/4*3 {
			t.Fatalf("binary Data of %d bytes from %d bytes of base64", len(p.Data), len(text)-1)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		p, err := Decode(frame, binary)
		if err != nil {
			if binary {
				t.Fatalf("Decode of a binary frame failed: %v", err)
			}
			checkError(t, err)
			return
		}
		if binary && (!p.Binary || p.Type != Message || !bytes.Equal(p.Data, frame)) {
			t.Fatalf("Decode(%q, true) = %+v, want the frame as a binary message", frame, p)
		}
		if !binary {
			q, err := DecodeText(frame)
			if err != nil || !equalPacket(p, q) {
				t.Fatalf("Decode(%q, false) = %+v, DecodeText = %+v, %v", frame, p, q, err)
			}
		}
		checkPacket(t, p)
	})
}

func FuzzDecodePayload(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		var packets []Packet
		err := DecodePayload(payload, func(p Packet) error {
			checkPacket(t, p)
			if !p.Binary && bytes.IndexByte(p.Data, Separator) >= 0 {
				t.Fatalf("packet data %q holds a separator", p.Data)
			}
			packets = append(packets, p)
			return nil
		})
		if err != nil {
			checkError(t, err)
			// Every packet before the invalid one was delivered, and
			// re-encoding them gives back the valid prefix of the payload
			// (a base64 body may come back in its canonical form).
			if len(packets) > 0 {
				roundTripPayload(t, packets)
			}
			return
		}
		if len(packets) == 0 {
			t.Fatalf("DecodePayload(%q) succeeded with no packets", payload)
		}
		// Without base64 bodies the payload is reproduced byte for byte.
		enc := roundTripPayload(t, packets)
		canonical := true
		for _, p := range packets {
			canonical = canonical && !p.Binary
		}
		if canonical && !bytes.Equal(enc, payload) {
			t.Fatalf("AppendPayload = %q, want the input %q", enc, payload)
		}
		if n := bytes.Count(payload, []byte{Separator}) + 1; n != len(packets) {
			t.Fatalf("decoded %d packets from %d separated parts", len(packets), n)
		}
	})
}

// roundTripPayload encodes packets as a payload, checks PayloadLen, decodes
// it again and checks the packets are the same. It returns the encoding.
func roundTripPayload(t *testing.T, packets []Packet) []byte {
	t.Helper()
	enc := AppendPayload(nil, packets)
	if len(enc) != PayloadLen(packets) {
		t.Fatalf("PayloadLen = %d, AppendPayload wrote %d bytes", PayloadLen(packets), len(enc))
	}
	var again []Packet
	if err := DecodePayload(enc, func(p Packet) error {
		again = append(again, p)
		return nil
	}); err != nil {
		t.Fatalf("DecodePayload(AppendPayload(...) = %q): %v", enc, err)
	}
	if !equalPackets(packets, again) {
		t.Fatalf("payload round trip through %q: got %+v, want %+v", enc, again, packets)
	}
	return enc
}
