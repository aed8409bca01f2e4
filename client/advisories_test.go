package client

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sio/socketio/engineio/packet"
	"github.com/go-sio/socketio/parser"
)

// updateSeeds rewrites the advisory seeds of testdata/fuzz from the table
// of this file: go test ./client -run Seeds -update-seeds
var updateSeeds = flag.Bool("update-seeds", false, "rewrite the advisory seed files of testdata/fuzz")

func txt(s string) parser.Message { return parser.Message{Data: []byte(s)} }
func bin(s string) parser.Message { return parser.Message{Data: []byte(s), Binary: true} }

const connected = `0{"sid":"FakeSocketIdAAAAAAAA"}`

// clientAdvisories are the malicious packets of the socket.io-parser and
// socket.io advisories (docs/advisories.md) sent by a server to the Go
// client, after the CONNECT of namespace "/". socket.io-client shares the
// parser, so a malicious server (or a man in the middle of ws://) could
// exploit them against clients: the client closes with "parse error",
// failing its waiting acks, and delivers nothing of the packet.
var clientAdvisories = []struct {
	name   string
	msgs   []parser.Message
	events []string // the event names delivered
	close  string   // the manager's close reason
}{
	{"CVE-2020-36049", []parser.Message{txt(connected), txt("2" + strings.Repeat("2", 1000))}, nil, "parse error"},
	{"CVE-2022-2421", []parser.Message{txt(connected), txt(`51-["hello",{"_placeholder":true,"num":"splice"}]`), bin("world")}, nil, "parse error"},
	{"CVE-2022-2421-binary-without-header", []parser.Message{txt(connected), bin("world")}, nil, "parse error"},
	{"CVE-2023-32695", []parser.Message{txt(connected), txt(`2[{"toString":"foo"}]`)}, nil, "parse error"},
	{"CVE-2024-38355", []parser.Message{txt(connected), txt(`2["error"]`)}, []string{"error"}, "forced close"},
	{"CVE-2026-33151", []parser.Message{txt(connected), txt(`51000000-["a",{"_placeholder":true,"num":0}]`), bin("a"), bin("b")}, nil, "parse error"},
	{"CVE-2026-69185", []parser.Message{txt(connected), txt(`50-["a"]`), bin("a"), bin("b")}, []string{"a"}, "parse error"},
}

func TestAdvisories(t *testing.T) {
	for _, a := range clientAdvisories {
		t.Run(a.name, func(t *testing.T) {
			got := runClient(t, parser.Default, a.msgs)
			var names []string
			for _, e := range got.events {
				names = append(names, e.name)
			}
			if fmt.Sprint(names) != fmt.Sprint(a.events) {
				t.Fatalf("events %q, want %q", names, a.events)
			}
			if len(got.closes) != 1 || got.closes[0] != a.close {
				t.Fatalf("manager closed with %q, want %q", got.closes, a.close)
			}
			for _, id := range pendingAcks {
				if acks := got.acks[id]; len(acks) != 1 || acks[0] != ErrDisconnected.Error() {
					t.Fatalf("ack %d got %q, want ErrDisconnected once", id, acks)
				}
			}
			// And as the fuzz target sees it.
			if want := expectClient(parser.Default, a.msgs); fmt.Sprint(want.events) != fmt.Sprint(got.events) ||
				fmt.Sprint(want.closes) != fmt.Sprint(got.closes) {
				t.Fatalf("expectClient disagrees: %+v", want)
			}
		})
	}
}

// TestAdvisorySeeds keeps the FuzzClientPackets seeds of the advisories
// equal to the table: the messages as one Engine.IO payload.
func TestAdvisorySeeds(t *testing.T) {
	for _, a := range clientAdvisories {
		var pkts []packet.Packet
		for _, m := range a.msgs {
			pkts = append(pkts, packet.Packet{Type: packet.Message, Data: m.Data, Binary: m.Binary})
		}
		want := []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint8(0)\n", packet.AppendPayload(nil, pkts)))
		path := filepath.Join("testdata", "fuzz", "FuzzClientPackets", a.name)
		if *updateSeeds {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
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
