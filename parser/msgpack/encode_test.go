package msgpack

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/go-sio/socketio/parser"
)

type Inner struct {
	A     int    `json:"a"`
	Dup   string `json:"dup"`
	Plain string
}

type Other struct {
	Dup   string `json:"dup"`
	Plain string
	B     bool `json:"b,omitempty"`
}

type tagged struct {
	Plain string `json:"Plain"`
}

type outer struct {
	Inner                          // a, dup (ambiguous with Other.dup: dropped), Plain
	*Other                         // b
	tagged                         // Plain, tagged: wins over the untagged ones
	Name         string            `json:"name"`
	Skip         string            `json:"-"`
	Dash         string            `json:"-,"`
	Empty        string            `json:"empty,omitempty"`
	ZeroTime     time.Time         `json:"zt,omitzero"`
	Time         time.Time         `json:"t"`
	Ptr          *int              `json:"ptr"`
	Slice        []string          `json:"slice"`
	NilSlice     []string          `json:"nil_slice"`
	Bytes        []byte            `json:"bytes"`
	Array        [3]uint8          `json:"array"`
	Map          map[int]string    `json:"map"`
	Addr         netip.Addr        `json:"addr"`
	Big          *big.Int          `json:"big"`
	RawJSON      json.RawMessage   `json:"raw_json"`
	Number       json.Number       `json:"number"`
	Iface        any               `json:"iface"`
	Nested       map[string][]any  `json:"nested"`
	Float        float64           `json:"float"`
	Uint         uint16            `json:"uint"`
	BadTag       string            `json:"a\"b"`
	StrMap       map[string]string `json:"str_map,omitempty"`
	unexported   int
	Unexported2_ int `json:"u2"`
}

// TestEncodeStructLikeJSON checks that a struct goes out with the keys and
// values encoding/json gives it.
func TestEncodeStructLikeJSON(t *testing.T) {
	n := 5
	v := outer{
		Inner:  Inner{A: 1, Dup: "inner", Plain: "p1"},
		Other:  &Other{Dup: "other", Plain: "p2", B: true},
		tagged: tagged{Plain: "p3"},
		Name:   "x", Skip: "s", Dash: "d",
		Time:    time.Date(2024, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
		Ptr:     &n,
		Slice:   []string{"a"},
		Bytes:   []byte{1, 2, 3},
		Array:   [3]uint8{4, 5, 6},
		Map:     map[int]string{2: "b", 10: "a"},
		Addr:    netip.MustParseAddr("::1"),
		Big:     big.NewInt(123456789),
		RawJSON: json.RawMessage(`{"z":[1,2.5,"s"]}`),
		Number:  "12.5",
		Iface:   map[string]any{"k": []any{1, "v"}},
		Nested:  map[string][]any{"n": {nil, true}},
		Float:   0.25,
		Uint:    65535,
		BadTag:  "bad",

		unexported:   1,
		Unexported2_: 2,
	}
	for name, val := range map[string]any{"value": v, "pointer": &v, "in a slice": []outer{v}} {
		t.Run(name, func(t *testing.T) {
			var e encoder
			if err := e.any(val, 1); err != nil {
				t.Fatal(err)
			}
			var tree any
			if err := Default.Unmarshal(parser.NewRaw(Default, e.buf, nil), &tree); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(tree) // numbers, []byte and time.Time in JSON form
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(val)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("msgpack form differs from the JSON one\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestEncodeNilEmbeddedPointer(t *testing.T) {
	var e encoder
	if err := e.any(outer{Name: "x"}, 1); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := Default.Unmarshal(parser.NewRaw(Default, e.buf, nil), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["b"]; ok {
		t.Errorf("field of a nil embedded pointer encoded: %v", m)
	}
	if m["name"] != "x" {
		t.Errorf("name = %v", m["name"])
	}
}

func TestEncodeNumbersAsNotepack(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{0, "00"}, {127, "7f"}, {128, "cc 80"}, {256, "cd 0100"}, {65536, "ce 00010000"},
		{1 << 32, "cf 0000000100000000"}, {-1, "ff"}, {-32, "e0"}, {-33, "d0 df"}, {-129, "d1 ff7f"},
		{-32769, "d2 ffff7fff"}, {int64(-1) << 31, "d2 80000000"}, {int64(-1)<<31 - 1, "d3 ffffffff7fffffff"},
		{uint8(200), "cc c8"}, {int8(-5), "fb"}, {uint64(1<<64 - 1), "cf ffffffffffffffff"},
		{2.0, "02"}, {-2.0, "fe"}, {0.0, "00"}, {float32(3), "03"}, {1.5, "cb 3ff8000000000000"},
		{1e19, "cf 8ac7230489e80000"}, {1e20, "cb 4415af1d78b58c40"}, {1e300, "cb 7e37e43c8800759c"},
		{json.Number("12"), "0c"}, {json.Number("1.5"), "cb 3ff8000000000000"},
		{json.Number("18446744073709551615"), "cf ffffffffffffffff"},
	}
	for _, tt := range tests {
		var e encoder
		if err := e.any(tt.v, 1); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.buf, h(tt.want)) {
			t.Errorf("%T %v: got %x, want %s", tt.v, tt.v, e.buf, tt.want)
		}
	}
}
