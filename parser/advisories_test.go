package parser

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

// updateSeeds rewrites the advisory seeds of testdata/fuzz from the tables
// of this file: go test ./parser -run Seeds -update-seeds
var updateSeeds = flag.Bool("update-seeds", false, "rewrite the advisory seed files of testdata/fuzz")

// advisory is one malicious input of a published advisory (see
// docs/advisories.md), as a FuzzJSONDecode seed, and what the decoder must
// do with it.
type advisory struct {
	// name is the seed's file name: the advisory id, with a suffix for
	// each variant of its input.
	name string
	// text, n and bins are the FuzzJSONDecode input (see fuzzMessages).
	text string
	n    uint8
	bins string
	// failAt is the index of the message that must be refused, with
	// wantErr, every message before it being accepted. -1: every message
	// is accepted and the last one completes a packet.
	failAt  int
	wantErr string
	// wantEvent and wantAtts describe the packet of an accepted input.
	wantEvent string
	wantAtts  int
}

const ph0 = `{"_placeholder":true,"num":0}`

var jsonAdvisories = []advisory{
	// CVE-2020-36049 (socket.io-parser < 3.4.1): the decoder built the
	// attachment count, the namespace and the ack id one character at a
	// time; a 100 MB packet of digits exhausted the heap.
	{name: "CVE-2020-36049", text: "2" + strings.Repeat("2", 1000), failAt: 0,
		wantErr: "ack id out of range"},
	{name: "CVE-2020-36049-attachments", text: "5" + strings.Repeat("1", 250) + `-["a"]`, n: 1, bins: "x", failAt: 0,
		wantErr: "illegal attachments"},
	{name: "CVE-2020-36049-namespace", text: "2/" + strings.Repeat("a", 1000), failAt: 0,
		wantErr: "event without payload"},

	// CVE-2022-2421 (socket.io-parser < 4.2.1): a placeholder whose num is
	// not an index of the attachments put a function ("splice") or
	// undefined into the decoded arguments; binary and text messages out
	// of sequence were mixed into another packet.
	{name: "CVE-2022-2421", text: `51-["hello",{"_placeholder":true,"num":"splice"}]`, n: 1, bins: "world", failAt: 1,
		wantErr: "illegal attachments"},
	{name: "CVE-2022-2421-num-out-of-bounds", text: `51-["hello",{"_placeholder":true,"num":1}]`, n: 1, bins: "world", failAt: 1,
		wantErr: "illegal attachments"},
	{name: "CVE-2022-2421-num-negative", text: `51-["hello",{"_placeholder":true,"num":-1}]`, n: 1, bins: "world", failAt: 1,
		wantErr: "illegal attachments"},
	{name: "CVE-2022-2421-num-fraction", text: `51-["hello",{"_placeholder":true,"num":0.5}]`, n: 1, bins: "world", failAt: 1,
		wantErr: "illegal attachments"},
	{name: "CVE-2022-2421-num-object", text: `51-["hello",{"_placeholder":true,"num":{"toString":"splice"}}]`, n: 1, bins: "world", failAt: 1,
		wantErr: "illegal attachments"},
	{name: "CVE-2022-2421-num-proto", text: `51-["hello",{"_placeholder":true,"num":"__proto__"}]`, n: 1, bins: "world", failAt: 1,
		wantErr: "illegal attachments"},
	{name: "CVE-2022-2421-escaped-key", text: `51-["hello",{"\u005fplaceholder":true,"num":"splice"}]`, n: 1, bins: "world", failAt: 1,
		wantErr: "illegal attachments"},
	// Placeholders under prototype keys are ordinary keys here: valid
	// references, decoded as such.
	{name: "CVE-2022-2421-proto-key", text: `51-["hello",{"__proto__":` + ph0 + `,"constructor":{"prototype":` + ph0 + `}}]`, n: 1, bins: "world",
		failAt: -1, wantEvent: "hello", wantAtts: 1},
	{name: "CVE-2022-2421-binary-without-header", text: `2["hello"]`, n: 4, bins: "world", failAt: 0,
		wantErr: "got binary data when not reconstructing a packet"},
	{name: "CVE-2022-2421-plaintext-while-reconstructing", text: `51-["hello",` + ph0 + `]`, n: 8, failAt: 1,
		wantErr: "got plaintext data when reconstructing a packet"},

	// CVE-2023-32695 (socket.io-parser < 4.2.3): an event "name" that is
	// not a string made the server's EventEmitter throw.
	{name: "CVE-2023-32695", text: `2[{"toString":"foo"}]`, failAt: 0,
		wantErr: "event name must be a string or a number"},
	{name: "CVE-2023-32695-true", text: `2[true,"foo"]`, failAt: 0,
		wantErr: "event name must be a string or a number"},
	{name: "CVE-2023-32695-null", text: `2[null,"bar"]`, failAt: 0,
		wantErr: "event name must be a string or a number"},
	{name: "CVE-2023-32695-array", text: `2[["foo"],"bar"]`, failAt: 0,
		wantErr: "event name must be a string or a number"},
	{name: "CVE-2023-32695-binary-event", text: `51-[{"toString":"foo"},` + ph0 + `]`, n: 1, bins: "x", failAt: 1,
		wantErr: "event name must be a string or a number"},

	// CVE-2024-38355 (socket.io < 4.6.2): a client's "error" event killed a
	// server without an "error" listener. The packet is valid: it decodes
	// as an ordinary event, which the server hands to its handlers.
	{name: "CVE-2024-38355", text: `2["error"]`, failAt: -1, wantEvent: "error"},

	// CVE-2026-33151 (socket.io-parser < 4.2.6): no bound on the announced
	// attachments, buffered until they all came.
	{name: "CVE-2026-33151", text: `51000000-["a",` + ph0 + `]`, n: 3, bins: "abc", failAt: 0,
		wantErr: "too many attachments (1000000 > 10)"},
	{name: "CVE-2026-33151-eleven", text: `511-["a"]`, n: 3, bins: "abc", failAt: 0,
		wantErr: "too many attachments (11 > 10)"},
	{name: "CVE-2026-33151-nine-digits", text: `5999999999-["a",` + ph0 + `]`, n: 3, bins: "abc", failAt: 0,
		wantErr: "too many attachments (999999999 > 10)"},
	// The invalid counts of the same fix's tests.
	{name: "CVE-2026-33151-count-missing", text: "5", failAt: 0, wantErr: "illegal attachments"},
	{name: "CVE-2026-33151-count-without-dash", text: "51", failAt: 0, wantErr: "illegal attachments"},
	{name: "CVE-2026-33151-count-letter", text: "5a-", failAt: 0, wantErr: "illegal attachments"},
	{name: "CVE-2026-33151-count-fraction", text: "51.23-", failAt: 0, wantErr: "illegal attachments"},

	// CVE-2026-69185 (socket.io-parser < 4.2.7, "zero-attachment memory
	// exhaustion"): after a binary packet announcing 0 attachments, the
	// reference decoder kept reconstructing and buffered every later binary
	// message. Here the packet completes at once and a binary message
	// after it is refused.
	{name: "CVE-2026-69185", text: `50-["a"]`, n: 3, bins: "abc", failAt: 1,
		wantErr: "got binary data when not reconstructing a packet"},

	// netty-socketio issue #945 (no advisory id): a huge attachment count
	// made the server allocate an array of that length.
	{name: "netty-socketio-945", text: `51832742252-["a",` + ph0 + `]`, n: 1, bins: "x", failAt: 0,
		wantErr: "illegal attachments"},
}

// TestAdvisories feeds the input of each advisory to a decoder, through
// the same message sequence as FuzzJSONDecode, and checks the precise
// refusal (or the packet, for the inputs that are valid).
func TestAdvisories(t *testing.T) {
	for _, a := range jsonAdvisories {
		t.Run(a.name, func(t *testing.T) {
			msgs := fuzzMessages([]byte(a.text), a.n, []byte(a.bins))
			d := Default.NewDecoder()
			var last *Packet
			for i, m := range msgs {
				p, err := d.Decode(m.Data, m.Binary)
				if i == a.failAt {
					if err == nil {
						t.Fatalf("message %d accepted, want %q", i, a.wantErr)
					}
					if !errors.Is(err, ErrInvalidPacket) {
						t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
					}
					if want := ErrInvalidPacket.Error() + ": " + a.wantErr; err.Error() != want {
						t.Fatalf("error %q, want %q", err, want)
					}
					if p != nil {
						t.Fatalf("packet %+v with the error", p)
					}
					return
				}
				if err != nil {
					t.Fatalf("message %d refused: %v", i, err)
				}
				if p != nil {
					last = p
				}
			}
			if a.failAt >= 0 {
				t.Fatalf("only %d messages, want a refusal at %d", len(msgs), a.failAt)
			}
			if last == nil || last.Type != Event || last.Event != a.wantEvent {
				t.Fatalf("got %+v, want event %q", last, a.wantEvent)
			}
			for _, arg := range last.Args {
				if n := len(arg.(Raw).Attachments()); n != a.wantAtts {
					t.Fatalf("argument with %d attachments, want %d", n, a.wantAtts)
				}
			}
			checkReencode(t, last)
		})
	}
}

// TestRelayDuplicatePlaceholders relays a packet whose placeholders all
// name one attachment: the attachment travels once, not once per
// placeholder (which let a client turn 30 bytes of text into a copy of
// its largest attachment for every receiver of a relay).
func TestRelayDuplicatePlaceholders(t *testing.T) {
	const copies = 1000
	text := `51-["m"` + strings.Repeat(","+ph0, copies) + `]`
	att := bytes.Repeat([]byte{7}, 4096)
	p, err := decodeMessages(t, Default, txt(text), Message{Data: att, Binary: true})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := Default.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !bytes.Equal(msgs[1].Data, att) {
		t.Fatalf("re-encoded into %d messages, want the text and one attachment", len(msgs))
	}
	if !bytes.HasPrefix(msgs[0].Data, []byte("51-[")) || bytes.Count(msgs[0].Data, []byte(ph0)) != copies {
		t.Fatalf("text %.80q..., want %d placeholders of attachment 0", msgs[0].Data, copies)
	}
	checkReencode(t, p)
}

// corpusFile is the `go test fuzz v1` form of a seed with values vals.
func corpusFile(vals ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch x := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", x)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", x)
		case uint8:
			fmt.Fprintf(&b, "uint8(%d)\n", x)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", x)
		default:
			panic(fmt.Sprintf("corpusFile: %T", v))
		}
	}
	return b.Bytes()
}

// checkSeeds checks that testdata/fuzz/<target> holds exactly the given
// seed files, byte for byte, among those whose name starts with one of
// prefixes (the advisory seeds; other seeds are left alone). With
// -update-seeds it writes them instead.
func checkSeeds(t *testing.T, target string, seeds map[string][]byte, prefixes ...string) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if *updateSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		for _, p := range prefixes {
			if strings.HasPrefix(e.Name(), p) {
				found = append(found, e.Name())
				break
			}
		}
	}
	for _, name := range found {
		if _, ok := seeds[name]; !ok {
			t.Errorf("%s/%s is an advisory seed without a test: add it to the table", dir, name)
		}
	}
	for name, want := range seeds {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("seed %s: %v (run with -update-seeds)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("seed %s/%s differs from the table (run with -update-seeds)", dir, name)
		}
	}
}

var advisoryPrefixes = []string{"CVE-", "GHSA-", "netty-socketio-"}

// TestAdvisorySeeds keeps the advisory seeds of the fuzz corpora equal to
// the tables of this file.
func TestAdvisorySeeds(t *testing.T) {
	seeds := map[string][]byte{}
	for _, a := range jsonAdvisories {
		seeds[a.name] = corpusFile([]byte(a.text), a.n, []byte(a.bins))
	}
	checkSeeds(t, "FuzzJSONDecode", seeds, advisoryPrefixes...)

	seeds = map[string][]byte{}
	for _, a := range binaryAdvisories {
		seeds[a.name] = corpusFile([]byte(a.text), a.max, []byte(a.bins))
	}
	checkSeeds(t, "FuzzJSONBinary", seeds, advisoryPrefixes...)
}

// binaryAdvisories are the FuzzJSONBinary seeds of the advisories about
// binary reconstruction: a text packet, then the attachments of bins (cut
// at 0xff bytes), through a decoder allowing max%16+1 attachments.
var binaryAdvisories = []struct {
	name string
	text string
	max  uint8
	bins string
}{
	{"CVE-2022-2421", `51-["hello",{"_placeholder":true,"num":"splice"}]`, 9, "world"},
	{"CVE-2022-2421-two-packets", `52-["a",` + ph0 + `,{"_placeholder":true,"num":1}]`, 9, "x\xffy\xffz"},
	{"CVE-2026-33151", `53-["a",` + ph0 + `,{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`, 1, "a\xffb\xffc"},
	{"CVE-2026-33151-default", `511-["a"]`, 9, strings.Repeat("\xff", 11)},
	{"CVE-2026-69185", `50-["a"]`, 9, "a\xffb\xffc"},
	{"CVE-2026-69185-ack", `60-7[1]`, 9, "a"},
}
