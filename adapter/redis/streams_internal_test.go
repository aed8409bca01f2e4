package redis

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
)

func TestHashCodeAndStreamFor(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int32
	}{
		{"", 0},
		{"/", 47},
		{"/chat", 46457863},
		{"hello", 99162322},                   // Java's "hello".hashCode()
		{"polygenelubricants", math.MinInt32}, // overflows to MIN_VALUE
		{"é😀", 233*31*31 + 0xd83d*31 + 0xde00},
	} {
		if got := hashCode(tc.s); got != tc.want {
			t.Errorf("hashCode(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
	for _, tc := range []struct {
		nsp   string
		count int
		want  string
	}{
		{"/", 1, "s"},
		{"/", 3, "s-2"},
		{"/chat", 3, "s-1"},
		{"polygenelubricants", 3, "s--2"}, // JavaScript's % keeps the sign
	} {
		if got := streamFor(tc.nsp, "s", tc.count); got != tc.want {
			t.Errorf("streamFor(%q, %d) = %q, want %q", tc.nsp, tc.count, got, tc.want)
		}
	}
}

func TestStreamIDs(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1-0", "1-0", 0},
		{"1-1", "1-0", 1},
		{"2-0", "10-0", -1},
		{"10-0", "9-99", 1},
		{"x", "0-0", 0}, // invalid is smallest (0-0)
	} {
		if got := compareStreamIDs(tc.a, tc.b); got != tc.want {
			t.Errorf("compareStreamIDs(%q, %q) = %d", tc.a, tc.b, got)
		}
	}
	for in, want := range map[string]string{"5-0": "5-1", "5-9": "5-10", "5-18446744073709551615": "6-0", "bad": "bad"} {
		if got := nextStreamID(in); got != want {
			t.Errorf("nextStreamID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStreamsEncode(t *testing.T) {
	bcast := &adapter.ClusterMessage{UID: "u", Nsp: "/", Type: adapter.MsgBroadcast, Data: &adapter.MessageData{
		Packet: &adapter.WirePacket{Type: parser.Event, Data: []any{"e", 1}, Nsp: "/"},
		Opts:   adapter.EncodeOptions(adapter.BroadcastOptions{}),
	}}
	f, err := streamsEncode(bcast, false)
	want := []string{"uid", "u", "nsp", "/", "type", "3", "data", `{"opts":{"rooms":[],"except":[],"flags":{}},"packet":{"type":2,"data":["e",1],"nsp":"/"}}`}
	if err != nil || !slices.Equal(f, want) {
		t.Errorf("fields %q, %v", f, err)
	}
	bin := *bcast
	bin.Data = &adapter.MessageData{Packet: &adapter.WirePacket{Type: parser.Event, Data: []any{"e", []byte{1}}, Nsp: "/"}, Opts: bcast.Data.Opts}
	f, _ = streamsEncode(&bin, false)
	raw, err := base64.StdEncoding.DecodeString(f[7])
	if err != nil || raw[0] == '{' {
		t.Errorf("binary data %q", f[7])
	}
	if f, _ := streamsEncode(&bin, true); f[7][0] != '{' {
		t.Errorf("OnlyPlaintext data %q", f[7])
	}
	if f, _ := streamsEncode(&adapter.ClusterMessage{UID: "u", Nsp: "/", Type: adapter.MsgHeartbeat}, false); len(f) != 6 {
		t.Errorf("heartbeat fields %q", f)
	}
	// Join requests may not carry binary: always JSON.
	join := &adapter.ClusterMessage{UID: "u", Nsp: "/", Type: adapter.MsgSocketsJoin, Data: &adapter.MessageData{Opts: bcast.Data.Opts, Rooms: []string{"a"}}}
	if f, _ := streamsEncode(join, false); f[7] != `{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["a"]}` {
		t.Errorf("join data %q", f[7])
	}
	for _, m := range []*adapter.ClusterMessage{bcast, &bin, join} {
		f, _ := streamsEncode(m, false)
		fields := map[string]string{}
		for i := 0; i < len(f); i += 2 {
			fields[f[i]] = f[i+1]
		}
		got, err := decodeStreamEntry(fields)
		if err != nil || got.Type != m.Type || got.UID != "u" || got.Data == nil {
			t.Errorf("decode of %q: %+v %v", f, got, err)
		}
	}
	if !ephemeral(&adapter.ClusterMessage{Type: adapter.MsgBroadcast, Data: &adapter.MessageData{RequestID: "r"}}) ||
		ephemeral(bcast) || !ephemeral(&adapter.ClusterMessage{Type: adapter.MsgFetchSockets}) ||
		!ephemeral(&adapter.ClusterMessage{Type: adapter.MsgServerSideEmit}) || ephemeral(join) {
		t.Error("ephemeral")
	}
}

// A session written by Node (@msgpack/msgpack, base64) decodes.
func TestDecodeNodeSession(t *testing.T) {
	node := "\x84\xa3sid\xa4sid1\xa3pid\xa4pid1\xa5rooms\x92\xa4sid1\xa1r\xa4data\x82\xa4user\xa3bob\xa4when\xd6\xff\x00\x00\x00\x01"
	ss, err := decodeSession(base64.StdEncoding.EncodeToString([]byte(node)))
	if err != nil {
		t.Fatal(err)
	}
	if ss.SID != "sid1" || ss.PID != "pid1" || !slices.Equal(ss.Rooms, []string{"sid1", "r"}) {
		t.Errorf("session %+v", ss)
	}
	d, _ := ss.Data.(map[string]any)
	if d["user"] != "bob" {
		t.Errorf("data %#v", ss.Data)
	}
	if tm, ok := d["when"].(time.Time); !ok || tm.Unix() != 1 {
		t.Errorf("a Date in the data: %#v", d["when"])
	}
	for _, bad := range []string{"!!", base64.StdEncoding.EncodeToString([]byte("\xc1")), base64.StdEncoding.EncodeToString([]byte("\x80"))} {
		if _, err := decodeSession(bad); err == nil {
			t.Errorf("decodeSession(%q) succeeded", bad)
		}
	}
}

// missed applies Node's rules (namespace, type, rooms) and ours (the
// reader's position, own entries, volatile).
func TestStreamsMissed(t *testing.T) {
	nsp := newShNsp("/")
	nsp.recovery = &adapter.RecoveryConfig{MaxDisconnectionDuration: time.Minute}
	a := NewStreamsAdapter(&shDriver{}, nil)(nsp).(*StreamsAdapter)
	entry := func(id, uid, nspName, typ, data string) StreamEntry {
		return StreamEntry{ID: id, Fields: map[string]string{"uid": uid, "nsp": nspName, "type": typ, "data": data}}
	}
	data := func(opts string) string {
		return `{"packet":{"type":2,"data":["e",1],"nsp":"/"},"opts":` + opts + `}`
	}
	all := `{"rooms":[],"except":[],"flags":{}}`
	rooms := []string{"sid", "r"}
	for _, tc := range []struct {
		e    StreamEntry
		last string
		want bool
	}{
		{entry("5-0", "other", "/", "3", data(all)), "5-0", true},
		{entry("5-1", "other", "/", "3", data(all)), "5-0", false}, // the reader will deliver it
		{entry("5-1", a.UID(), "/", "3", data(all)), "5-0", true},  // own: delivered at publish time
		{entry("5-1", a.UID(), "/", "3", data(all)), "", true},
		{entry("5-0", "other", "/", "3", data(all)), "", false},
		{entry("5-0", "other", "/x", "3", data(all)), "9-0", false},
		{entry("5-0", "other", "/", "4", `{"opts":`+all+`,"rooms":["a"]}`), "9-0", false},
		{entry("5-0", "other", "/", "3", data(`{"rooms":["r"],"except":[],"flags":{}}`)), "9-0", true},
		{entry("5-0", "other", "/", "3", data(`{"rooms":["q"],"except":[],"flags":{}}`)), "9-0", false},
		{entry("5-0", "other", "/", "3", data(`{"rooms":[],"except":["sid"],"flags":{}}`)), "9-0", false},
		{entry("5-0", "other", "/", "3", data(`{"rooms":[],"except":[],"flags":{"volatile":true}}`)), "9-0", false},
		{entry("5-0", "other", "/", "3", `{"requestId":"x","packet":{"type":2,"data":["e"],"nsp":"/"},"opts":`+all+`}`), "9-0", false},
		{entry("5-0", "other", "/", "3", "garbage"), "9-0", false},
	} {
		p := a.missed(tc.e, rooms, tc.last)
		if (p != nil) != tc.want {
			t.Errorf("missed(%v, last %q) = %v, want %v", tc.e, tc.last, p, tc.want)
			continue
		}
		if p != nil && (p.Event != "e" || len(p.Args) != 2 || p.Args[1] != tc.e.ID || p.HasID) {
			t.Errorf("replayed packet %+v", p)
		}
	}
}

// FuzzStreamEntry feeds what a stream may hold to a streams adapter:
// nothing panics, and what decodes encodes again.
func FuzzStreamEntry(f *testing.F) {
	mp := "\x82\xa6packet\x83\xa4type\x02\xa4data\x92\xa2mp\xc4\x01\x09\xa3nsp\xa1/\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80"
	for _, s := range [][3]string{
		{"3", `{"packet":{"type":2,"data":["e",1,{"a":[true,null]}],"nsp":"/"},"opts":{"rooms":["r"],"except":["s"],"flags":{"volatile":true}}}`, "1-0"},
		{"3", base64.StdEncoding.EncodeToString([]byte(mp)), "2-0"},
		{"4", `{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["a","b"]}`, "3-0"},
		{"5", `{"opts":{"rooms":["a"],"except":[],"flags":{}},"rooms":["a"]}`, "4-0"},
		{"6", `{"opts":{"rooms":[],"except":[],"flags":{}},"close":true}`, "5-0"},
		{"7", `{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"q"}`, "6-0"},
		{"9", `{"packet":["ev",1,"2"]}`, "7-0"},
		{"2", "", "8-0"},
		{"x", "{}", "9-0"},
		{"3", "!!!", "10-0"},
		{"3", "e30=", "11-0"}, // base64 of {}
	} {
		f.Add("node0", "/", s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, uid, nspName, typ, data, id string) {
		fields := map[string]string{"uid": uid, "nsp": nspName, "type": typ, "data": data}
		nsp := newShNsp("/", "aaaaaaaaaaaaaaaaaaaa")
		nsp.recovery = &adapter.RecoveryConfig{MaxDisconnectionDuration: time.Minute}
		a := NewStreamsAdapter(&shDriver{}, &StreamsOptions{RequestTimeout: 100 * time.Millisecond})(nsp).(*StreamsAdapter)
		nsp.a = a
		_ = a.missed(StreamEntry{ID: id, Fields: fields}, []string{"aaaaaaaaaaaaaaaaaaaa", "r"}, "99-0")
		m, err := decodeStreamEntry(fields)
		if err != nil {
			return
		}
		seen := false
		a.OnMessageSeen(m, id, func() { seen = true })
		if !seen {
			t.Fatal("seen was not called")
		}
		_ = a.Close()
		f2, err := streamsEncode(m, false)
		if err != nil {
			return
		}
		back := map[string]string{}
		for i := 0; i+1 < len(f2); i += 2 {
			back[f2[i]] = f2[i+1]
		}
		m2, err := decodeStreamEntry(back)
		if err != nil {
			t.Fatalf("%q re-encoded as %q does not decode: %v", fields, f2, err)
		}
		if m2.Type != m.Type || (m2.Data == nil) != (m.Data == nil) || utf8.ValidString(uid) && m2.UID != uid {
			t.Fatalf("%q: decoded %s then %s", fields, fmt.Sprint(m), fmt.Sprint(m2))
		}
	})
}
