package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// Interop of parser/msgpack with the npm socket.io-msgpack-parser (the
// version pinned in e2e/node/package.json), driven through
// e2e/node/msgpack/codec.mjs: every packet is encoded on both sides, the
// bytes compared, and each side decodes what the other wrote.

// msgpackRequest is one request line of codec.mjs.
type msgpackRequest struct {
	Op     string    `json:"op"`
	Packet *jsPacket `json:"packet,omitempty"`
	Hex    string    `json:"hex,omitempty"`
}

// msgpackResponse is one answer line of codec.mjs.
type msgpackResponse struct {
	Op     string         `json:"op"`
	Event  string         `json:"event"`
	Hex    string         `json:"hex"`
	Packet map[string]any `json:"packet"`
	Keys   []string       `json:"keys"`
	Error  string         `json:"error"`
}

// jsPacket is a packet in codec.mjs's request form; its keys are set in
// this order on the JavaScript object, the order the Node.js server uses
// for an emit (and parser/msgpack too).
type jsPacket struct {
	Type    int            `json:"type"`
	Data    any            `json:"data,omitempty"`
	Options map[string]any `json:"options,omitempty"` // what socket.io-client adds
	ID      *uint64        `json:"id,omitempty"`
	Nsp     string         `json:"nsp"`
}

// runMsgpackCodec runs codec.mjs with the requests on stdin and returns its
// answers, one per request.
func runMsgpackCodec(t *testing.T, reqs []msgpackRequest) []msgpackResponse {
	t.Helper()
	env := requireNode(t, "socket.io-msgpack-parser")
	var stdin bytes.Buffer
	for _, r := range reqs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		stdin.Write(b)
		stdin.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.Node, "msgpack/codec.mjs")
	cmd.Dir = env.Dir
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdin = &stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := &nodeRun{
		Script:   "msgpack/codec.mjs",
		Stdout:   stdout.String(),
		Stderr:   stderr.String(),
		ExitCode: cmd.ProcessState.ExitCode(),
		Elapsed:  time.Since(start),
		Err:      errors.Join(err, ctx.Err()),
	}
	sc := bufio.NewScanner(strings.NewReader(r.Stdout))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "{") {
			r.Lines = append(r.Lines, line)
		}
	}
	r.requireDone(t)
	out := decodeLines[msgpackResponse](t, r)
	out = out[:len(out)-1] // the done line
	if len(out) != len(reqs) {
		t.Fatalf("%d answers to %d requests\n%s", len(out), len(reqs), r)
	}
	for i := range out {
		if out[i].Op != reqs[i].Op {
			t.Fatalf("answer %d is for op %q, request was %q", i, out[i].Op, reqs[i].Op)
		}
	}
	return out
}

// describe turns a generic Go value into codec.mjs's tagged JSON form.
func describe(v any) any {
	switch x := v.(type) {
	case []byte:
		return map[string]any{"$bin": hex.EncodeToString(x)}
	case time.Time:
		return map[string]any{"$date": x.UnixMilli()}
	case float64:
		switch {
		case math.IsNaN(x):
			return map[string]any{"$num": "NaN"}
		case math.IsInf(x, 1):
			return map[string]any{"$num": "Infinity"}
		case math.IsInf(x, -1):
			return map[string]any{"$num": "-Infinity"}
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = describe(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = describe(e)
		}
		return out
	}
	return v
}

// canon is v as JSON decodes it (numbers as float64), for comparisons.
func canon(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// jsData is the data of p as codec.mjs describes it, from the generic
// values want (the arguments, or the CONNECT/CONNECT_ERROR data).
func jsData(p *parser.Packet, want []any) any {
	switch p.Type {
	case parser.Event, parser.BinaryEvent:
		return describe(append([]any{p.Event}, want...))
	case parser.Ack, parser.BinaryAck:
		return describe(append([]any{}, want...))
	case parser.Connect, parser.ConnectError:
		if len(want) == 1 {
			return describe(want[0])
		}
	}
	return nil
}

type msgpackCase struct {
	name string
	p    parser.Packet
	// want holds the generic values both sides must see: the arguments,
	// or the data as a one-element slice. nil means p.Args (or p.Data).
	want []any
	// sameBytesNote, when set, says why the bytes of the two sides may
	// differ (the values must still decode the same on both sides).
	sameBytesNote string
	// toNodeOnly, when set, says why only our bytes are checked (Node's
	// encoding of the same values is wrong).
	toNodeOnly string
}

type chatLine struct {
	From    string    `json:"from"`
	Text    string    `json:"text,omitempty"`
	Sent    time.Time `json:"sent"`
	Avatar  []byte    `json:"avatar"`
	private int
}

func msgpackCases() []msgpackCase {
	date := time.UnixMilli(1700000000123).UTC()
	manyKeys := map[string]any{}
	for i := range 17 {
		manyKeys[fmt.Sprintf("k%02d", i)] = i
	}
	manyArgs := make([]any, 20)
	for i := range manyArgs {
		manyArgs[i] = i * i
	}
	big := bytes.Repeat([]byte{0xab, 0xcd}, 35000)
	return []msgpackCase{
		{name: "connect", p: parser.Packet{Type: parser.Connect, Namespace: "/"}},
		{name: "connect with auth", p: parser.Packet{Type: parser.Connect, Namespace: "/admin",
			Data: map[string]any{"token": "s3cr3t", "n": 1, "nested": map[string]any{"ok": true}}}},
		{name: "disconnect", p: parser.Packet{Type: parser.Disconnect, Namespace: "/chat"}},
		{name: "event with scalars", p: parser.Packet{Type: parser.Event, Namespace: "/", Event: "message",
			Args: []any{"héllo, 世界 🌍", 42, -7, 3.14, true, false, nil}}},
		{name: "event with binary", p: parser.Packet{Type: parser.Event, Namespace: "/", Event: "file",
			Args: []any{[]byte{0, 1, 2, 255}, []byte{}, big}}},
		{name: "event with nested maps", p: parser.Packet{Type: parser.Event, Namespace: "/chat", Event: "state",
			Args: []any{map[string]any{
				"user":  map[string]any{"name": "ann", "tags": []any{"a", "b"}, "age": 30},
				"list":  []any{1, []any{2, []any{3, map[string]any{}}}},
				"bin":   []byte{9},
				"when":  date,
				"ünï":   "cødé",
				"empty": []any{},
			}}}},
		{name: "event with numbers", p: parser.Packet{Type: parser.Event, Namespace: "/", Event: "numbers",
			Args: []any{0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991, uint64(1e19),
				-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991, int64(-1 << 62),
				1.5, -0.25, 2.0, -3.0, 5e-324, 123456789.123456, math.NaN(), math.Inf(1), math.Inf(-1)}}},
		{name: "event with integral floats past 64 bits", p: parser.Packet{Type: parser.Event, Namespace: "/", Event: "huge",
			Args: []any{1e300, -1.7976931348623157e308, 1e21, -1e19, 18446744073709551616.0}},
			toNodeOnly: "notepack 2.x writes integral numbers past 64 bits as mangled 64-bit integers; we write float 64"},
		{name: "event with dates", p: parser.Packet{Type: parser.Event, Namespace: "/", Event: "dates",
			Args: []any{time.UnixMilli(0), date, time.UnixMilli(-1000), time.UnixMilli(-62135596800000)}}},
		{name: "event with ack id", p: parser.Packet{Type: parser.Event, Namespace: "/chat", Event: "ask",
			ID: 12, HasID: true, Args: []any{"", []any{}, map[string]any{}}}},
		{name: "event with a struct", p: parser.Packet{Type: parser.Event, Namespace: "/", Event: "chat message",
			Args: []any{chatLine{From: "bob", Sent: date, Avatar: []byte{1}}}},
			want:          []any{map[string]any{"from": "bob", "sent": date, "avatar": []byte{1}}},
			sameBytesNote: "a struct keeps its field order, the JavaScript object here has its keys sorted"},
		{name: "event with long values", p: parser.Packet{Type: parser.Event, Namespace: "/", Event: strings.Repeat("e", 40),
			Args: []any{strings.Repeat("ж", 200), strings.Repeat("x", 70000), manyKeys, manyArgs}}},
		{name: "ack", p: parser.Packet{Type: parser.Ack, Namespace: "/", ID: 3, HasID: true,
			Args: []any{"ok", map[string]any{"a": nil}}}},
		{name: "ack with a large id", p: parser.Packet{Type: parser.Ack, Namespace: "/x", ID: 4294967296, HasID: true}},
		{name: "connect error string", p: parser.Packet{Type: parser.ConnectError, Namespace: "/", Data: "unauthorized"}},
		{name: "connect error map", p: parser.Packet{Type: parser.ConnectError, Namespace: "/private",
			Data: map[string]any{"message": "bad", "data": map[string]any{"code": 4}}}},
	}
}

func (c *msgpackCase) values() []any {
	if c.want != nil {
		return c.want
	}
	if c.p.Data != nil {
		return []any{c.p.Data}
	}
	return c.p.Args
}

// TestMsgpackInterop encodes every case with both codecs, requires the same
// bytes, and has each side decode the other's bytes to the same values.
func TestMsgpackInterop(t *testing.T) {
	cases := msgpackCases()
	var reqs []msgpackRequest
	goHex := make([]string, len(cases))
	expect := make([]any, len(cases)) // the JS description of each packet
	for i, c := range cases {
		msgs, err := msgpack.Default.Encode(&c.p)
		if err != nil {
			t.Fatalf("%s: encode: %v", c.name, err)
		}
		if len(msgs) != 1 || !msgs[0].Binary {
			t.Fatalf("%s: %d messages", c.name, len(msgs))
		}
		goHex[i] = hex.EncodeToString(msgs[0].Data)
		jp := &jsPacket{Type: int(c.p.Type), Data: jsData(&c.p, c.values()), Nsp: c.p.Namespace}
		if c.p.HasID {
			id := c.p.ID
			jp.ID = &id
		}
		expect[i] = jp
		reqs = append(reqs, msgpackRequest{Op: "encode", Packet: jp}, msgpackRequest{Op: "decode", Hex: goHex[i]})
	}
	answers := runMsgpackCodec(t, reqs)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc, dec := answers[2*i], answers[2*i+1]
			if enc.Error != "" || dec.Error != "" {
				t.Fatalf("node: encode error %q, decode error %q", enc.Error, dec.Error)
			}
			// Same bytes on both sides.
			if c.sameBytesNote == "" && c.toNodeOnly == "" && enc.Hex != goHex[i] {
				t.Errorf("bytes differ\n  go %s\nnode %s", abbrev(goHex[i]), abbrev(enc.Hex))
			}
			// Node decodes ours.
			if got, want := canon(t, dec.Packet), canon(t, expect[i]); !reflect.DeepEqual(got, want) {
				t.Errorf("node decoded\n got %s\nwant %s", abbrev(mustJSON(got)), abbrev(mustJSON(want)))
			}
			wantKeys := []string{"type"}
			if dec.Packet["data"] != nil {
				wantKeys = append(wantKeys, "data")
			}
			if c.p.HasID {
				wantKeys = append(wantKeys, "id")
			}
			if wantKeys = append(wantKeys, "nsp"); !reflect.DeepEqual(dec.Keys, wantKeys) {
				t.Errorf("node saw keys %v, want %v", dec.Keys, wantKeys)
			}
			// We decode Node's.
			if c.toNodeOnly != "" {
				t.Logf("not decoding Node's bytes: %s", c.toNodeOnly)
				return
			}
			b, err := hex.DecodeString(enc.Hex)
			if err != nil {
				t.Fatal(err)
			}
			p, err := msgpack.Default.NewDecoder().Decode(b, true)
			if err != nil {
				t.Fatalf("decode node's %s: %v", abbrev(enc.Hex), err)
			}
			checkDecoded(t, p, &c.p, c.values())
		})
	}
}

// checkDecoded compares a packet decoded by us with the packet sent and
// the generic values it carries.
func checkDecoded(t *testing.T, got, sent *parser.Packet, values []any) {
	t.Helper()
	typ := sent.Type
	switch typ {
	case parser.BinaryEvent:
		typ = parser.Event
	case parser.BinaryAck:
		typ = parser.Ack
	}
	if got.Type != typ || got.Namespace != sent.Namespace || got.HasID != sent.HasID || got.ID != sent.ID || got.Event != sent.Event {
		t.Errorf("decoded %v %q id=%d/%v event %q, want %v %q id=%d/%v event %q",
			got.Type, got.Namespace, got.ID, got.HasID, got.Event, typ, sent.Namespace, sent.ID, sent.HasID, sent.Event)
	}
	var raws []any
	if got.Data != nil {
		raws = []any{got.Data}
	} else {
		raws = got.Args
	}
	if len(raws) != len(values) {
		t.Fatalf("decoded %d values, want %d", len(raws), len(values))
	}
	for j, r := range raws {
		var v any
		if err := r.(parser.Raw).Decode(&v); err != nil {
			t.Fatalf("value %d: %v", j, err)
		}
		if g, w := canon(t, describe(v)), canon(t, describe(values[j])); !reflect.DeepEqual(g, w) {
			t.Errorf("value %d\n got %s\nwant %s", j, abbrev(mustJSON(g)), abbrev(mustJSON(w)))
		}
	}
}

// TestMsgpackFromNodeOnly decodes what only JavaScript writes: undefined,
// ArrayBuffer (notepack 2.x in Node.js) and the extra key socket.io-client
// puts in its packets.
func TestMsgpackFromNodeOnly(t *testing.T) {
	type want struct {
		p      parser.Packet
		values []any
	}
	id0 := uint64(0)
	tests := []struct {
		name string
		js   jsPacket
		want want
	}{
		{
			name: "connect from socket.io-client without auth",
			js:   jsPacket{Type: 0, Data: map[string]any{"$undefined": true}, Nsp: "/"},
			want: want{p: parser.Packet{Type: parser.Connect, Namespace: "/"}},
		},
		{
			name: "emit from socket.io-client with an ack",
			js: jsPacket{Type: 2, Data: []any{"hi", map[string]any{"$undefined": true}, map[string]any{"$ab": "0102ff"},
				map[string]any{"$date": 5}, map[string]any{"k": map[string]any{"$undefined": true}}},
				Options: map[string]any{"compress": true}, ID: &id0, Nsp: "/"},
			want: want{
				p:      parser.Packet{Type: parser.Event, Namespace: "/", Event: "hi", HasID: true},
				values: []any{nil, []byte{1, 2, 255}, time.UnixMilli(5).UTC(), map[string]any{"k": nil}},
			},
		},
		{
			name: "ack with a large ArrayBuffer",
			js: jsPacket{Type: 3, Data: []any{map[string]any{"$ab": strings.Repeat("07", 300)}, map[string]any{"$ab": strings.Repeat("08", 70000)}},
				ID: &id0, Nsp: "/"},
			want: want{
				p:      parser.Packet{Type: parser.Ack, Namespace: "/", HasID: true},
				values: []any{bytes.Repeat([]byte{7}, 300), bytes.Repeat([]byte{8}, 70000)},
			},
		},
	}
	var reqs []msgpackRequest
	for i := range tests {
		reqs = append(reqs, msgpackRequest{Op: "encode", Packet: &tests[i].js})
	}
	answers := runMsgpackCodec(t, reqs)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if answers[i].Error != "" {
				t.Fatalf("node: %s", answers[i].Error)
			}
			b, _ := hex.DecodeString(answers[i].Hex)
			p, err := msgpack.Default.NewDecoder().Decode(b, true)
			if err != nil {
				t.Fatalf("decode %s: %v", abbrev(answers[i].Hex), err)
			}
			var values []any
			if tt.want.values != nil {
				values = tt.want.values
			}
			checkDecoded(t, p, &tt.want.p, values)
		})
	}
}

// TestMsgpackValidation feeds the same messages to both decoders: they
// must agree, except where we are deliberately stricter (as the JSON codec).
func TestMsgpackValidation(t *testing.T) {
	const (
		both       = iota // both accept
		neither           // both reject
		goStricter        // Node accepts, we reject
	)
	tests := []struct {
		name, hex string
		want      int
	}{
		{"connect", "82a474797065 00 a36e7370 a12f", both},
		{"keys in any order", "82a36e7370a12f a474797065 01", both},
		{"integral float type", "82a474797065 cb3ff0000000000000 a36e7370a12f", both},
		{"undefined data on connect", "83a474797065 00 a464617461 d40000 a36e7370a12f", both},
		{"undefined id", "84a474797065 03 a464617461 90 a26964 d40000 a36e7370a12f", both},
		{"numeric event name", "83a474797065 02 a464617461 91 05 a36e7370a12f", both},
		{"unknown keys", "83a474797065 01 a36e7370a12f a1 78 c0", both},
		{"not a map", "93 01 02 03", neither},
		{"no type", "81a36e7370a12f", neither},
		{"type 5", "83a474797065 05 a464617461 91a165 a36e7370a12f", neither},
		{"type 6", "83a474797065 06 a464617461 90 a36e7370a12f", neither},
		{"fractional type", "82a474797065 cb3ff8000000000000 a36e7370a12f", neither},
		{"string type", "82a474797065 a132 a36e7370a12f", neither},
		{"no namespace", "81a474797065 01", neither},
		{"namespace not a string", "82a474797065 01 a36e7370 01", neither},
		{"connect with nil data", "83a474797065 00 a464617461 c0 a36e7370a12f", neither},
		{"connect with array data", "83a474797065 00 a464617461 90 a36e7370a12f", neither},
		{"connect with a Date", "83a474797065 00 a464617461 d700000000018bcfe56800 a36e7370a12f", neither},
		{"disconnect with data", "83a474797065 01 a464617461 80 a36e7370a12f", neither},
		{"connect_error without data", "82a474797065 04 a36e7370a12f", neither},
		{"connect_error with a number", "83a474797065 04 a464617461 01 a36e7370a12f", neither},
		{"event with map data", "83a474797065 02 a464617461 80 a36e7370a12f", neither},
		{"ack with string data", "83a474797065 03 a464617461 a0 a36e7370a12f", neither},
		{"string id", "84a474797065 03 a464617461 90 a26964 a131 a36e7370a12f", neither},
		{"nil id", "84a474797065 03 a464617461 90 a26964 c0 a36e7370a12f", neither},
		{"fractional id", "84a474797065 03 a464617461 90 a26964 cb3ff8000000000000 a36e7370a12f", neither},
		{"trailing bytes", "82a474797065 00 a36e7370a12f 00", neither},
		{"truncated", "82a474797065 00 a36e7370", neither},
		{"unused code", "82a474797065 c1 a36e7370a12f", neither},
		{"event without name", "83a474797065 02 a464617461 90 a36e7370a12f", goStricter},
		{"reserved event name", "83a474797065 02 a464617461 91 ad646973636f6e6e656374696e67 a36e7370a12f", goStricter},
		{"boolean event name", "83a474797065 02 a464617461 91 c3 a36e7370a12f", goStricter},
		{"negative id", "84a474797065 03 a464617461 90 a26964 ff a36e7370a12f", goStricter},
	}
	var reqs []msgpackRequest
	for i := range tests {
		tests[i].hex = strings.Join(strings.Fields(tests[i].hex), "")
		reqs = append(reqs, msgpackRequest{Op: "decode", Hex: tests[i].hex})
	}
	answers := runMsgpackCodec(t, reqs)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			_, err := msgpack.Default.NewDecoder().Decode(b, true)
			if err != nil && !errors.Is(err, parser.ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			goOK, nodeOK := err == nil, answers[i].Error == ""
			wantGo, wantNode := tt.want == both, tt.want != neither
			if goOK != wantGo || nodeOK != wantNode {
				t.Errorf("go accepts: %v (err %v), node accepts: %v (err %q); want go %v, node %v",
					goOK, err, nodeOK, answers[i].Error, wantGo, wantNode)
			}
		})
	}
}

func abbrev(s string) string {
	if len(s) > 400 {
		return s[:200] + "..." + s[len(s)-100:] + fmt.Sprintf(" (%d chars)", len(s))
	}
	return s
}
