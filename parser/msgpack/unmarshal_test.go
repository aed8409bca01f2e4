package msgpack

import (
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/parser"
)

func TestUnmarshalAny(t *testing.T) {
	ms := time.UnixMilli(1700000000123).UTC()
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"nil", "c0", nil},
		{"undefined (notepack 2.x)", "d4 00 00", nil},
		{"undefined ignores its data byte", "d4 00 ff", nil},
		{"true", "c3", true},
		{"positive fixint", "7f", int64(127)},
		{"negative fixint", "e0", int64(-32)},
		{"uint 8", "cc ff", int64(255)},
		{"uint 16", "cd ffff", int64(65535)},
		{"uint 32", "ce ffffffff", int64(1<<32 - 1)},
		{"uint 64 in int64 range", "cf 7fffffffffffffff", int64(math.MaxInt64)},
		{"uint 64 above int64", "cf 8000000000000000", uint64(1 << 63)},
		{"int 8", "d0 80", int64(-128)},
		{"int 8 positive", "d0 05", int64(5)},
		{"int 16", "d1 8000", int64(-32768)},
		{"int 32", "d2 80000000", int64(-1 << 31)},
		{"int 64", "d3 8000000000000000", int64(-1 << 63)},
		{"float 32", "ca 3fc00000", 1.5},
		{"float 64", "cb 400921fb54442d18", math.Pi},
		{"fixstr", "a3 616263", "abc"},
		{"str 8", "d9 03 616263", "abc"},
		{"str 16", "da 0003 616263", "abc"},
		{"str 32", "db 00000003 616263", "abc"},
		{"utf-8", "a6 e4b896e7958c", "世界"},
		{"bin 8", "c4 02 0102", []byte{1, 2}},
		{"bin 16", "c5 0001 ff", []byte{0xff}},
		{"bin 32", "c6 00000000", []byte{}},
		{"Date (notepack 2.x)", "d7 00 0000018bcfe5687b", ms},
		{"Date before 1970", "d7 00 ffffffffffffffff", time.UnixMilli(-1).UTC()},
		{"ArrayBuffer, ext 8 (notepack 2.x in Node.js)", "c7 03 00 010203", []byte{1, 2, 3}},
		{"ArrayBuffer, ext 16", "c8 0001 00 09", []byte{9}},
		{"ArrayBuffer, ext 32", "c9 00000000 00", []byte{}},
		{"timestamp 32 (notepack 3.x)", "d6 ff 6553f100", time.Unix(1700000000, 0).UTC()},
		{"timestamp 64", "d7 ff 1d535300 6553f100", time.Unix(1700000000, 123_000_000).UTC()},
		{"timestamp 96", "c7 0c ff 00000001 fffffffffffffff0", time.Unix(-16, 1).UTC()},
		{"other extension", "d5 05 0102", []any{int64(5), []byte{1, 2}}},
		{"fixext 2 of type 0", "d5 00 0102", []any{int64(0), []byte{1, 2}}},
		{"timestamp of a bad size", "c7 01 ff 00", []any{int64(-1), []byte{0}}},
		{"array", "93 01 a1 61 90", []any{int64(1), "a", []any{}}},
		{"array 16", "dc 0001 c2", []any{false}},
		{"map", "82 a1 61 01 a1 62 81 a1 63 c0", map[string]any{"a": int64(1), "b": map[string]any{"c": nil}}},
		{"map 32", "df 00000001 a1 61 d4 00 00", map[string]any{"a": nil}},
		{"map keys as JavaScript makes them", "85 01 01 ff 02 cb 3ff8000000000000 03 c3 04 c0 05",
			map[string]any{"1": int64(1), "-1": int64(2), "1.5": int64(3), "true": int64(4), "null": int64(5)}},
		{"repeated key: the last wins", "82 a1 61 01 a1 61 02", map[string]any{"a": int64(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any = "sentinel"
			if err := Default.Unmarshal(raw(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":            "",
		"trailing bytes":   "01 02",
		"truncated string": "a3 6162",
		"truncated array":  "92 01",
		"array too long":   "dd 7fffffff 01",
		"map too long":     "df 7fffffff 01 01",
		"unused code":      "c1",
		"array key":        "81 90 01",
		"too deep":         strings.Repeat("91 ", maxDepth) + "c0",
	} {
		t.Run(name, func(t *testing.T) {
			var v any
			if err := Default.Unmarshal(raw(in), &v); err == nil {
				t.Fatalf("no error, got %#v", v)
			}
			var s []any
			if err := Default.Unmarshal(raw(in), &s); err == nil {
				t.Fatalf("no error into a slice, got %#v", s)
			}
		})
	}
	var v any
	if err := Default.Unmarshal(raw("01"), v); err == nil {
		t.Fatal("Unmarshal into a non-pointer: no error")
	}
	if err := Default.Unmarshal(raw("01"), (*int)(nil)); err == nil {
		t.Fatal("Unmarshal into a nil pointer: no error")
	}
}

type Base struct {
	ID     string `json:"id"`
	Hidden string `json:"-"`
}

type message struct {
	Base
	Text     string            `json:"text"`
	Count    int               `json:"count,omitempty"`
	Ratio    float32           `json:"ratio"`
	Tags     []string          `json:"tags"`
	Blob     []byte            `json:"blob"`
	When     time.Time         `json:"when"`
	Author   *author           `json:"author,omitempty"`
	Extra    map[string]any    `json:"extra,omitempty"`
	Scores   map[int]uint8     `json:"scores,omitempty"`
	Addr     netip.Addr        `json:"addr,omitzero"`
	Raw      parser.Raw        `json:"raw,omitzero"`
	JSON     json.RawMessage   `json:"json,omitempty"`
	Any      any               `json:"any"`
	Untagged string            //nolint:tagliatelle
	Fixed    [2]int            `json:"fixed"`
	Ptrs     map[string]*int64 `json:"ptrs,omitempty"`
	private  int
}

type author struct {
	Name string `json:"name"`
}

func TestUnmarshalStruct(t *testing.T) {
	when := time.UnixMilli(1700000000123).UTC()
	in := map[string]any{
		"id":       "m1",
		"Hidden":   "no",
		"TEXT":     "case-insensitive match",
		"count":    7,
		"ratio":    0.5,
		"tags":     []any{"a", "b"},
		"blob":     []byte{1, 2},
		"when":     when,
		"author":   map[string]any{"name": "ann"},
		"extra":    map[string]any{"n": 300, "f": 1.5, "s": "x"},
		"scores":   map[string]any{"10": 200},
		"addr":     "127.0.0.1",
		"raw":      []any{1, 2},
		"json":     map[string]any{"k": []any{true}},
		"any":      []any{uint64(1), "x"},
		"Untagged": "u",
		"fixed":    []any{1, 2, 3},
		"ptrs":     map[string]any{"p": 5, "nil": nil},
		"unknown":  map[string]any{"deep": []any{1}},
	}
	var e encoder
	if err := e.any(in, 1); err != nil {
		t.Fatal(err)
	}
	var m message
	m.Hidden = "kept"
	if err := Default.Unmarshal(parser.NewRaw(Default, e.buf, nil), &m); err != nil {
		t.Fatal(err)
	}
	five := int64(5)
	want := message{
		Base:     Base{ID: "m1", Hidden: "kept"},
		Text:     "case-insensitive match",
		Count:    7,
		Ratio:    0.5,
		Tags:     []string{"a", "b"},
		Blob:     []byte{1, 2},
		When:     when,
		Author:   &author{Name: "ann"},
		Extra:    map[string]any{"n": int64(300), "f": 1.5, "s": "x"},
		Scores:   map[int]uint8{10: 200},
		Addr:     netip.MustParseAddr("127.0.0.1"),
		JSON:     json.RawMessage(`{"k":[true]}`),
		Any:      []any{int64(1), "x"},
		Untagged: "u",
		Fixed:    [2]int{1, 2},
		Ptrs:     map[string]*int64{"p": &five, "nil": nil},
	}
	if string(m.Raw.Bytes()) != string(h("92 01 02")) {
		t.Errorf("Raw = %x", m.Raw.Bytes())
	}
	m.Raw = parser.Raw{}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}

	// Encoding the struct gives the keys the JSON codec gives it.
	want.Raw = raw("92 01 02")
	e = encoder{}
	if err := e.any(want, 1); err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := Default.Unmarshal(parser.NewRaw(Default, e.buf, nil), &tree); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var jtree map[string]any
	if err := json.Unmarshal(j, &jtree); err != nil {
		t.Fatal(err)
	}
	delete(jtree, "raw") // a Raw has no JSON form of its own
	delete(tree, "raw")
	for k := range jtree {
		if _, ok := tree[k]; !ok {
			t.Errorf("key %q missing from the msgpack form %v", k, tree)
		}
	}
	for k := range tree {
		if _, ok := jtree[k]; !ok {
			t.Errorf("key %q not in the JSON form %s", k, j)
		}
	}
	var back message
	if err := Default.Unmarshal(parser.NewRaw(Default, e.buf, nil), &back); err != nil {
		t.Fatal(err)
	}
	back.Hidden = "kept"
	if string(back.Raw.Bytes()) != string(h("92 01 02")) {
		t.Errorf("Raw = %x", back.Raw.Bytes())
	}
	back.Raw = want.Raw
	if !reflect.DeepEqual(back, want) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, want)
	}
}

func TestUnmarshalQuirksIntoTypes(t *testing.T) {
	var b []byte
	if err := Default.Unmarshal(raw("c7 02 00 0102"), &b); err != nil || string(b) != "\x01\x02" {
		t.Errorf("ArrayBuffer into []byte: %x, %v", b, err)
	}
	if err := Default.Unmarshal(raw("a2 6869"), &b); err != nil || string(b) != "hi" {
		t.Errorf("string into []byte: %q, %v", b, err)
	}
	var arr [3]byte
	if err := Default.Unmarshal(raw("c4 02 0102"), &arr); err != nil || arr != [3]byte{1, 2, 0} {
		t.Errorf("bin into [3]byte: %v, %v", arr, err)
	}
	var s = "x"
	sp := &s
	if err := Default.Unmarshal(raw("d4 00 00"), &sp); err != nil || sp != nil {
		t.Errorf("undefined into *string: %v, %v", sp, err)
	}
	if err := Default.Unmarshal(raw("c0"), &s); err != nil || s != "x" {
		t.Errorf("nil into string: %q, %v", s, err)
	}
	if err := Default.Unmarshal(raw("c4 02 6869"), &s); err != nil || s != "hi" {
		t.Errorf("bin into string: %q, %v", s, err)
	}
	var tm time.Time
	for _, in := range []string{"d7 00 0000018bcfe5687b", "d7 ff 1d535300 6553f100", "b8 323032332d31312d31345432323a31333a32302e3132335a"} {
		tm = time.Time{}
		if err := Default.Unmarshal(raw(in), &tm); err != nil || !tm.Equal(time.UnixMilli(1700000000123)) {
			t.Errorf("%s into time.Time: %v, %v", in, tm, err)
		}
	}
	var n json.Number
	if err := Default.Unmarshal(raw("cb 3ff8000000000000"), &n); err != nil || n != "1.5" {
		t.Errorf("float into json.Number: %q, %v", n, err)
	}
	var i int
	if err := Default.Unmarshal(raw("cb 4000000000000000"), &i); err != nil || i != 2 {
		t.Errorf("2.0 into int: %d, %v", i, err)
	}
	var f float64
	if err := Default.Unmarshal(raw("cd 012c"), &f); err != nil || f != 300 {
		t.Errorf("int into float64: %v, %v", f, err)
	}
	var holder any = &i
	if err := Default.Unmarshal(raw("05"), &holder); err != nil || i != 5 {
		t.Errorf("into the pointer an interface holds: %d, %v", i, err)
	}
	var r parser.Raw
	if err := Default.Unmarshal(raw("92 01 02"), &r); err != nil || string(r.Bytes()) != "\x92\x01\x02" {
		t.Errorf("into Raw: %x, %v", r.Bytes(), err)
	}
}

func TestUnmarshalTypeErrors(t *testing.T) {
	tests := []struct {
		in string
		v  any
	}{
		{"cd 012c", new(uint8)},
		{"ff", new(uint)},
		{"d1 8000", new(int8)},
		{"cb 3ff8000000000000", new(int)},
		{"cf 8000000000000000", new(int64)},
		{"a1 61", new(int)},
		{"01", new(string)},
		{"01", new(bool)},
		{"90", new(map[string]any)},
		{"80", new([]int)},
		{"80", new(time.Time)},
		{"01", new(netip.Addr)},
		{"81 a1 61 01", new(map[bool]int)},
		{"81 a1 61 01", new(map[int]int)},
		{"d5 05 0102", new([]byte)},
		{"cb 47f074f8c4d3cd7b", new(float32)},
		{"01", new(error)},
	}
	for _, tt := range tests {
		err := Default.Unmarshal(raw(tt.in), tt.v)
		var te *TypeError
		if !errors.As(err, &te) {
			t.Errorf("%s into %T: err = %v, want a *TypeError", tt.in, tt.v, err)
		}
	}
}

func TestUnmarshalOtherCodec(t *testing.T) {
	p, err := parser.Default.NewDecoder().Decode([]byte(`2["e",{"a":1}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if err := Default.Unmarshal(p.Args[0].(parser.Raw), &v); err != nil || v["a"] != 1 {
		t.Fatalf("got %v, %v", v, err)
	}
}
