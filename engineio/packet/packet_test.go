package packet

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// equalPacket reports whether a and b carry the same packet. A nil and an
// empty Data are the same on the wire, so they compare equal.
func equalPacket(a, b Packet) bool {
	return a.Type == b.Type && a.Binary == b.Binary && bytes.Equal(a.Data, b.Data)
}

func equalPackets(a, b []Packet) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalPacket(a[i], b[i]) {
			return false
		}
	}
	return true
}

// collect decodes payload and returns every packet handed to fn, copied so
// that it outlives payload, together with DecodePayload's error.
func collect(payload []byte) ([]Packet, error) {
	var got []Packet
	err := DecodePayload(payload, func(p Packet) error {
		if p.Data != nil {
			p.Data = bytes.Clone(p.Data)
		}
		got = append(got, p)
		return nil
	})
	return got, err
}

// textCases are single packets whose text form is exactly wire, both ways.
var textCases = []struct {
	name   string
	wire   string
	packet Packet
}{
	{"open", `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		Packet{Type: Open, Data: []byte(`{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)}},
	{"close", "1", Packet{Type: Close}},
	{"ping", "2", Packet{Type: Ping}},
	{"ping probe", "2probe", Packet{Type: Ping, Data: []byte("probe")}},
	{"pong", "3", Packet{Type: Pong}},
	{"pong probe", "3probe", Packet{Type: Pong, Data: []byte("probe")}},
	{"message", "4hello", Packet{Type: Message, Data: []byte("hello")}},
	{"empty message", "4", Packet{Type: Message}},
	{"utf-8 message", "4€😀", Packet{Type: Message, Data: []byte("€😀")}},
	{"message with digits", "4123", Packet{Type: Message, Data: []byte("123")}},
	{"upgrade", "5", Packet{Type: Upgrade}},
	{"noop", "6", Packet{Type: Noop}},
	{"binary", "bAQIDBA==", Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}},
	{"binary one byte", "bAA==", Packet{Type: Message, Data: []byte{0}, Binary: true}},
	{"binary two bytes", "b//8=", Packet{Type: Message, Data: []byte{0xff, 0xff}, Binary: true}},
	{"binary three bytes", "bAQID", Packet{Type: Message, Data: []byte{1, 2, 3}, Binary: true}},
	{"binary empty", "b", Packet{Type: Message, Data: []byte{}, Binary: true}},
}

func TestAppendText(t *testing.T) {
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendText(nil, tc.packet)
			if string(got) != tc.wire {
				t.Errorf("AppendText = %q, want %q", got, tc.wire)
			}
			if n := EncodedLen(tc.packet); n != len(tc.wire) {
				t.Errorf("EncodedLen = %d, want %d", n, len(tc.wire))
			}
			// AppendText appends: what dst held is kept.
			got = AppendText([]byte("xyz"), tc.packet)
			if string(got) != "xyz"+tc.wire {
				t.Errorf("AppendText after prefix = %q, want %q", got, "xyz"+tc.wire)
			}
		})
	}
}

func TestDecodeText(t *testing.T) {
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeText([]byte(tc.wire))
			if err != nil {
				t.Fatalf("DecodeText(%q): %v", tc.wire, err)
			}
			if !equalPacket(got, tc.packet) {
				t.Errorf("DecodeText(%q) = %+v, want %+v", tc.wire, got, tc.packet)
			}
		})
	}
}

func TestDecodeTextEmptyData(t *testing.T) {
	// A text packet with no data has nil Data; an empty binary body is a
	// non-nil empty slice, so callers can tell "b" from nothing at all.
	p, err := DecodeText([]byte("4"))
	if err != nil || p.Data != nil {
		t.Errorf(`DecodeText("4") = %+v, %v; want nil Data`, p, err)
	}
	p, err = DecodeText([]byte("b"))
	if err != nil || p.Data == nil || len(p.Data) != 0 {
		t.Errorf(`DecodeText("b") = %+v, %v; want empty non-nil Data`, p, err)
	}
}

func TestDecodeTextAliases(t *testing.T) {
	// Text data aliases the input; base64 data does not.
	text := []byte("4hello")
	p, err := DecodeText(text)
	if err != nil {
		t.Fatal(err)
	}
	text[1] = 'j'
	if string(p.Data) != "jello" {
		t.Errorf("text Data = %q, want it to alias the input", p.Data)
	}

	bin := []byte("bAQIDBA==")
	p, err = DecodeText(bin)
	if err != nil {
		t.Fatal(err)
	}
	copy(bin, "bBQIDBA==")
	if !bytes.Equal(p.Data, []byte{1, 2, 3, 4}) {
		t.Errorf("binary Data = %v, want a copy independent of the input", p.Data)
	}
}

func TestDecodeTextErrors(t *testing.T) {
	tests := []struct {
		name string
		wire string
	}{
		{"empty", ""},
		{"unknown type a", "a"},
		{"unknown type a with data", "ahello"},
		{"unknown type 7", "7"},
		{"unknown type 9", "9hello"},
		{"unknown type slash", "/"},
		{"unknown type colon", ":"},
		{"uppercase B", "BAQIDBA=="},
		{"separator alone", "\x1e"},
		{"NUL", "\x00"},
		{"multibyte first", "€"},
		{"bad base64 chars", "b!!!!"},
		{"base64 missing padding", "bAQIDBA"},
		{"base64 short padding", "bAQIDBA="},
		{"base64 one char", "bA"},
		{"base64 url alphabet", "b-_8="},
		{"base64 padding only", "b===="},
		{"base64 data after padding", "bAA==AA=="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := DecodeText([]byte(tc.wire))
			if err == nil {
				t.Fatalf("DecodeText(%q) = %+v, want error", tc.wire, p)
			}
			if !errors.Is(err, ErrInvalidPacket) {
				t.Errorf("DecodeText(%q) error %v does not wrap ErrInvalidPacket", tc.wire, err)
			}
			if !strings.HasPrefix(err.Error(), ErrInvalidPacket.Error()) {
				t.Errorf("error %q does not start with %q", err, ErrInvalidPacket)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		frame  []byte
		binary bool
		want   Packet
	}{
		{"binary frame", []byte{1, 2, 3, 4}, true, Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}},
		// A binary frame is raw bytes: no type prefix is read, even if
		// the first byte looks like one.
		{"binary frame starting with digit", []byte("4hello"), true, Packet{Type: Message, Data: []byte("4hello"), Binary: true}},
		{"binary frame base64 not decoded", []byte("bAQIDBA=="), true, Packet{Type: Message, Data: []byte("bAQIDBA=="), Binary: true}},
		{"empty binary frame", []byte{}, true, Packet{Type: Message, Data: []byte{}, Binary: true}},
		{"text frame message", []byte("4hello"), false, Packet{Type: Message, Data: []byte("hello")}},
		{"text frame probe", []byte("2probe"), false, Packet{Type: Ping, Data: []byte("probe")}},
		{"text frame base64", []byte("bAQIDBA=="), false, Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.frame, tc.binary)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !equalPacket(got, tc.want) {
				t.Errorf("Decode(%q, %v) = %+v, want %+v", tc.frame, tc.binary, got, tc.want)
			}
		})
	}

	for _, frame := range []string{"", "a", "7", "b!!!"} {
		if _, err := Decode([]byte(frame), false); !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("Decode(%q, false) error = %v, want ErrInvalidPacket", frame, err)
		}
	}
}

// payloadCases are polling payloads whose encoding is exactly wire, both ways.
var payloadCases = []struct {
	name    string
	wire    string
	packets []Packet
}{
	{"single message", "4hello", []Packet{{Type: Message, Data: []byte("hello")}}},
	{"single binary", "bAQIDBA==", []Packet{{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}}},
	{"text and binary", "4hello\x1ebAQIDBA==", []Packet{
		{Type: Message, Data: []byte("hello")},
		{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true},
	}},
	{"three messages", "4test1\x1e4test2\x1e4test3", []Packet{
		{Type: Message, Data: []byte("test1")},
		{Type: Message, Data: []byte("test2")},
		{Type: Message, Data: []byte("test3")},
	}},
	{"close after ping", "2\x1e1", []Packet{{Type: Ping}, {Type: Close}}},
	{"empty messages", "4\x1e4\x1e4", []Packet{{Type: Message}, {Type: Message}, {Type: Message}}},
	{"utf-8", "4€😀\x1e4é", []Packet{
		{Type: Message, Data: []byte("€😀")},
		{Type: Message, Data: []byte("é")},
	}},
	{"empty binary between", "4a\x1eb\x1e4b", []Packet{
		{Type: Message, Data: []byte("a")},
		{Type: Message, Data: []byte{}, Binary: true},
		{Type: Message, Data: []byte("b")},
	}},
	{"noop", "6", []Packet{{Type: Noop}}},
}

func TestAppendPayload(t *testing.T) {
	for _, tc := range payloadCases {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendPayload(nil, tc.packets)
			if string(got) != tc.wire {
				t.Errorf("AppendPayload = %q, want %q", got, tc.wire)
			}
			if n := PayloadLen(tc.packets); n != len(tc.wire) {
				t.Errorf("PayloadLen = %d, want %d", n, len(tc.wire))
			}
			got = AppendPayload([]byte("prefix"), tc.packets)
			if string(got) != "prefix"+tc.wire {
				t.Errorf("AppendPayload after prefix = %q", got)
			}
		})
	}
}

func TestAppendPayloadNone(t *testing.T) {
	if got := AppendPayload(nil, nil); len(got) != 0 {
		t.Errorf("AppendPayload(nil, nil) = %q, want empty", got)
	}
	if n := PayloadLen(nil); n != 0 {
		t.Errorf("PayloadLen(nil) = %d, want 0", n)
	}
}

func TestDecodePayload(t *testing.T) {
	for _, tc := range payloadCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collect([]byte(tc.wire))
			if err != nil {
				t.Fatalf("DecodePayload(%q): %v", tc.wire, err)
			}
			if !equalPackets(got, tc.packets) {
				t.Errorf("DecodePayload(%q) = %+v, want %+v", tc.wire, got, tc.packets)
			}
		})
	}
}

func TestDecodePayloadErrors(t *testing.T) {
	tests := []struct {
		name string
		wire string
		// before holds the packets delivered before the error.
		before []Packet
	}{
		{"empty payload", "", nil},
		{"separator only", "\x1e", nil},
		{"leading separator", "\x1e4hello", nil},
		{"trailing separator", "4hello\x1e", []Packet{{Type: Message, Data: []byte("hello")}}},
		{"double separator", "4a\x1e\x1e4b", []Packet{{Type: Message, Data: []byte("a")}}},
		{"unknown type first", "7\x1e4hello", nil},
		{"unknown type in the middle", "4test1\x1e4test2\x1eatest3\x1e4test4", []Packet{
			{Type: Message, Data: []byte("test1")},
			{Type: Message, Data: []byte("test2")},
		}},
		{"bad base64 in the middle", "2\x1eb!!!!\x1e3", []Packet{{Type: Ping}}},
		{"unknown type last", "4hello\x1e9", []Packet{{Type: Message, Data: []byte("hello")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collect([]byte(tc.wire))
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("DecodePayload(%q) error = %v, want ErrInvalidPacket", tc.wire, err)
			}
			if !equalPackets(got, tc.before) {
				t.Errorf("DecodePayload(%q) delivered %+v before the error, want %+v", tc.wire, got, tc.before)
			}
		})
	}
}

func TestDecodePayloadCallbackError(t *testing.T) {
	errStop := errors.New("stop")
	calls := 0
	err := DecodePayload([]byte("4a\x1e4b\x1e4c"), func(p Packet) error {
		calls++
		if string(p.Data) == "b" {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Errorf("DecodePayload error = %v, want fn's error returned as is", err)
	}
	if calls != 2 {
		t.Errorf("fn called %d times, want 2", calls)
	}
}

func TestEncodedLenMatchesAppend(t *testing.T) {
	// Every length of binary body exercises each base64 padding case.
	var packets []Packet
	for n := range 10 {
		data := bytes.Repeat([]byte{0xab}, n)
		packets = append(packets,
			Packet{Type: Message, Data: data, Binary: true},
			Packet{Type: Message, Data: data},
		)
	}
	for typ := Open; typ <= Noop; typ++ {
		packets = append(packets, Packet{Type: typ}, Packet{Type: typ, Data: []byte("probe")})
	}
	for _, p := range packets {
		if got, want := EncodedLen(p), len(AppendText(nil, p)); got != want {
			t.Errorf("EncodedLen(%+v) = %d, AppendText wrote %d", p, got, want)
		}
	}
	for i := range packets {
		ps := packets[:i]
		if got, want := PayloadLen(ps), len(AppendPayload(nil, ps)); got != want {
			t.Errorf("PayloadLen(%d packets) = %d, AppendPayload wrote %d", i, got, want)
		}
	}
}

func TestAppendPayloadAllocs(t *testing.T) {
	packets := []Packet{
		{Type: Message, Data: []byte("hello")},
		{Type: Message, Data: []byte{1, 2, 3, 4, 5, 6, 7}, Binary: true},
	}
	buf := make([]byte, 0, PayloadLen(packets))
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendPayload(buf[:0], packets)
	})
	if allocs != 0 {
		t.Errorf("AppendPayload into a buffer of PayloadLen allocated %v times, want 0", allocs)
	}
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		typ  Type
		want string
	}{
		{Open, "open"},
		{Close, "close"},
		{Ping, "ping"},
		{Pong, "pong"},
		{Message, "message"},
		{Upgrade, "upgrade"},
		{Noop, "noop"},
		{Type(7), "Type(7)"},
		{Type(255), "Type(255)"},
	}
	for _, tc := range tests {
		if got := tc.typ.String(); got != tc.want {
			t.Errorf("Type(%d).String() = %q, want %q", byte(tc.typ), got, tc.want)
		}
		if got := fmt.Sprint(tc.typ); got != tc.want {
			t.Errorf("fmt.Sprint(Type(%d)) = %q, want %q", byte(tc.typ), got, tc.want)
		}
	}
}

func TestTypeDigits(t *testing.T) {
	// The wire digit of each type is its protocol number.
	for typ, digit := range map[Type]byte{Open: '0', Close: '1', Ping: '2', Pong: '3', Message: '4', Upgrade: '5', Noop: '6'} {
		got := AppendText(nil, Packet{Type: typ})
		if len(got) != 1 || got[0] != digit {
			t.Errorf("AppendText(%v) = %q, want %q", typ, got, digit)
		}
	}
}
