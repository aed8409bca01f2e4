package packet

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// updateSeeds rewrites the advisory seeds of testdata/fuzz from the table
// of this file: go test ./engineio/packet -run Seeds -update-seeds
var updateSeeds = flag.Bool("update-seeds", false, "rewrite the advisory seed files of testdata/fuzz")

// payloadAdvisories are the polling bodies of the published advisories
// about the Engine.IO payload (docs/advisories.md), as FuzzDecodePayload
// seeds, with what DecodePayload must make of them: how many packets it
// delivers, and the error that stops it ("" when the body is valid).
var payloadAdvisories = []struct {
	name    string
	payload string
	packets int
	wantErr string
}{
	// CVE-2020-36048 (engine.io < 3.6.0, maxHttpBufferSize 100 MB): a
	// body of millions of tiny packets, or one huge one, made the
	// payload parser spend minutes and gigabytes (the same report led to
	// python-engineio's "Prevent heavy CPU usage when decoding payloads").
	// Decoding is linear and allocation-free for text; the body size is
	// bounded by MaxHTTPBufferSize before it gets here.
	{"CVE-2020-36048", "4" + strings.Repeat("2", 2000), 1, ""},
	{"CVE-2020-36048-many-packets", strings.Repeat("6\x1e", 1000) + "6", 1001, ""},
	{"CVE-2020-36048-many-separators", "4a" + strings.Repeat("\x1e", 1000), 1, "engineio: invalid packet: empty packet"},
	// The same attack in the length-prefixed framing of protocol v3 is no
	// v4 payload: '9' is no packet type.
	{"CVE-2020-36048-v3-framing", "99999991:4" + strings.Repeat("2", 2000), 0, `engineio: invalid packet: unknown type '9'`},
	// socketioxide #739 and #741 (no advisory id): a malformed v3
	// payload looped forever or overflowed. In v4 the same bytes are one
	// noop packet whose data is ignored, as Node's v4 parser reads them.
	{"socketioxide-739-v3-payload", "6:42[{}]11:4abcdefghij1:2", 1, ""},
	{"socketioxide-741-v3-length", "\xff\xff:4", 0, `engineio: invalid packet: unknown type 'ÿ'`},
	// A base64 body in which the attacker controls the decoded size:
	// bounded by 3/4 of the text.
	{"CVE-2020-36048-base64", "b" + strings.Repeat("AAAA", 500), 1, ""},
}

func TestAdvisories(t *testing.T) {
	for _, a := range payloadAdvisories {
		t.Run(a.name, func(t *testing.T) {
			n := 0
			err := DecodePayload([]byte(a.payload), func(p Packet) error {
				n++
				if p.Binary && len(p.Data) > len(a.payload)*3/4 {
					t.Fatalf("binary packet of %d bytes from a %d-byte payload", len(p.Data), len(a.payload))
				}
				return nil
			})
			if n != a.packets {
				t.Errorf("%d packets delivered, want %d", n, a.packets)
			}
			switch {
			case a.wantErr == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case a.wantErr != "" && (err == nil || err.Error() != a.wantErr):
				t.Fatalf("error %v, want %q", err, a.wantErr)
			case err != nil && !errors.Is(err, ErrInvalidPacket):
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
		})
	}
}

// TestAdvisorySeeds keeps the advisory seeds of FuzzDecodePayload equal to
// the table.
func TestAdvisorySeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodePayload")
	for _, a := range payloadAdvisories {
		want := []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", a.payload))
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
