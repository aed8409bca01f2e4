package msgpack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/parser"
)

// h decodes hex written with spaces for readability.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The expected bytes below are what socket.io-msgpack-parser 3.0.2 (notepack.io
// 2.2.0) writes for the same packet built as the Node.js server builds it
// (keys type, data, id, nsp); e2e/interop/msgpack_test.go checks them against
// the real package.
var encodeTests = []struct {
	name string
	p    parser.Packet
	want string
}{
	{
		name: "CONNECT without data",
		p:    parser.Packet{Type: parser.Connect, Namespace: "/"},
		want: "82 a4 74797065 00 a3 6e7370 a1 2f",
	},
	{
		name: "CONNECT with data",
		p:    parser.Packet{Type: parser.Connect, Namespace: "/", Data: map[string]any{"token": "abc"}},
		want: "83 a4 74797065 00 a4 64617461 81 a5 746f6b656e a3 616263 a3 6e7370 a1 2f",
	},
	{
		name: "empty namespace is the main one",
		p:    parser.Packet{Type: parser.Connect},
		want: "82 a4 74797065 00 a3 6e7370 a1 2f",
	},
	{
		name: "DISCONNECT",
		p:    parser.Packet{Type: parser.Disconnect, Namespace: "/chat"},
		want: "82 a4 74797065 01 a3 6e7370 a5 2f63686174",
	},
	{
		name: "DISCONNECT ignores Data",
		p:    parser.Packet{Type: parser.Disconnect, Namespace: "/chat", Data: "x"},
		want: "82 a4 74797065 01 a3 6e7370 a5 2f63686174",
	},
	{
		name: "EVENT",
		p:    parser.Packet{Type: parser.Event, Namespace: "/", Event: "hello", Args: []any{1, "world"}},
		want: "83 a4 74797065 02 a4 64617461 93 a5 68656c6c6f 01 a5 776f726c64 a3 6e7370 a1 2f",
	},
	{
		name: "EVENT with ack id and every kind of value",
		p: parser.Packet{Type: parser.Event, Namespace: "/chat", Event: "ev", ID: 5, HasID: true, Args: []any{
			[]byte{1, 2}, time.UnixMilli(1700000000000), nil, -1.5, 300, -300, 4294967296, -4294967297,
		}},
		want: "84 a4 74797065 02 a4 64617461 99 a2 6576 c4 02 0102 d7 00 0000018bcfe56800 c0" +
			" cb bff8000000000000 cd 012c d1 fed4 cf 0000000100000000 d3 fffffffeffffffff" +
			" a2 6964 05 a3 6e7370 a5 2f63686174",
	},
	{
		name: "BINARY_EVENT is an EVENT",
		p:    parser.Packet{Type: parser.BinaryEvent, Namespace: "/", Event: "b", Args: []any{[]byte{0xff}}},
		want: "83 a4 74797065 02 a4 64617461 92 a1 62 c4 01 ff a3 6e7370 a1 2f",
	},
	{
		name: "ACK without arguments",
		p:    parser.Packet{Type: parser.Ack, Namespace: "/", ID: 1, HasID: true},
		want: "84 a4 74797065 03 a4 64617461 90 a2 6964 01 a3 6e7370 a1 2f",
	},
	{
		name: "BINARY_ACK is an ACK",
		p:    parser.Packet{Type: parser.BinaryAck, Namespace: "/", ID: 300, HasID: true, Args: []any{[]byte{}}},
		want: "84 a4 74797065 03 a4 64617461 91 c4 00 a2 6964 cd 012c a3 6e7370 a1 2f",
	},
	{
		name: "CONNECT_ERROR with a string",
		p:    parser.Packet{Type: parser.ConnectError, Namespace: "/", Data: "nope"},
		want: "83 a4 74797065 04 a4 64617461 a4 6e6f7065 a3 6e7370 a1 2f",
	},
	{
		name: "CONNECT_ERROR with a map",
		p:    parser.Packet{Type: parser.ConnectError, Namespace: "/", Data: map[string]any{"message": "nope"}},
		want: "83 a4 74797065 04 a4 64617461 81 a7 6d657373616765 a4 6e6f7065 a3 6e7370 a1 2f",
	},
}

func TestEncodeExactBytes(t *testing.T) {
	for _, tt := range encodeTests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := New().Encode(&tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || !msgs[0].Binary {
				t.Fatalf("got %d messages (binary %v), want one binary message", len(msgs), len(msgs) > 0 && msgs[0].Binary)
			}
			if got, want := msgs[0].Data, h(tt.want); !bytes.Equal(got, want) {
				t.Errorf("encoded\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestEncodeRejectsUnknownType(t *testing.T) {
	_, err := Default.Encode(&parser.Packet{Type: 7, Namespace: "/"})
	if !errors.Is(err, parser.ErrInvalidPacket) {
		t.Fatalf("err = %v, want ErrInvalidPacket", err)
	}
}

// rawBytes returns the bytes of a Raw (failing for anything else).
func rawBytes(t testing.TB, v any) []byte {
	t.Helper()
	r, ok := v.(parser.Raw)
	if !ok {
		t.Fatalf("%T is not a parser.Raw", v)
	}
	if _, ok := r.Codec().(*Codec); !ok {
		t.Fatalf("Raw of codec %T", r.Codec())
	}
	if r.Attachments() != nil {
		t.Fatalf("Raw with attachments")
	}
	return r.Bytes()
}

// samePacket reports how two decoded packets differ ("" when they don't).
func samePacket(t testing.TB, got, want *parser.Packet) string {
	t.Helper()
	var diffs []string
	if got.Type != want.Type || got.Namespace != want.Namespace || got.ID != want.ID ||
		got.HasID != want.HasID || got.Event != want.Event {
		diffs = append(diffs, fmt.Sprintf("header %v %q id=%d/%v event=%q, want %v %q id=%d/%v event=%q",
			got.Type, got.Namespace, got.ID, got.HasID, got.Event,
			want.Type, want.Namespace, want.ID, want.HasID, want.Event))
	}
	if len(got.Args) != len(want.Args) {
		diffs = append(diffs, fmt.Sprintf("%d args, want %d", len(got.Args), len(want.Args)))
	} else {
		for i := range got.Args {
			if g, w := rawBytes(t, got.Args[i]), rawBytes(t, want.Args[i]); !bytes.Equal(g, w) {
				diffs = append(diffs, fmt.Sprintf("arg %d = %x, want %x", i, g, w))
			}
		}
	}
	switch {
	case (got.Data == nil) != (want.Data == nil):
		diffs = append(diffs, fmt.Sprintf("data %v, want %v", got.Data, want.Data))
	case got.Data != nil:
		if g, w := rawBytes(t, got.Data), rawBytes(t, want.Data); !bytes.Equal(g, w) {
			diffs = append(diffs, fmt.Sprintf("data = %x, want %x", g, w))
		}
	}
	return strings.Join(diffs, "; ")
}

func decodeHex(t testing.TB, s string) (*parser.Packet, error) {
	t.Helper()
	return Default.NewDecoder().Decode(h(s), true)
}

// raw is a Raw of the default codec holding the bytes of hex s.
func raw(s string) parser.Raw { return parser.NewRaw(Default, h(s), nil) }

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want parser.Packet
	}{
		{
			name: "CONNECT without data",
			in:   "82 a4 74797065 00 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Connect, Namespace: "/"},
		},
		{
			name: "CONNECT with undefined data (socket.io-client without auth)",
			in:   "83 a4 74797065 00 a4 64617461 d4 00 00 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Connect, Namespace: "/"},
		},
		{
			name: "CONNECT with data",
			in:   "83 a4 74797065 00 a4 64617461 81 a5 746f6b656e a3 616263 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Connect, Namespace: "/", Data: raw("81 a5 746f6b656e a3 616263")},
		},
		{
			name: "DISCONNECT with undefined data",
			in:   "83 a4 74797065 01 a3 6e7370 a5 2f63686174 a4 64617461 d4 00 00",
			want: parser.Packet{Type: parser.Disconnect, Namespace: "/chat"},
		},
		{
			name: "EVENT, keys in another order",
			in:   "84 a3 6e7370 a1 2f a2 6964 05 a4 64617461 93 a5 68656c6c6f 01 a5 776f726c64 a4 74797065 02",
			want: parser.Packet{Type: parser.Event, Namespace: "/", ID: 5, HasID: true, Event: "hello",
				Args: []any{raw("01"), raw("a5 776f726c64")}},
		},
		{
			name: "EVENT from socket.io-client, with its options key",
			in: "85 a4 74797065 02 a4 64617461 92 a2 6869 d4 00 00 a7 6f7074696f6e73 81 a8 636f6d7072657373 c3" +
				" a2 6964 00 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Event, Namespace: "/", HasID: true, Event: "hi", Args: []any{raw("d4 00 00")}},
		},
		{
			name: "EVENT without arguments",
			in:   "83 a4 74797065 02 a4 64617461 91 a1 65 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Event, Namespace: "/", Event: "e", Args: []any{}},
		},
		{
			name: "EVENT with an integer name",
			in:   "83 a4 74797065 02 a4 64617461 91 d1 fed4 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Event, Namespace: "/", Event: "-300", Args: []any{}},
		},
		{
			name: "EVENT with a float name",
			in:   "83 a4 74797065 02 a4 64617461 91 cb 3ff8000000000000 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Event, Namespace: "/", Event: "1.5", Args: []any{}},
		},
		{
			name: "type and id as integral floats (Number.isInteger accepts them)",
			in:   "84 a4 74797065 cb 4008000000000000 a4 64617461 91 c3 a2 6964 ca 40e00000 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Ack, Namespace: "/", ID: 7, HasID: true, Args: []any{raw("c3")}},
		},
		{
			name: "undefined id is no id",
			in:   "84 a4 74797065 03 a4 64617461 90 a2 6964 d4 00 00 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Ack, Namespace: "/", Args: []any{}},
		},
		{
			name: "largest id",
			in:   "84 a4 74797065 03 a4 64617461 90 a2 6964 cf ffffffffffffffff a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Ack, Namespace: "/", ID: 1<<64 - 1, HasID: true, Args: []any{}},
		},
		{
			name: "a repeated key replaces the first",
			in:   "83 a4 74797065 05 a3 6e7370 a1 2f a4 74797065 01",
			want: parser.Packet{Type: parser.Disconnect, Namespace: "/"},
		},
		{
			name: "unknown and non-string keys are ignored",
			in:   "84 a4 74797065 01 01 92 c0 c0 c4 02 6964 a1 78 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Disconnect, Namespace: "/"},
		},
		{
			name: "CONNECT_ERROR with a string",
			in:   "83 a4 74797065 04 a4 64617461 a4 6e6f7065 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.ConnectError, Namespace: "/", Data: raw("a4 6e6f7065")},
		},
		{
			name: "namespace with a long string header",
			in:   "82 a4 74797065 01 a3 6e7370 d9 05 2f63686174",
			want: parser.Packet{Type: parser.Disconnect, Namespace: "/chat"},
		},
		{
			name: "map 16 header",
			in:   "de 0002 a4 74797065 01 a3 6e7370 a1 2f",
			want: parser.Packet{Type: parser.Disconnect, Namespace: "/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeHex(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := samePacket(t, got, &tt.want); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	nested := func(depth int) string {
		return "83 a4 74797065 03 a4 64617461" + strings.Repeat(" 91", depth) + " c0 a3 6e7370 a1 2f"
	}
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"not a map", "93 00 a1 2f 90"},
		{"nil", "c0"},
		{"unused code", "c1"},
		{"truncated map", "83 a4 74797065 00 a3 6e7370"},
		{"trailing bytes", "82 a4 74797065 00 a3 6e7370 a1 2f 00"},
		{"two packets", "82 a4 74797065 01 a3 6e7370 a1 2f 82 a4 74797065 01 a3 6e7370 a1 2f"},
		{"no type", "81 a3 6e7370 a1 2f"},
		{"undefined type", "82 a4 74797065 d4 00 00 a3 6e7370 a1 2f"},
		{"type 5 (no binary packets in this format)", "83 a4 74797065 05 a4 64617461 91 a1 65 a3 6e7370 a1 2f"},
		{"type 6", "83 a4 74797065 06 a4 64617461 90 a3 6e7370 a1 2f"},
		{"negative type", "82 a4 74797065 ff a3 6e7370 a1 2f"},
		{"fractional type", "82 a4 74797065 cb 3ff8000000000000 a3 6e7370 a1 2f"},
		{"string type", "82 a4 74797065 a1 31 a3 6e7370 a1 2f"},
		{"huge type", "82 a4 74797065 cf 8000000000000001 a3 6e7370 a1 2f"},
		{"no namespace", "81 a4 74797065 01"},
		{"namespace not a string", "82 a4 74797065 01 a3 6e7370 00"},
		{"binary namespace", "82 a4 74797065 01 a3 6e7370 c4 01 2f"},
		{"CONNECT with nil data", "83 a4 74797065 00 a4 64617461 c0 a3 6e7370 a1 2f"},
		{"CONNECT with array data", "83 a4 74797065 00 a4 64617461 90 a3 6e7370 a1 2f"},
		{"CONNECT with string data", "83 a4 74797065 00 a4 64617461 a1 78 a3 6e7370 a1 2f"},
		{"CONNECT with a Date", "83 a4 74797065 00 a4 64617461 d7 00 0000018bcfe56800 a3 6e7370 a1 2f"},
		{"DISCONNECT with data", "83 a4 74797065 01 a4 64617461 80 a3 6e7370 a1 2f"},
		{"DISCONNECT with nil data", "83 a4 74797065 01 a4 64617461 c0 a3 6e7370 a1 2f"},
		{"CONNECT_ERROR without data", "82 a4 74797065 04 a3 6e7370 a1 2f"},
		{"CONNECT_ERROR with a number", "83 a4 74797065 04 a4 64617461 01 a3 6e7370 a1 2f"},
		{"EVENT without data", "82 a4 74797065 02 a3 6e7370 a1 2f"},
		{"EVENT with map data", "83 a4 74797065 02 a4 64617461 80 a3 6e7370 a1 2f"},
		{"EVENT with empty array", "83 a4 74797065 02 a4 64617461 90 a3 6e7370 a1 2f"},
		{"EVENT with a reserved name", "83 a4 74797065 02 a4 64617461 91 a7 636f6e6e656374 a3 6e7370 a1 2f"},
		{"EVENT named disconnecting", "83 a4 74797065 02 a4 64617461 91 ad 646973636f6e6e656374696e67 a3 6e7370 a1 2f"},
		{"EVENT with a bool name", "83 a4 74797065 02 a4 64617461 91 c3 a3 6e7370 a1 2f"},
		{"EVENT with a nil name", "83 a4 74797065 02 a4 64617461 91 c0 a3 6e7370 a1 2f"},
		{"EVENT with a binary name", "83 a4 74797065 02 a4 64617461 91 c4 01 65 a3 6e7370 a1 2f"},
		{"ACK with string data", "83 a4 74797065 03 a4 64617461 a0 a3 6e7370 a1 2f"},
		{"string id", "84 a4 74797065 03 a4 64617461 90 a2 6964 a1 31 a3 6e7370 a1 2f"},
		{"nil id", "84 a4 74797065 03 a4 64617461 90 a2 6964 c0 a3 6e7370 a1 2f"},
		{"fractional id", "84 a4 74797065 03 a4 64617461 90 a2 6964 cb 3ff8000000000000 a3 6e7370 a1 2f"},
		{"negative id", "84 a4 74797065 03 a4 64617461 90 a2 6964 ff a3 6e7370 a1 2f"},
		{"id past 64 bits", "84 a4 74797065 03 a4 64617461 90 a2 6964 cb 4430000000000000 a3 6e7370 a1 2f"},
		{"string longer than the input", "82 a4 74797065 01 a3 6e7370 db ffffffff 2f"},
		{"binary longer than the input", "83 a4 74797065 02 a4 64617461 92 a1 65 c6 7fffffff 00 a3 6e7370 a1 2f"},
		{"ext longer than the input", "83 a4 74797065 02 a4 64617461 92 a1 65 c9 7fffffff 00 a3 6e7370 a1 2f"},
		{"array longer than the input", "83 a4 74797065 02 a4 64617461 dd ffffffff a1 65 a3 6e7370 a1 2f"},
		{"map longer than the input", "df 7fffffff a4 74797065 01 a3 6e7370 a1 2f"},
		{"truncated float", "82 a4 74797065 cb 0000"},
		{"truncated fixext", "83 a4 74797065 02 a4 64617461 92 a1 65 d8 01 00"},
		{"nesting too deep", nested(maxDepth)},
		{"deep nesting in an ignored key", "83 a4 74797065 01 a3 6e7370 a1 2f a1 78" + strings.Repeat(" 91", maxDepth) + " c0"},
		{"deep nesting in a key", "83 a4 74797065 01 a3 6e7370 a1 2f" + strings.Repeat(" 91", maxDepth) + " c0 c0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodeHex(t, tt.in)
			if !errors.Is(err, parser.ErrInvalidPacket) {
				t.Fatalf("Decode = %+v, %v; want an error wrapping ErrInvalidPacket", p, err)
			}
		})
	}

	t.Run("text message", func(t *testing.T) {
		_, err := Default.NewDecoder().Decode(h("82 a4 74797065 01 a3 6e7370 a1 2f"), false)
		if !errors.Is(err, parser.ErrInvalidPacket) {
			t.Fatalf("err = %v, want ErrInvalidPacket", err)
		}
	})
	t.Run("deepest accepted nesting", func(t *testing.T) {
		// The packet map, the data array, then arrays down to level maxDepth-1.
		if _, err := decodeHex(t, nested(maxDepth-3)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDecodedArgsShareTheMessage(t *testing.T) {
	msg := h("83 a4 74797065 02 a4 64617461 92 a1 65 c4 03 010203 a3 6e7370 a1 2f")
	p, err := Default.NewDecoder().Decode(msg, true)
	if err != nil {
		t.Fatal(err)
	}
	b := rawBytes(t, p.Args[0])
	if &b[0] != &msg[15] || cap(b) != len(b) {
		t.Fatalf("arg is not the slice of the message it came from")
	}
}

// TestRoundTrip encodes values, decodes the packet and unmarshals the
// arguments into any.
func TestRoundTrip(t *testing.T) {
	date := time.Date(2024, 2, 29, 12, 30, 45, 123_000_000, time.UTC)
	type inner struct {
		N int `json:"n"`
	}
	in := []any{
		nil, true, false, 0, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, int64(-1 << 63), uint64(1<<64 - 1),
		-1, -32, -33, -128, -129, -32768, -32769, -1 << 31, -1<<31 - 1,
		1.5, -0.25, 2.0, float32(0.5), 1e300,
		"", "héllo, 世界 🌍", strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("z", 256), strings.Repeat("w", 65536),
		[]byte{}, []byte{0, 1, 2}, bytes.Repeat([]byte{7}, 256), bytes.Repeat([]byte{8}, 65536),
		date,
		[]any{1, "a", []any{}}, map[string]any{"b": 2, "a": map[string]any{"c": []byte{9}}},
		make([]any, 16), make([]any, 65536),
		inner{N: 3}, &inner{N: 4}, []int{1, 2}, map[string]int{"x": 1},
	}
	want := []any{
		nil, true, false, int64(0), int64(127), int64(128), int64(255), int64(256), int64(65535), int64(65536), int64(1<<32 - 1), int64(1 << 32), int64(-1 << 63), uint64(1<<64 - 1),
		int64(-1), int64(-32), int64(-33), int64(-128), int64(-129), int64(-32768), int64(-32769), int64(-1 << 31), int64(-1<<31 - 1),
		1.5, -0.25, int64(2), 0.5, 1e300,
		"", "héllo, 世界 🌍", strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("z", 256), strings.Repeat("w", 65536),
		[]byte{}, []byte{0, 1, 2}, bytes.Repeat([]byte{7}, 256), bytes.Repeat([]byte{8}, 65536),
		date,
		[]any{int64(1), "a", []any{}}, map[string]any{"b": int64(2), "a": map[string]any{"c": []byte{9}}},
		make([]any, 16), make([]any, 65536),
		map[string]any{"n": int64(3)}, map[string]any{"n": int64(4)}, []any{int64(1), int64(2)}, map[string]any{"x": int64(1)},
	}
	msgs, err := Default.Encode(&parser.Packet{Type: parser.Event, Namespace: "/x", Event: "all", Args: in, ID: 42, HasID: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Default.NewDecoder().Decode(msgs[0].Data, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != parser.Event || p.Namespace != "/x" || p.Event != "all" || !p.HasID || p.ID != 42 || len(p.Args) != len(want) {
		t.Fatalf("decoded %v %q %q id=%d/%v with %d args", p.Type, p.Namespace, p.Event, p.ID, p.HasID, len(p.Args))
	}
	for i, a := range p.Args {
		var got any
		if err := a.(parser.Raw).Decode(&got); err != nil {
			t.Fatalf("arg %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("arg %d: got %#v, want %#v", i, short(got), short(want[i]))
		}
	}
}

func short(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// TestRelayRaw checks that decoded arguments are written back byte for
// byte, and that a Raw of the JSON codec is converted.
func TestRelayRaw(t *testing.T) {
	msg := h("84 a4 74797065 02 a4 64617461 94 a1 65 d4 00 00 c7 02 00 0102 82 a1 62 01 a1 61 02 a2 6964 07 a3 6e7370 a1 2f")
	p, err := Default.NewDecoder().Decode(msg, true)
	if err != nil {
		t.Fatal(err)
	}
	out, err := New().Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[0].Data, msg) {
		t.Fatalf("relayed\n got %x\nwant %x", out[0].Data, msg)
	}

	j, err := parser.Default.NewDecoder().Decode([]byte(`2["e",{"b":1,"a":[1.5,"x",null]}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	out, err = Default.Encode(j)
	if err != nil {
		t.Fatal(err)
	}
	want := h("83 a4 74797065 02 a4 64617461 92 a1 65 82 a1 61 93 cb 3ff8000000000000 a1 78 c0 a1 62 01 a3 6e7370 a1 2f")
	if !bytes.Equal(out[0].Data, want) {
		t.Fatalf("JSON Raw encoded\n got %x\nwant %x", out[0].Data, want)
	}

	// A JSON Raw with a binary attachment: the attachment becomes bin.
	jd := parser.Default.NewDecoder()
	if p, err := jd.Decode([]byte(`51-["e",{"b":{"_placeholder":true,"num":0}}]`), false); p != nil || err != nil {
		t.Fatalf("header: %v, %v", p, err)
	}
	j, err = jd.Decode([]byte{0xca, 0xfe}, true)
	if err != nil {
		t.Fatal(err)
	}
	out, err = Default.Encode(j)
	if err != nil {
		t.Fatal(err)
	}
	want = h("83 a4 74797065 02 a4 64617461 92 a1 65 81 a1 62 c4 02 cafe a3 6e7370 a1 2f")
	if !bytes.Equal(out[0].Data, want) {
		t.Fatalf("JSON Raw with an attachment encoded\n got %x\nwant %x", out[0].Data, want)
	}

	// And the other way: a msgpack Raw given to the JSON codec.
	jm, err := parser.Default.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(jm[0].Data); got != `51-7["e",null,{"_placeholder":true,"num":0},{"a":2,"b":1}]` || !bytes.Equal(jm[1].Data, []byte{1, 2}) {
		t.Fatalf("JSON codec wrote %s", got)
	}
}

func TestEncodeErrors(t *testing.T) {
	type loop struct {
		Next *loop `json:"next"`
	}
	l := &loop{}
	l.Next = l
	var self any
	self = &self
	deep := any(nil)
	for range maxDepth {
		deep = []any{deep}
	}
	for name, arg := range map[string]any{
		"pointer cycle":      l,
		"interface cycle":    self,
		"too deep":           deep,
		"channel":            make(chan int),
		"func":               func() {},
		"complex":            1i,
		"map with bool keys": map[bool]int{true: 1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Default.Encode(&parser.Packet{Type: parser.Event, Namespace: "/", Event: "e", Args: []any{arg}}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
