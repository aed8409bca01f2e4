package msgpack

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sio/socketio/parser"
)

// updateSeeds rewrites the advisory seeds of testdata/fuzz from the table
// of this file: go test ./parser/msgpack -run Seeds -update-seeds
var updateSeeds = flag.Bool("update-seeds", false, "rewrite the advisory seed files of testdata/fuzz")

// mp encodes v (maps with sorted keys) as this codec writes it.
func mp(v any) []byte {
	e := encoder{}
	if err := e.any(v, 1); err != nil {
		panic(err)
	}
	return e.buf
}

// event is the packet {"type":2,"nsp":"/","data":data}.
func event(data ...any) []byte {
	return mp(map[string]any{"type": 2, "nsp": "/", "data": data})
}

// msgpackAdvisories are the inputs of the published socket.io-parser and
// socket.io advisories (docs/advisories.md) carried over to this codec:
// the same packet, written in MessagePack. Every one is refused, or, for a
// valid packet, decoded as the ordinary packet it is.
var msgpackAdvisories = []struct {
	name    string
	data    []byte
	wantErr string // "" for an accepted packet
	event   string
}{
	// CVE-2023-32695: an event name that is not a string or a number.
	{"CVE-2023-32695", event(map[string]any{"toString": "foo"}), "event name must be a string or a number, not a map", ""},
	{"CVE-2023-32695-true", event(true, "foo"), "event name must be a string or a number, not a bool", ""},
	{"CVE-2023-32695-null", event(nil, "bar"), "event name must be a string or a number, not a nil", ""},
	{"CVE-2023-32695-array", event([]any{"foo"}, "bar"), "event name must be a string or a number, not a array", ""},
	// CVE-2024-38355: "error" is an ordinary event name.
	{"CVE-2024-38355", event("error"), "", "error"},
	// CVE-2022-2421: this codec has no placeholders; the object of the
	// advisory is plain data (TestAdvisories checks it stays a map).
	{"CVE-2022-2421", event("hello", map[string]any{"_placeholder": true, "num": "splice"}), "", "hello"},
	// CVE-2026-33151, CVE-2026-69185: binary packet types (and their
	// attachment counts) do not exist in this codec.
	{"CVE-2026-33151", mp(map[string]any{"type": 5, "nsp": "/", "data": []any{"a"}, "attachments": 1000000}), "invalid packet type", ""},
	{"CVE-2026-69185", mp(map[string]any{"type": 5, "nsp": "/", "data": []any{"a"}, "attachments": 0}), "invalid packet type", ""},
	// CVE-2020-36049: a huge packet built up piece by piece; here a
	// length announcing 4 GiB that the message does not hold.
	{"CVE-2020-36049", append(h("83 a4 74797065 02 a4 64617461 91 db ffffffff"), "abc"...), "msgpack: truncated input", ""},
}

func TestAdvisories(t *testing.T) {
	for _, a := range msgpackAdvisories {
		t.Run(a.name, func(t *testing.T) {
			p, err := Default.NewDecoder().Decode(a.data, true)
			if a.wantErr != "" {
				if err == nil {
					t.Fatalf("accepted as %+v, want %q", p, a.wantErr)
				}
				if !errors.Is(err, parser.ErrInvalidPacket) || p != nil {
					t.Fatalf("got %+v, %v; want an error wrapping ErrInvalidPacket", p, err)
				}
				if !strings.HasSuffix(err.Error(), ": "+a.wantErr) {
					t.Fatalf("error %q, want %q", err, a.wantErr)
				}
				return
			}
			if err != nil || p == nil || p.Type != parser.Event || p.Event != a.event {
				t.Fatalf("got %+v, %v; want event %q", p, err, a.event)
			}
			for _, arg := range p.Args {
				var v any
				if err := arg.(parser.Raw).Decode(&v); err != nil {
					t.Fatal(err)
				}
				if m, ok := v.(map[string]any); ok && (m["_placeholder"] != true || m["num"] != "splice") {
					t.Fatalf("argument decoded as %#v, want the plain object", v)
				}
			}
		})
	}
}

func TestAdvisorySeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for _, a := range msgpackAdvisories {
		want := []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", a.data))
		path := filepath.Join(dir, a.name)
		if *updateSeeds {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("seed %s differs from the table (%v); run with -update-seeds", path, err)
		}
	}
}
