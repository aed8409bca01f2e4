package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

func TestParseArg(t *testing.T) {
	for _, tc := range []struct {
		word string
		want any
	}{
		{"1", json.RawMessage("1")},
		{"-2.50", json.RawMessage("-2.50")},
		{"12345678901234567890", json.RawMessage("12345678901234567890")},
		{`"quoted"`, json.RawMessage(`"quoted"`)},
		{"true", json.RawMessage("true")},
		{"null", json.RawMessage("null")},
		{`{ "a" : [1, 2] }`, json.RawMessage(`{"a":[1,2]}`)},
		{"hello", "hello"},
		{"two words", "two words"},
		{"", ""},
		{"{not json", "{not json"},
		{"01", "01"}, // not JSON: a string, as the shell gave it
		{`{"_binary":"AAEC"}`, []byte{0, 1, 2}},
		{`[{"_binary":""},{"_binary":"aGk=","x":1}]`, []any{[]byte{}, map[string]any{"_binary": "aGk=", "x": json.Number("1")}}},
		{`{"_binary":7}`, json.RawMessage(`{"_binary":7}`)},
		{`"_binary"`, json.RawMessage(`"_binary"`)},
	} {
		got, err := parseArg(tc.word)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseArg(%q) = %#v, %v; want %#v", tc.word, got, err, tc.want)
		}
	}
	if _, err := parseArg(`{"_binary":"%%%"}`); err == nil {
		t.Error(`parseArg of invalid base64: no error`)
	}
}

// decode decodes the Engine.IO messages of one packet with codec c.
func decode(t *testing.T, c parser.Codec, msgs []parser.Message) *parser.Packet {
	t.Helper()
	d := c.NewDecoder()
	var p *parser.Packet
	for _, m := range msgs {
		var err error
		if p, err = d.Decode(m.Data, m.Binary); err != nil {
			t.Fatal(err)
		}
	}
	if p == nil {
		t.Fatal("incomplete packet")
	}
	return p
}

func TestFormatLineJSON(t *testing.T) {
	msgs := []parser.Message{
		{Data: []byte(`52-["ev",{"z":{"_placeholder":true,"num":1},"a":[1.50,{"_placeholder":true,"num":0}]},"<&>",{"k": 1e3}]`)},
		{Data: []byte{0, 1, 2, 255}, Binary: true},
		{Data: []byte("hi"), Binary: true},
	}
	p := decode(t, parser.Default, msgs)
	line, err := formatLine([]string{p.Event}, toRaw(p.Args))
	if err != nil {
		t.Fatal(err)
	}
	want := `["ev",{"z":{"_binary":"aGk="},"a":[1.50,{"_binary":"AAEC/w=="}]},"<&>",{"k":1e3}]` + "\n"
	if string(line) != want {
		t.Fatalf("got  %s\nwant %s", line, want)
	}
}

func TestFormatLineMsgpack(t *testing.T) {
	msgs, err := msgpack.Default.Encode(&parser.Packet{Type: parser.Ack, Namespace: "/", ID: 1, HasID: true,
		Args: []any{"s", 1, map[string]any{"b": []byte{7}, "l": []any{true, nil}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := decode(t, msgpack.Default, msgs)
	line, err := formatLine(nil, toRaw(p.Args))
	if err != nil {
		t.Fatal(err)
	}
	if want := `["s",1,{"b":{"_binary":"Bw=="},"l":[true,null]}]` + "\n"; string(line) != want {
		t.Fatalf("got  %s\nwant %s", line, want)
	}
}

func TestFormatLineEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := appendRaw(&buf, parser.Raw{}); err != nil || buf.String() != "null" {
		t.Fatalf("zero Raw: %q, %v", buf.String(), err)
	}
	line, err := formatLine([]string{"only"}, nil)
	if err != nil || string(line) != "[\"only\"]\n" {
		t.Fatalf("got %q, %v", line, err)
	}
}

func toRaw(args []any) []parser.Raw {
	out := make([]parser.Raw, len(args))
	for i, a := range args {
		out[i] = a.(parser.Raw)
	}
	return out
}
