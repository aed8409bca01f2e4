package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
)

// txt and bin build the Engine.IO messages of the tables.
func txt(s string) Message { return Message{Data: []byte(s)} }
func bin(s string) Message { return Message{Data: []byte(s), Binary: true} }

// showMessages renders messages for comparison: text as is, binary as
// <bin hex>.
func showMessages(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if m.Binary {
			out[i] = fmt.Sprintf("<bin %x>", m.Data)
		} else {
			out[i] = string(m.Data)
		}
	}
	return out
}

// decodeMessages feeds msgs to a fresh decoder of c. Every message but the
// last must be accepted without completing a packet; the result is what
// the last one returned.
func decodeMessages(t *testing.T, c Codec, msgs ...Message) (*Packet, error) {
	t.Helper()
	d := c.NewDecoder()
	for i, m := range msgs {
		p, err := d.Decode(m.Data, m.Binary)
		if i == len(msgs)-1 {
			return p, err
		}
		if p != nil || err != nil {
			t.Fatalf("message %d %q: got packet %v, error %v before the last message", i, m.Data, p, err)
		}
	}
	t.Fatal("no message")
	return nil, nil
}

// rawArg returns the i-th argument of p, which a decoder stores as Raw.
func rawArg(t *testing.T, p *Packet, i int) Raw {
	t.Helper()
	r, ok := p.Args[i].(Raw)
	if !ok {
		t.Fatalf("Args[%d] is %T, not Raw", i, p.Args[i])
	}
	return r
}

type meta struct {
	Owner string `json:"owner"`
	Thumb []byte `json:"thumb,omitempty"`
}

type Extra struct {
	Tag string `json:"tag"`
}

type upload struct {
	meta
	*Extra
	Name    string `json:"name"`
	Data    []byte `json:"data"`
	Note    string `json:"note,omitempty"`
	Secret  []byte `json:"-"`
	Size    int    `json:"size,omitempty"`
	Plain   string
	private []byte
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want []string
	}{
		{"connect main namespace", Packet{Type: Connect, Namespace: "/"}, []string{`0`}},
		{"connect empty namespace is main", Packet{Type: Connect}, []string{`0`}},
		{"connect with auth", Packet{Type: Connect, Namespace: "/", Data: map[string]any{"token": "abc"}}, []string{`0{"token":"abc"}`}},
		{"connect namespace with auth", Packet{Type: Connect, Namespace: "/custom", Data: map[string]any{"token": "abc"}}, []string{`0/custom,{"token":"abc"}`}},
		{"connect namespace without auth", Packet{Type: Connect, Namespace: "/admin"}, []string{`0/admin,`}},
		{"connect reply with sid", Packet{Type: Connect, Namespace: "/admin", Data: struct {
			SID string `json:"sid"`
		}{"oSO0OpakMV_3jnilAAAA"}}, []string{`0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`}},
		{"disconnect", Packet{Type: Disconnect, Namespace: "/"}, []string{`1`}},
		{"disconnect namespace", Packet{Type: Disconnect, Namespace: "/woot"}, []string{`1/woot,`}},
		{"disconnect ignores data", Packet{Type: Disconnect, Namespace: "/woot", Data: "x"}, []string{`1/woot,`}},
		{"event", Packet{Type: Event, Namespace: "/", Event: "message", Args: []any{1}}, []string{`2["message",1]`}},
		{"event without args", Packet{Type: Event, Event: "foo"}, []string{`2["foo"]`}},
		{"event namespace", Packet{Type: Event, Namespace: "/admin", Event: "bar"}, []string{`2/admin,["bar"]`}},
		{"event with ack", Packet{Type: Event, Event: "foo", ID: 12, HasID: true}, []string{`212["foo"]`}},
		{"event with ack 0", Packet{Type: Event, Event: "foo", ID: 0, HasID: true}, []string{`20["foo"]`}},
		{"event namespace and ack", Packet{Type: Event, Namespace: "/test", Event: "a", ID: 1, HasID: true, Args: []any{1, map[string]any{}}}, []string{`2/test,1["a",1,{}]`}},
		{"event largest ack id", Packet{Type: Event, Event: "x", ID: math.MaxUint64, HasID: true}, []string{`218446744073709551615["x"]`}},
		{"event scalar args", Packet{Type: Event, Event: "e", Args: []any{nil, true, false, "s", -7, int64(-8), uint64(9), 1.5, float32(2.5), uint8(3)}}, []string{`2["e",null,true,false,"s",-7,-8,9,1.5,2.5,3]`}},
		{"event NaN and infinities are null", Packet{Type: Event, Event: "e", Args: []any{math.NaN(), math.Inf(1), math.Inf(-1)}}, []string{`2["e",null,null,null]`}},
		{"event nested values", Packet{Type: Event, Event: "e", Args: []any{[]any{1, "a"}, map[string]any{"b": 1, "a": []int{2}}}}, []string{`2["e",[1,"a"],{"a":[2],"b":1}]`}},
		{"event nested strings are not HTML-escaped", Packet{Type: Event, Event: "e", Args: []any{map[string]any{"h": "<b>&amp;</b>"}}}, []string{`2["e",{"h":"<b>&amp;</b>"}]`}},
		{"event json.RawMessage as is", Packet{Type: Event, Event: "e", Args: []any{json.RawMessage(`{"z":1,"a":[ 1 ]}`)}}, []string{`2["e",{"z":1,"a":[ 1 ]}]`}},
		{"event json.RawMessage field is not binary", Packet{Type: Event, Event: "e", Args: []any{struct {
			X json.RawMessage `json:"x"`
		}{json.RawMessage(`{"a":1}`)}}}, []string{`2["e",{"x":{"a":1}}]`}},
		{"event numeric name", Packet{Type: Event, Event: "1", Args: []any{"a"}}, []string{`2["1","a"]`}},
		{"ack", Packet{Type: Ack, ID: 123, HasID: true, Args: []any{"a", 1, map[string]any{}}}, []string{`3123["a",1,{}]`}},
		{"ack namespace", Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Args: []any{"bar"}}, []string{`3/admin,13["bar"]`}},
		{"ack without args", Packet{Type: Ack, ID: 0, HasID: true}, []string{`30[]`}},
		{"connect error string", Packet{Type: ConnectError, Data: "Unauthorized"}, []string{`4"Unauthorized"`}},
		{"connect error object", Packet{Type: ConnectError, Data: map[string]any{"message": "Not authorized"}}, []string{`4{"message":"Not authorized"}`}},
		{"connect error namespace", Packet{Type: ConnectError, Namespace: "/admin", Data: map[string]any{"message": "Invalid namespace"}}, []string{`4/admin,{"message":"Invalid namespace"}`}},

		// Binary values become attachments, one binary message each, and
		// placeholders numbered in the order they are written.
		{"binary event", Packet{Type: Event, Namespace: "/cool", ID: 23, HasID: true, Event: "a", Args: []any{[]byte("abc")}},
			[]string{`51-/cool,23["a",{"_placeholder":true,"num":0}]`, "<bin 616263>"}},
		{"binary event nested", Packet{Type: Event, Namespace: "/cool", ID: 23, HasID: true, Event: "a", Args: []any{map[string]any{"b": []any{"c", []byte("abc")}}}},
			[]string{`51-/cool,23["a",{"b":["c",{"_placeholder":true,"num":0}]}]`, "<bin 616263>"}},
		{"binary ack", Packet{Type: Ack, Namespace: "/back", ID: 127, HasID: true, Args: []any{"a", []byte("xxx"), map[string]any{}}},
			[]string{`61-/back,127["a",{"_placeholder":true,"num":0},{}]`, "<bin 787878>"}},
		{"binary ack only placeholder", Packet{Type: Ack, Namespace: "/admin", ID: 1, HasID: true, Args: []any{[]byte{1, 2, 3}}},
			[]string{`61-/admin,1[{"_placeholder":true,"num":0}]`, "<bin 010203>"}},
		{"binary several in order", Packet{Type: Event, Event: "files", Args: []any{[]byte{0}, [][]byte{{1}, {2}}, "x", []any{map[string][]byte{"b": {4}, "a": {3}}}}},
			[]string{`55-["files",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}],"x",[{"a":{"_placeholder":true,"num":3},"b":{"_placeholder":true,"num":4}}]]`,
				"<bin 00>", "<bin 01>", "<bin 02>", "<bin 03>", "<bin 04>"}},
		{"binary deep in objects", Packet{Type: Event, Namespace: "/deep", ID: 999, HasID: true, Event: "a", Args: []any{map[string]any{
			"a": "hi", "b": map[string]any{"why": make([]byte, 3)}, "c": map[string]any{"a": "bye", "b": map[string]any{"a": make([]byte, 6)}},
		}}}, []string{`52-/deep,999["a",{"a":"hi","b":{"why":{"_placeholder":true,"num":0}},"c":{"a":"bye","b":{"a":{"_placeholder":true,"num":1}}}}]`,
			"<bin 000000>", "<bin 000000000000>"}},
		{"binary empty slice is an attachment", Packet{Type: Event, Event: "e", Args: []any{[]byte{}}},
			[]string{`51-["e",{"_placeholder":true,"num":0}]`, "<bin >"}},
		{"nil slice is null", Packet{Type: Event, Event: "e", Args: []any{[]byte(nil), map[string]any{"x": []byte(nil)}, struct {
			B []byte `json:"b"`
		}{}}}, []string{`2["e",null,{"x":null},{"b":null}]`}},
		{"binary nil slice is null", Packet{Type: Event, Event: "e", Args: []any{[]byte(nil), map[string]any{"x": []byte(nil)}, []byte{1}}},
			[]string{`51-["e",null,{"x":null},{"_placeholder":true,"num":0}]`, "<bin 01>"}},
		{"binary struct tags, omitempty, embedded", Packet{Type: Event, Event: "up", Args: []any{upload{
			meta: meta{Owner: "bob", Thumb: []byte{1}}, Extra: &Extra{Tag: "t"}, Name: "a.png", Data: []byte{2, 3}, Secret: []byte{9}, Plain: "p", private: []byte{8},
		}}}, []string{`52-["up",{"owner":"bob","thumb":{"_placeholder":true,"num":0},"tag":"t","name":"a.png","data":{"_placeholder":true,"num":1},"Plain":"p"}]`,
			"<bin 01>", "<bin 0203>"}},
		{"binary struct omitempty skips empty bytes", Packet{Type: Event, Event: "up", Args: []any{&upload{meta: meta{Owner: "ann"}, Data: []byte{7}, Note: "n", Size: 3}}},
			[]string{`51-["up",{"owner":"ann","name":"","data":{"_placeholder":true,"num":0},"note":"n","size":3,"Plain":""}]`, "<bin 07>"}},
		{"binary in typed map and array", Packet{Type: Event, Event: "e", Args: []any{map[string][2][]byte{"k": {{1}, nil}}}},
			[]string{`51-["e",{"k":[{"_placeholder":true,"num":0},null]}]`, "<bin 01>"}},
		{"binary other args unchanged", Packet{Type: Event, Event: "e", Args: []any{"<&>", 1.5, math.NaN(), json.RawMessage(`{"b":1,"a":2}`), []byte{1}}},
			[]string{`51-["e","<&>",1.5,null,{"b":1,"a":2},{"_placeholder":true,"num":0}]`, "<bin 01>"}},

		// The declared binary types follow the content.
		{"binary event without binary is an event", Packet{Type: BinaryEvent, Event: "e", Args: []any{"x"}}, []string{`2["e","x"]`}},
		{"binary ack without binary is an ack", Packet{Type: BinaryAck, ID: 1, HasID: true}, []string{`31[]`}},
		{"binary event declared", Packet{Type: BinaryEvent, Event: "e", Args: []any{[]byte{1}}}, []string{`51-["e",{"_placeholder":true,"num":0}]`, "<bin 01>"}},
		{"any holding bytes is binary", Packet{Type: Event, Event: "e", Args: []any{struct {
			V any `json:"v"`
		}{[]byte{5}}}}, []string{`51-["e",{"v":{"_placeholder":true,"num":0}}]`, "<bin 05>"}},
		{"typed map without binary content", Packet{Type: Event, Event: "e", Args: []any{map[string]any{"b": 1, "a": "x"}, []byte{1}}},
			[]string{`51-["e",{"a":"x","b":1},{"_placeholder":true,"num":0}]`, "<bin 01>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			msgs, err := Default.Encode(&p)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got := showMessages(msgs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Encode:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestEncodeStructLikeEncodingJSON checks that a struct taken apart for
// its binary values is written as encoding/json writes it.
func TestEncodeStructLikeEncodingJSON(t *testing.T) {
	values := []any{
		upload{meta: meta{Owner: "o"}, Name: "n", Note: "x", Size: 2, Plain: "p"},
		&upload{Extra: &Extra{Tag: "t"}},
		map[string]any{"z": []any{1, "two", nil}, "a": map[string]int{"k": 1}},
		struct {
			A []int          `json:"a,omitempty"`
			B map[string]int `json:"b,omitempty"`
			C *int           `json:"c,omitempty"`
			D any            `json:"d"`
			E [2]string      `json:"e"`
		}{D: "d", E: [2]string{"x", "y"}},
	}
	for i, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		// The []byte argument sends the packet down the binary path.
		msgs, err := Default.Encode(&Packet{Type: Event, Event: "e", Args: []any{v, []byte{1}}})
		if err != nil {
			t.Fatal(err)
		}
		wantText := `51-["e",` + string(want) + `,{"_placeholder":true,"num":0}]`
		if got := string(msgs[0].Data); got != wantText {
			t.Errorf("value %d:\n got %s\nwant %s", i, got, wantText)
		}
	}
}

func TestEncodeStringEscaping(t *testing.T) {
	// As JSON.stringify: quote, backslash and control characters are
	// escaped (short forms where JSON has them), nothing else; invalid
	// UTF-8 becomes U+FFFD.
	tests := []struct{ in, want string }{
		{`plain`, `"plain"`},
		{`<a href="x">&amp;</a>`, `"<a href=\"x\">&amp;</a>"`},
		{"back\\slash", `"back\\slash"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\x7f", "\"\x7f\""},
		{"caf\u00e9 \u2028\u2029 \U0001F600", "\"caf\u00e9 \u2028\u2029 \U0001F600\""},
		{"a\xffb", `"a\ufffdb"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"\xe2\x82", `"\ufffd\ufffd"`},
		{"\ufffd", "\"\ufffd\""},
	}
	for _, tt := range tests {
		msgs, err := Default.Encode(&Packet{Type: Event, Event: tt.in, Args: []any{tt.in}})
		if err != nil {
			t.Fatal(err)
		}
		want := `2[` + tt.want + `,` + tt.want + `]`
		if got := string(msgs[0].Data); got != want {
			t.Errorf("%q:\n got %s\nwant %s", tt.in, got, want)
		}
		p, err := decodeMessages(t, Default, msgs...)
		if err != nil {
			t.Fatalf("%q: decode: %v", tt.in, err)
		}
		var arg string
		if err := rawArg(t, p, 0).Decode(&arg); err != nil {
			t.Fatal(err)
		}
		if p.Event != arg {
			t.Errorf("%q: event %q and argument %q differ", tt.in, p.Event, arg)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		p       Packet
		invalid bool // wraps ErrInvalidPacket
	}{
		{"unknown type", Packet{Type: 7}, true},
		{"unknown type 255", Packet{Type: 255, Event: "e"}, true},
		{"invalid json.RawMessage", Packet{Type: Event, Event: "e", Args: []any{json.RawMessage(`{`)}}, true},
		{"unsupported value", Packet{Type: Event, Event: "e", Args: []any{make(chan int)}}, false},
		// encoding/json writes nested values: a NaN below the top level
		// is an error, where JSON.stringify would write null.
		{"nested NaN", Packet{Type: Event, Event: "e", Args: []any{[]float64{math.NaN()}}}, false},
		{"absent Raw", Packet{Type: Event, Event: "e", Args: []any{Raw{}}}, false},
		{"binary unsupported value", Packet{Type: Event, Event: "e", Args: []any{[]byte{1}, map[string]any{"c": make(chan int)}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			msgs, err := Default.Encode(&p)
			if err == nil {
				t.Fatalf("Encode = %q, want an error", showMessages(msgs))
			}
			if got := errors.Is(err, ErrInvalidPacket); got != tt.invalid {
				t.Errorf("errors.Is(%v, ErrInvalidPacket) = %v, want %v", err, got, tt.invalid)
			}
		})
	}
}

// want describes a decoded packet: arguments and data by their raw bytes.
type want struct {
	typ   Type
	nsp   string
	id    uint64
	hasID bool
	event string
	args  []string // nil: no arguments
	data  string   // "": no data
	atts  int      // attachments of each Raw
}

func checkPacket(t *testing.T, p *Packet, w want) {
	t.Helper()
	if p == nil {
		t.Fatal("no packet")
	}
	if p.Type != w.typ || p.Namespace != w.nsp || p.ID != w.id || p.HasID != w.hasID || p.Event != w.event {
		t.Errorf("got %v %q id=%d/%v event %q, want %v %q id=%d/%v event %q",
			p.Type, p.Namespace, p.ID, p.HasID, p.Event, w.typ, w.nsp, w.id, w.hasID, w.event)
	}
	var args []string
	for i := range p.Args {
		r := rawArg(t, p, i)
		if r.Codec() != Default || r.IsZero() {
			t.Errorf("Args[%d]: codec %v", i, r.Codec())
		}
		if len(r.Attachments()) != w.atts {
			t.Errorf("Args[%d]: %d attachments, want %d", i, len(r.Attachments()), w.atts)
		}
		args = append(args, string(r.Bytes()))
	}
	if !reflect.DeepEqual(args, w.args) {
		t.Errorf("args %q, want %q", args, w.args)
	}
	switch d := p.Data.(type) {
	case nil:
		if w.data != "" {
			t.Errorf("no data, want %s", w.data)
		}
	case Raw:
		if string(d.Bytes()) != w.data || d.String() != w.data {
			t.Errorf("data %s, want %s", d.Bytes(), w.data)
		}
	default:
		t.Errorf("data is %T", p.Data)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   []Message
		want want
	}{
		{"connect", []Message{txt(`0`)}, want{typ: Connect, nsp: "/"}},
		{"connect auth", []Message{txt(`0{"token":"abc"}`)}, want{typ: Connect, nsp: "/", data: `{"token":"abc"}`}},
		{"connect namespace without comma", []Message{txt(`0/random`)}, want{typ: Connect, nsp: "/random"}},
		{"connect namespace with comma", []Message{txt(`0/random,`)}, want{typ: Connect, nsp: "/random"}},
		{"connect namespace auth", []Message{txt(`0/custom,{"token":"abc"}`)}, want{typ: Connect, nsp: "/custom", data: `{"token":"abc"}`}},
		{"connect namespace with query-like name", []Message{txt(`0/a/b?x=1,{}`)}, want{typ: Connect, nsp: "/a/b?x=1", data: `{}`}},
		{"connect auth keeps spacing", []Message{txt(`0 { "b" : 1 , "a" : 2 } `)}, want{typ: Connect, nsp: "/", data: ` { "b" : 1 , "a" : 2 } `}},
		{"disconnect", []Message{txt(`1`)}, want{typ: Disconnect, nsp: "/"}},
		{"disconnect namespace", []Message{txt(`1/admin,`)}, want{typ: Disconnect, nsp: "/admin"}},
		{"event", []Message{txt(`2["message",1]`)}, want{typ: Event, nsp: "/", event: "message", args: []string{`1`}}},
		{"event without args", []Message{txt(`2["foo"]`)}, want{typ: Event, nsp: "/", event: "foo", args: nil}},
		{"event namespace", []Message{txt(`2/admin,["bar"]`)}, want{typ: Event, nsp: "/admin", event: "bar"}},
		{"event ack id", []Message{txt(`212["foo"]`)}, want{typ: Event, nsp: "/", id: 12, hasID: true, event: "foo"}},
		{"event namespace and ack id", []Message{txt(`2/test,1["a",1,{}]`)}, want{typ: Event, nsp: "/test", id: 1, hasID: true, event: "a", args: []string{`1`, `{}`}}},
		{"event largest ack id", []Message{txt(`218446744073709551615["x"]`)}, want{typ: Event, nsp: "/", id: math.MaxUint64, hasID: true, event: "x"}},
		{"event ack id with leading zeros", []Message{txt(`2007["x"]`)}, want{typ: Event, nsp: "/", id: 7, hasID: true, event: "x"}},
		{"event args kept raw", []Message{txt(`2["m",{"b":1,"a":2},"caf\u00e9",1.50,[1, 2],null]`)}, want{typ: Event, nsp: "/", event: "m",
			args: []string{`{"b":1,"a":2}`, `"caf\u00e9"`, `1.50`, `[1, 2]`, `null`}}},
		{"event args trimmed", []Message{txt("2[ \"m\" ,\n 1 ,\t[ 2 ] , \"a,]\\\"\" ]")}, want{typ: Event, nsp: "/", event: "m", args: []string{`1`, `[ 2 ]`, `"a,]\""`}}},
		{"event name escaped", []Message{txt(`2["esc\u0061ped\n"]`)}, want{typ: Event, nsp: "/", event: "escaped\n"}},
		{"event name invalid UTF-8", []Message{txt("2[\"a\xffb\"]")}, want{typ: Event, nsp: "/", event: "a\ufffdb"}},
		{"event name integer", []Message{txt(`2[1,"a",{}]`)}, want{typ: Event, nsp: "/", event: "1", args: []string{`"a"`, `{}`}}},
		{"event name number", []Message{txt(`2[-1.5e3]`)}, want{typ: Event, nsp: "/", event: "-1.5e3"}},
		{"event error is not reserved", []Message{txt(`2["error"]`)}, want{typ: Event, nsp: "/", event: "error"}},
		{"event placeholder in a text packet stays an object", []Message{txt(`2["a",{"_placeholder":true,"num":0}]`)},
			want{typ: Event, nsp: "/", event: "a", args: []string{`{"_placeholder":true,"num":0}`}}},
		{"ack", []Message{txt(`3123["a",1,{}]`)}, want{typ: Ack, nsp: "/", id: 123, hasID: true, args: []string{`"a"`, `1`, `{}`}}},
		{"ack namespace", []Message{txt(`3/admin,13["bar"]`)}, want{typ: Ack, nsp: "/admin", id: 13, hasID: true, args: []string{`"bar"`}}},
		{"ack empty", []Message{txt(`31[]`)}, want{typ: Ack, nsp: "/", id: 1, hasID: true}},
		{"ack without payload", []Message{txt(`31`)}, want{typ: Ack, nsp: "/", id: 1, hasID: true}},
		{"connect error string", []Message{txt(`4"Unauthorized"`)}, want{typ: ConnectError, nsp: "/", data: `"Unauthorized"`}},
		{"connect error object", []Message{txt(`4{"message":"Not authorized"}`)}, want{typ: ConnectError, nsp: "/", data: `{"message":"Not authorized"}`}},
		{"connect error namespace", []Message{txt(`4/admin,{"message":"x","data":{"a":1}}`)}, want{typ: ConnectError, nsp: "/admin", data: `{"message":"x","data":{"a":1}}`}},

		{"binary event", []Message{txt(`51-["baz",{"_placeholder":true,"num":0}]`), bin("\x01\x02")},
			want{typ: Event, nsp: "/", event: "baz", args: []string{`{"_placeholder":true,"num":0}`}, atts: 1}},
		{"binary event namespace two attachments", []Message{txt(`52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), bin("a"), bin("b")},
			want{typ: Event, nsp: "/admin", event: "baz", args: []string{`{"_placeholder":true,"num":0}`, `{"_placeholder":true,"num":1}`}, atts: 2}},
		{"binary event ack id", []Message{txt(`51-/cool,23["a",{"b":["c",{"_placeholder":true,"num":0}]}]`), bin("abc")},
			want{typ: Event, nsp: "/cool", id: 23, hasID: true, event: "a", args: []string{`{"b":["c",{"_placeholder":true,"num":0}]}`}, atts: 1}},
		{"binary ack", []Message{txt(`61-15["bar",{"_placeholder":true,"num":0}]`), bin("x")},
			want{typ: Ack, nsp: "/", id: 15, hasID: true, args: []string{`"bar"`, `{"_placeholder":true,"num":0}`}, atts: 1}},
		{"binary ack namespace", []Message{txt(`61-/admin,1[{"_placeholder":true,"num":0}]`), bin("x")},
			want{typ: Ack, nsp: "/admin", id: 1, hasID: true, args: []string{`{"_placeholder":true,"num":0}`}, atts: 1}},
		{"binary with no attachment", []Message{txt(`50-["hello"]`)}, want{typ: Event, nsp: "/", event: "hello"}},
		{"binary unused and repeated attachments", []Message{txt(`53-["a",{"_placeholder":true,"num":2},{"_placeholder":true,"num":2}]`), bin("0"), bin("1"), bin("2")},
			want{typ: Event, nsp: "/", event: "a", args: []string{`{"_placeholder":true,"num":2}`, `{"_placeholder":true,"num":2}`}, atts: 3}},
		{"binary placeholder with other keys", []Message{txt(`51-["a",{"num":0,"_placeholder":true,"x":1}]`), bin("0")},
			want{typ: Event, nsp: "/", event: "a", args: []string{`{"num":0,"_placeholder":true,"x":1}`}, atts: 1}},
		{"binary placeholder false is an object", []Message{txt(`51-["a",{"_placeholder":false,"num":"x"},{"_placeholder":1,"num":9}]`), bin("0")},
			want{typ: Event, nsp: "/", event: "a", args: []string{`{"_placeholder":false,"num":"x"}`, `{"_placeholder":1,"num":9}`}, atts: 1}},
		{"binary placeholder num as float", []Message{txt(`51-["a",{"_placeholder":true,"num":0.0},{"_placeholder":true,"num":-0}]`), bin("0")},
			want{typ: Event, nsp: "/", event: "a", args: []string{`{"_placeholder":true,"num":0.0}`, `{"_placeholder":true,"num":-0}`}, atts: 1}},
		{"binary huge number elsewhere", []Message{txt(`51-["a",{"n":1e400,"f":{"_placeholder":true,"num":0}}]`), bin("0")},
			want{typ: Event, nsp: "/", event: "a", args: []string{`{"n":1e400,"f":{"_placeholder":true,"num":0}}`}, atts: 1}},
		{"binary without placeholders", []Message{txt(`52-["a"]`), bin("0"), bin("1")},
			want{typ: Event, nsp: "/", event: "a", atts: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodeMessages(t, Default, tt.in...)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkPacket(t, p, tt.want)
		})
	}
}

func TestDecodeAttachmentsBelongToTheirPacket(t *testing.T) {
	d := Default.NewDecoder()
	steps := []struct {
		m    Message
		done bool
	}{
		{txt(`52-["a",{"_placeholder":true,"num":1}]`), false},
		{bin("first"), false},
		{bin("second"), true},
		{txt(`2["b"]`), true},
		{txt(`61-3[{"_placeholder":true,"num":0}]`), false},
		{bin("third"), true},
	}
	var got []string
	for i, s := range steps {
		p, err := d.Decode(s.m.Data, s.m.Binary)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if (p != nil) != s.done {
			t.Fatalf("step %d: packet %v, want done=%v", i, p, s.done)
		}
		if p == nil {
			continue
		}
		for _, a := range p.Args {
			var v any
			if err := a.(Raw).Decode(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s:%v", p.Event, v))
		}
	}
	want := []string{"a:[115 101 99 111 110 100]", ":[116 104 105 114 100]"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// Every attachment arrived: one more is an error.
	if p, err := d.Decode([]byte("late"), true); p != nil || !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("binary after a complete packet: %v, %v", p, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	placeholder := func(num string) []Message {
		return []Message{txt(`51-["hello",{"_placeholder":true,"num":` + num + `}]`), bin("world")}
	}
	tests := []struct {
		name string
		in   []Message
	}{
		{"empty", []Message{txt(``)}},
		{"unknown type 7", []Message{txt(`7`)}},
		{"unknown type 9", []Message{txt(`999`)}},
		{"unknown type letter", []Message{txt(`a["x"]`)}},
		{"unknown type sign", []Message{txt(`-1`)}},
		{"unknown type space", []Message{txt(` 2["x"]`)}},

		{"binary without count", []Message{txt(`5`)}},
		{"binary without dash", []Message{txt(`51`)}},
		{"binary count not a number", []Message{txt(`5a-`)}},
		{"binary count decimal", []Message{txt(`51.23-`)}},
		{"binary count empty", []Message{txt(`5-["a"]`)}},
		{"binary count negative", []Message{txt(`5-1-["a"]`)}},
		{"binary count too long", []Message{txt(`51234567890-["a"]`)}},
		{"binary count 11 over default 10", []Message{txt(`511-["a"]`)}},
		{"binary count huge", []Message{txt(`5999999999-["a"]`)}},
		{"binary ack count too many", []Message{txt(`6100-[]`)}},

		{"invalid JSON unterminated", []Message{txt(`442["some","data"`)}},
		{"invalid JSON trailing comma", []Message{txt(`2["a",]`)}},
		{"invalid JSON trailing data", []Message{txt(`2["a"] x`)}},
		{"invalid JSON two values", []Message{txt(`2["a"]["b"]`)}},
		{"invalid JSON number", []Message{txt(`2["a",1e]`)}},
		{"invalid JSON single quotes", []Message{txt(`2['a']`)}},
		{"invalid JSON control char", []Message{txt("2[\"a\x01\"]")}},
		{"invalid JSON bad escape", []Message{txt(`2["\x"]`)}},
		{"invalid JSON only space", []Message{txt(`2 `)}},

		{"connect string", []Message{txt(`0/admin,"invalid"`)}},
		{"connect array", []Message{txt(`0[]`)}},
		{"connect null", []Message{txt(`0null`)}},
		{"connect bool", []Message{txt(`0true`)}},
		{"connect number", []Message{txt(`0 1`)}},
		{"disconnect object", []Message{txt(`1/admin,{}`)}},
		{"disconnect string", []Message{txt(`1"bye"`)}},
		{"connect error without payload", []Message{txt(`4`)}},
		{"connect error array", []Message{txt(`4["x"]`)}},
		{"connect error null", []Message{txt(`4null`)}},
		{"connect error number", []Message{txt(`4 1`)}},
		{"connect error bool", []Message{txt(`4true`)}},

		{"event without payload", []Message{txt(`2`)}},
		{"event namespace without payload", []Message{txt(`2/admin,`)}},
		{"event ack id without payload", []Message{txt(`2/admin,12`)}},
		{"event string", []Message{txt(`2/admin,"invalid`)}},
		{"event object", []Message{txt(`2/admin,{}`)}},
		{"event empty array", []Message{txt(`2[]`)}},
		{"event name object", []Message{txt(`2[{"toString":"foo"}]`)}},
		{"event name array", []Message{txt(`2[["a"],1]`)}},
		{"event name true", []Message{txt(`2[true,"foo"]`)}},
		{"event name null", []Message{txt(`2[null,"bar"]`)}},
		{"event reserved connect", []Message{txt(`2["connect"]`)}},
		{"event reserved connect_error", []Message{txt(`2["connect_error",{}]`)}},
		{"event reserved disconnect", []Message{txt(`2["disconnect","123"]`)}},
		{"event reserved disconnecting", []Message{txt(`2/admin,["disconnecting"]`)}},
		{"event reserved newListener", []Message{txt(`2["newListener"]`)}},
		{"event reserved removeListener", []Message{txt(`21["removeListener"]`)}},
		{"event reserved escaped", []Message{txt(`2["conn\u0065ct"]`)}},
		{"binary event reserved", []Message{txt(`51-["disconnect",{"_placeholder":true,"num":0}]`), bin("x")}},
		{"binary event without payload", []Message{txt(`51-`), bin("x")}},
		{"binary event object", []Message{txt(`51-{"_placeholder":true,"num":0}`), bin("x")}},
		{"binary event name placeholder", []Message{txt(`51-[{"_placeholder":true,"num":0}]`), bin("x")}},

		{"ack object", []Message{txt(`3{}`)}},
		{"ack string", []Message{txt(`3/admin,1"x"`)}},
		{"ack null", []Message{txt(`31null`)}},
		{"binary ack object", []Message{txt(`61-1{"a":{"_placeholder":true,"num":0}}`), bin("x")}},

		{"ack id overflow", []Message{txt(`218446744073709551616["x"]`)}},
		{"ack id far overflow", []Message{txt(`3/admin,99999999999999999999999[]`)}},

		{"placeholder num out of range", placeholder(`1`)},
		{"placeholder num far out of range", placeholder(`10`)},
		{"placeholder num huge", placeholder(`1e400`)},
		{"placeholder num negative", placeholder(`-1`)},
		{"placeholder num fraction", placeholder(`0.5`)},
		{"placeholder num string", placeholder(`"splice"`)},
		{"placeholder num numeric string", placeholder(`"0"`)},
		{"placeholder num object", placeholder(`{"valueOf":0}`)},
		{"placeholder num array", placeholder(`[0]`)},
		{"placeholder num null", placeholder(`null`)},
		{"placeholder num bool", placeholder(`true`)},
		{"placeholder num __proto__", placeholder(`"__proto__"`)},
		{"placeholder without num", []Message{txt(`51-["hello",{"_placeholder":true}]`), bin("world")}},
		{"placeholder nested bad", []Message{txt(`51-["hello",{"a":[{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]}]`), bin("world")}},
		{"placeholder in ack", []Message{txt(`61-1[{"_placeholder":true,"num":3}]`), bin("world")}},
		{"placeholder escaped key", []Message{txt(`51-["hello",{"\u005fplaceholder":true,"num":"splice"}]`), bin("world")}},
		{"placeholder escaped key out of range", []Message{txt(`51-["hello",{"_pl\u0061ceholder":true,"num":1}]`), bin("world")}},

		{"binary when not waiting", []Message{bin("world")}},
		{"text while waiting", []Message{txt(`51-["hello",{"_placeholder":true,"num":0}]`), txt(`2["hello"]`)}},
		{"text while waiting for the second", []Message{txt(`52-["a"]`), bin("0"), txt(`51-["a"]`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodeMessages(t, Default, tt.in...)
			if err == nil {
				t.Fatalf("Decode = %+v, want an error", p)
			}
			if !errors.Is(err, ErrInvalidPacket) {
				t.Errorf("error %v does not wrap ErrInvalidPacket", err)
			}
			if p != nil {
				t.Errorf("packet %+v returned with error %v", p, err)
			}
		})
	}
}

func TestDecodeMaxAttachments(t *testing.T) {
	header := func(n int) Message {
		var b strings.Builder
		fmt.Fprintf(&b, `5%d-["a"`, n)
		for i := range n {
			fmt.Fprintf(&b, `,{"_placeholder":true,"num":%d}`, i)
		}
		b.WriteString("]")
		return txt(b.String())
	}
	decode := func(c *JSON, n int) error {
		d := c.NewDecoder()
		h := header(n)
		if _, err := d.Decode(h.Data, false); err != nil {
			return err
		}
		for i := range n {
			p, err := d.Decode([]byte("x"), true)
			if err != nil || (p != nil) != (i == n-1) {
				t.Fatalf("attachment %d of %d: %v, %v", i, n, p, err)
			}
		}
		return nil
	}
	tests := []struct {
		opts *JSONOptions
		n    int
		ok   bool
	}{
		{nil, 10, true},
		{nil, 11, false},
		{&JSONOptions{}, 10, true},
		{&JSONOptions{}, 11, false},
		{&JSONOptions{MaxAttachments: -1}, 10, true},
		{&JSONOptions{MaxAttachments: 2}, 2, true},
		{&JSONOptions{MaxAttachments: 2}, 3, false},
		{&JSONOptions{MaxAttachments: 100}, 100, true},
		{&JSONOptions{MaxAttachments: 100}, 101, false},
	}
	for _, tt := range tests {
		err := decode(NewJSON(tt.opts), tt.n)
		if (err == nil) != tt.ok {
			t.Errorf("opts %+v, %d attachments: error %v, want ok=%v", tt.opts, tt.n, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("error %v does not wrap ErrInvalidPacket", err)
		}
	}
	// The count is refused as soon as the text message arrives.
	if _, err := NewJSON(&JSONOptions{MaxAttachments: 2}).NewDecoder().Decode([]byte(`53-["a"]`), false); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("53- with a limit of 2: %v", err)
	}
}

// TestRoundTrip encodes packets and decodes them back, as the reference
// parser's own round-trip tests do.
func TestRoundTrip(t *testing.T) {
	packets := []Packet{
		{Type: Connect, Namespace: "/woot", Data: map[string]any{"token": "123"}},
		{Type: Disconnect, Namespace: "/woot"},
		{Type: Event, Namespace: "/", Event: "a", Args: []any{1, map[string]any{}}},
		{Type: Event, Namespace: "/test", Event: "a", ID: 1, HasID: true, Args: []any{1, map[string]any{}}},
		{Type: Ack, Namespace: "/", ID: 123, HasID: true, Args: []any{"a", 1, map[string]any{}}},
		{Type: ConnectError, Namespace: "/", Data: "Unauthorized"},
		{Type: ConnectError, Namespace: "/", Data: map[string]any{"message": "Unauthorized"}},
		{Type: Event, Namespace: "/cool", ID: 23, HasID: true, Event: "a", Args: []any{[]byte("abc")}},
		{Type: Ack, Namespace: "/back", ID: 127, HasID: true, Args: []any{"a", []byte("xxx"), map[string]any{}}},
		{Type: Event, Namespace: "/", ID: 600, HasID: true, Event: "a", Args: []any{map[string]any{"a": "b", "c": 4, "e": map[string]any{"g": nil}, "h": make([]byte, 9)}}},
	}
	for _, want := range packets {
		t.Run(fmt.Sprintf("%v%s", want.Type, want.Namespace), func(t *testing.T) {
			msgs, err := Default.Encode(&want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeMessages(t, Default, msgs...)
			if err != nil {
				t.Fatalf("decode %q: %v", showMessages(msgs), err)
			}
			if got.Type != want.Type || got.Namespace != want.Namespace || got.ID != want.ID || got.HasID != want.HasID || got.Event != want.Event {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			// Compare values through JSON, binaries as base64.
			var gotArgs []any
			for i := range got.Args {
				var v any
				if err := rawArg(t, got, i).Decode(&v); err != nil {
					t.Fatal(err)
				}
				gotArgs = append(gotArgs, v)
			}
			if g, w := mustJSON(t, gotArgs), mustJSON(t, want.Args); g != w {
				t.Errorf("args %s, want %s", g, w)
			}
			if want.Data != nil {
				var v any
				if err := got.Data.(Raw).Decode(&v); err != nil {
					t.Fatal(err)
				}
				if g, w := mustJSON(t, v), mustJSON(t, want.Data); g != w {
					t.Errorf("data %s, want %s", g, w)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRelayRaw sends decoded arguments on unchanged: their bytes are
// copied, object keys in their order, spacing and number forms included.
func TestRelayRaw(t *testing.T) {
	p, err := decodeMessages(t, Default, txt(`2/chat,["message",{"b":1,"a":2},"caf\u00e9",1.50,[1, 2],12345678901234567890,1e400]`))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := Default.Encode(&Packet{Type: Event, Namespace: "/other", Event: "fwd", ID: 5, HasID: true, Args: p.Args})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`2/other,5["fwd",{"b":1,"a":2},"caf\u00e9",1.50,[1, 2],12345678901234567890,1e400]`}
	if got := showMessages(msgs); !reflect.DeepEqual(got, want) {
		t.Errorf("relay:\n got %q\nwant %q", got, want)
	}

	// Mixed with new values, and as the data of a CONNECT_ERROR.
	msgs, err = Default.Encode(&Packet{Type: Ack, ID: 1, HasID: true, Args: []any{p.Args[0], "new", p.Args[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(msgs[0].Data), `31[{"b":1,"a":2},"new",{"b":1,"a":2}]`; got != want {
		t.Errorf("ack relay: got %s, want %s", got, want)
	}
	c, err := decodeMessages(t, Default, txt(`4{"message":"no","data":{"z":0,"y":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err = Default.Encode(&Packet{Type: ConnectError, Namespace: "/x", Data: c.Data})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(msgs[0].Data), `4/x,{"message":"no","data":{"z":0,"y":1}}`; got != want {
		t.Errorf("connect error relay: got %s, want %s", got, want)
	}

	// A Raw of a JSON codec with other options is the same format.
	other := NewJSON(&JSONOptions{MaxAttachments: 20})
	q, err := decodeMessages(t, other, txt(`2["m",{"b":1,"a":2}]`))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err = Default.Encode(q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := showMessages(msgs), []string{`2["m",{"b":1,"a":2}]`}; !reflect.DeepEqual(got, want) {
		t.Errorf("relay across codecs: got %q, want %q", got, want)
	}
}

// TestRelayBinaryRaw sends on arguments that came with attachments: the
// placeholders are numbered again for the new packet, its attachments in
// the order they are written.
func TestRelayBinaryRaw(t *testing.T) {
	p, err := decodeMessages(t, Default,
		txt(`53-["m",{"_placeholder":true,"num":2},{"b":"\u00e9","a":2},{"f":{"_placeholder":true,"num":0},"id":9007199254740993,"big":1e400},"\"_placeholder"]`),
		bin("A"), bin("B"), bin("C"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []any
		want []string
	}{
		{"all", p.Args, []string{
			`52-["fwd",{"_placeholder":true,"num":0},{"b":"\u00e9","a":2},{"big":1e400,"f":{"_placeholder":true,"num":1},"id":9007199254740993},"\"_placeholder"]`,
			"<bin 43>", "<bin 41>"}},
		{"after a new binary", []any{[]byte("N"), p.Args[2], p.Args[0]}, []string{
			`53-["fwd",{"_placeholder":true,"num":0},{"big":1e400,"f":{"_placeholder":true,"num":1},"id":9007199254740993},{"_placeholder":true,"num":2}]`,
			"<bin 4e>", "<bin 41>", "<bin 43>"}},
		// Arguments without placeholders are copied byte for byte, in a
		// text packet when nothing else is binary.
		{"no placeholder", []any{p.Args[1], p.Args[3]}, []string{`2["fwd",{"b":"\u00e9","a":2},"\"_placeholder"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := Default.Encode(&Packet{Type: Event, Event: "fwd", Args: tt.args})
			if err != nil {
				t.Fatal(err)
			}
			if got := showMessages(msgs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("relay:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	// The keys of an object with placeholders are written again, sorted;
	// only their order changes.
	q, err := decodeMessages(t, Default, txt(`51-["m",{"z":1,"a":{"_placeholder":true,"num":0}}]`), bin("A"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := Default.Encode(&Packet{Type: Ack, ID: 2, HasID: true, Args: q.Args})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := showMessages(msgs), []string{`61-2[{"a":{"_placeholder":true,"num":0},"z":1}]`, "<bin 41>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("relay:\n got %q\nwant %q", got, want)
	}
}

func TestRawDecode(t *testing.T) {
	p, err := decodeMessages(t, Default,
		txt(`52-["upload",{"name":"a.png","id":9007199254740993,"data":{"_placeholder":true,"num":0},"parts":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":1},"plain",{"n":1}]`),
		bin("\x89PNG"), bin("\x00\x01"))
	if err != nil {
		t.Fatal(err)
	}

	// Into a struct: []byte fields get the attachments, integers stay exact.
	var up struct {
		Name  string   `json:"name"`
		ID    int64    `json:"id"`
		Data  []byte   `json:"data"`
		Parts [][]byte `json:"parts"`
	}
	if err := rawArg(t, p, 0).Decode(&up); err != nil {
		t.Fatal(err)
	}
	if up.Name != "a.png" || up.ID != 9007199254740993 || string(up.Data) != "\x89PNG" || len(up.Parts) != 1 || string(up.Parts[0]) != "\x00\x01" {
		t.Errorf("struct: %+v", up)
	}

	// Into []byte: the attachment itself.
	var b []byte
	if err := rawArg(t, p, 1).Decode(&b); err != nil {
		t.Fatal(err)
	}
	if string(b) != "\x00\x01" {
		t.Errorf("[]byte: %q", b)
	}

	// Into any: a tree with []byte values, numbers as float64 (as
	// encoding/json).
	var tree any
	if err := rawArg(t, p, 0).Decode(&tree); err != nil {
		t.Fatal(err)
	}
	wantTree := map[string]any{"name": "a.png", "id": 9007199254740993.0, "data": []byte("\x89PNG"), "parts": []any{[]byte("\x00\x01")}}
	if !reflect.DeepEqual(tree, wantTree) {
		t.Errorf("any: %#v", tree)
	}

	// Into a map of any below the top: binaries arrive as base64 strings.
	var m map[string]any
	if err := rawArg(t, p, 0).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m["data"] != "iVBORw==" {
		t.Errorf("map: data is %#v", m["data"])
	}

	// Arguments without placeholders decode as plain JSON.
	var s string
	if err := rawArg(t, p, 2).Decode(&s); err != nil || s != "plain" {
		t.Errorf("string: %q, %v", s, err)
	}
	var n struct{ N int }
	if err := rawArg(t, p, 3).Decode(&n); err != nil || n.N != 1 {
		t.Errorf("struct: %+v, %v", n, err)
	}

	// Errors are encoding/json's.
	var wrong int
	err = rawArg(t, p, 2).Decode(&wrong)
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		t.Errorf("string into int: %v", err)
	}
	if err := rawArg(t, p, 0).Decode(&wrong); err == nil {
		t.Error("object into int: no error")
	}
	if err := (Raw{}).Decode(&s); err == nil {
		t.Error("zero Raw: no error")
	}

	// Any JSON codec decodes the Raw of another.
	other := NewJSON(&JSONOptions{MaxAttachments: 3})
	var b2 []byte
	if err := other.Unmarshal(rawArg(t, p, 1), &b2); err != nil || string(b2) != "\x00\x01" {
		t.Errorf("other codec: %q, %v", b2, err)
	}
}

func TestRawDecodeEscapedPlaceholderKey(t *testing.T) {
	// JSON.parse reads "\u005fplaceholder" as "_placeholder": so do we.
	p, err := decodeMessages(t, Default, txt(`51-["a",{"\u005fplaceholder":true,"num":0}]`), bin("A"))
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	if err := rawArg(t, p, 0).Decode(&b); err != nil || string(b) != "A" {
		t.Errorf("got %q, %v", b, err)
	}
	msgs, err := Default.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := showMessages(msgs), []string{`51-["a",{"_placeholder":true,"num":0}]`, "<bin 41>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("relay: got %q, want %q", got, want)
	}
}

func TestDecodeNumericEventName(t *testing.T) {
	// Event names may be numbers (kept for Socket.IO v2 clients); the name
	// is the number's JSON text, and is written back as a string.
	p, err := decodeMessages(t, Default, txt(`2[42,"x"]`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Event != "42" {
		t.Errorf("event %q", p.Event)
	}
	msgs, err := Default.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(msgs[0].Data); got != `2["42","x"]` {
		t.Errorf("re-encoded as %s", got)
	}
}

// nested returns an EVENT whose argument is depth nested arrays.
func nested(depth int) string {
	return `2["deep",` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `]`
}

// TestDeepNesting checks that a payload that is only relayed costs no
// recursion, whatever its depth: the decoder and the encoder run on a
// goroutine whose stack may not grow past 256 KiB, which a recursive
// descent over 100000 levels would exceed (and crash the test binary).
func TestDeepNesting(t *testing.T) {
	const depth = 100000
	in := nested(depth)
	var (
		p        *Packet
		err      error
		msgs     []Message
		encErr   error
		badErr   error
		bdeepErr error
	)
	done := make(chan struct{})
	old := debug.SetMaxStack(256 << 10)
	go func() {
		defer close(done)
		p, err = Default.NewDecoder().Decode([]byte(in), false)
		if err == nil {
			msgs, encErr = Default.Encode(p)
		}
		_, badErr = Default.NewDecoder().Decode([]byte(in[:len(in)-2]+"}]"), false)
		d := Default.NewDecoder()
		deepPlaceholder := `51-["deep",` + strings.Repeat("[", depth) + `{"_placeholder":true,"num":0}` + strings.Repeat("]", depth) + `]`
		if _, err := d.Decode([]byte(deepPlaceholder), false); err != nil {
			bdeepErr = err
			return
		}
		_, bdeepErr = d.Decode([]byte("x"), true)
	}()
	<-done
	debug.SetMaxStack(old)

	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if p.Event != "deep" || len(p.Args) != 1 || len(rawArg(t, p, 0).Bytes()) != 2*depth {
		t.Fatalf("Decode: event %q, %d args", p.Event, len(p.Args))
	}
	if encErr != nil || len(msgs) != 1 || string(msgs[0].Data) != in {
		t.Errorf("relay: %v", encErr)
	}
	if !errors.Is(badErr, ErrInvalidPacket) {
		t.Errorf("malformed deep payload: %v", badErr)
	}
	// A binary packet is taken apart (to check its placeholders) with
	// encoding/json, whose limit is 10000 levels: refused.
	if !errors.Is(bdeepErr, ErrInvalidPacket) {
		t.Errorf("deep binary payload: %v", bdeepErr)
	}
	// Binding such an argument is encoding/json's work, and its nesting
	// limit (10000) applies: an error, not a crash.
	var v any
	if err := rawArg(t, p, 0).Decode(&v); err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Errorf("Raw.Decode: %v", err)
	}

	// Within the limit, the argument decodes.
	p, err = Default.NewDecoder().Decode([]byte(nested(9000)), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := rawArg(t, p, 0).Decode(&v); err != nil {
		t.Errorf("Raw.Decode at depth 9000: %v", err)
	}
}

func TestValidDeep(t *testing.T) {
	// validDeep agrees with json.Valid below its depth limit ...
	for _, s := range []string{
		``, ` `, `1`, `-0.5e+3`, `"a"`, `null`, `true`, `[]`, `{}`, `[1,"a",{"b":[null]}]`, ` {"a" : 1 } `,
		`[`, `]`, `[1,]`, `[1 2]`, `{"a"}`, `{"a":1,}`, `{1:2}`, `[]]`, `[][]`, `1 2`, `01`, `1.`, `"\x"`, "\"\x01\"", `tru`, `[1}`, `{"a":1]`, `nul`,
	} {
		if got, want := validDeep([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validDeep(%q) = %v, json.Valid = %v", s, got, want)
		}
	}
	// ... and has none.
	deep := strings.Repeat(`{"a":[`, 20000) + `1` + strings.Repeat(`]}`, 20000)
	if json.Valid([]byte(deep)) || !validDeep([]byte(deep)) || !validJSON([]byte(deep)) {
		t.Error("deep value")
	}
	if validJSON([]byte(deep + `]`)) {
		t.Error("deep value with trailing data")
	}
}

func TestTypeString(t *testing.T) {
	names := map[Type]string{Connect: "CONNECT", Disconnect: "DISCONNECT", Event: "EVENT", Ack: "ACK",
		ConnectError: "CONNECT_ERROR", BinaryEvent: "BINARY_EVENT", BinaryAck: "BINARY_ACK", 7: "Type(7)"}
	for typ, want := range names {
		if got := typ.String(); got != want {
			t.Errorf("%d: %q, want %q", byte(typ), got, want)
		}
	}
}

func TestEncodeDoesNotModifyPacket(t *testing.T) {
	args := []any{"a", []byte{1, 2, 3}, map[string]any{"b": []byte{4}}}
	p := &Packet{Type: Event, Event: "e", Args: args}
	if _, err := Default.Encode(p); err != nil {
		t.Fatal(err)
	}
	if p.Type != Event || !bytes.Equal(args[1].([]byte), []byte{1, 2, 3}) || !bytes.Equal(args[2].(map[string]any)["b"].([]byte), []byte{4}) {
		t.Errorf("packet changed: %+v", p)
	}
}

func TestEncodeMapPlaceholdersInOrder(t *testing.T) {
	// Placeholders are numbered in the order they are written (map keys
	// sorted, as encoding/json writes them), the same on every call.
	m := map[string][]byte{}
	var want strings.Builder
	want.WriteString(`58-["e",{`)
	for i, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		m[k] = []byte{byte(i)}
		if i > 0 {
			want.WriteString(",")
		}
		fmt.Fprintf(&want, `"%s":{"_placeholder":true,"num":%d}`, k, i)
	}
	want.WriteString(`}]`)
	for range 20 {
		msgs, err := Default.Encode(&Packet{Type: Event, Event: "e", Args: []any{m}})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(msgs[0].Data); got != want.String() {
			t.Fatalf("got %s\nwant %s", got, want.String())
		}
		for i, a := range msgs[1:] {
			if !a.Binary || len(a.Data) != 1 || a.Data[0] != byte(i) {
				t.Fatalf("attachment %d: %v", i, a)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	// A codec is shared by all connections; each has its own decoder.
	type item struct {
		Name string         `json:"name"`
		Blob []byte         `json:"blob"`
		Tags map[string]any `json:"tags"`
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			defer func() { done <- err }()
			d := Default.NewDecoder()
			for i := range 200 {
				p := &Packet{Type: Event, Event: "e", ID: uint64(i), HasID: true,
					Args: []any{item{Name: fmt.Sprint(g), Blob: []byte{byte(i)}, Tags: map[string]any{"i": i}}}}
				var msgs []Message
				if msgs, err = Default.Encode(p); err != nil {
					return
				}
				var q *Packet
				for _, m := range msgs {
					if q, err = d.Decode(m.Data, m.Binary); err != nil {
						return
					}
				}
				var back item
				if err = q.Args[0].(Raw).Decode(&back); err != nil {
					return
				}
				if back.Name != fmt.Sprint(g) || len(back.Blob) != 1 || back.Blob[0] != byte(i) || q.ID != uint64(i) {
					err = fmt.Errorf("got %+v id %d", back, q.ID)
					return
				}
			}
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
