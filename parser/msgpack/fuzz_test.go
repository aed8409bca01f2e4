package msgpack

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/go-sio/socketio/parser"
)

// FuzzDecode checks that decoding never panics, that every error wraps
// ErrInvalidPacket, that a decoded packet encodes and decodes again to an
// equal packet, and that its values decode (into any and into a struct)
// without panicking, the generic form encoding to a stable form. Seeds are
// in testdata/fuzz/FuzzDecode, plus the packets of the encoding tests.
func FuzzDecode(f *testing.F) {
	for _, tt := range encodeTests {
		msgs, err := Default.Encode(&tt.p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msgs[0].Data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Default.NewDecoder().Decode(data, true)
		if err != nil {
			if !errors.Is(err, parser.ErrInvalidPacket) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		msgs, err := Default.Encode(p)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", p, err)
		}
		if len(msgs) != 1 || !msgs[0].Binary {
			t.Fatalf("re-encoded into %d messages", len(msgs))
		}
		q, err := Default.NewDecoder().Decode(msgs[0].Data, true)
		if err != nil {
			t.Fatalf("decoding the re-encoded %x: %v", msgs[0].Data, err)
		}
		want := *p
		if want.Namespace == "" {
			want.Namespace = "/" // Encode writes the main namespace for ""
		}
		if d := samePacket(t, q, &want); d != "" {
			t.Fatalf("re-decoded packet differs: %s", d)
		}

		values := append([]any(nil), p.Args...)
		if p.Data != nil {
			values = append(values, p.Data)
		}
		for _, v := range values {
			r := v.(parser.Raw)
			var s fuzzStruct
			_ = r.Decode(&s)
			var m map[string]any
			_ = r.Decode(&m)
			var tree any
			if err := r.Decode(&tree); err != nil {
				continue // a map key that is an array or a map
			}
			e1 := encoder{}
			if err := e1.any(tree, 1); err != nil {
				t.Fatalf("encoding %#v: %v", tree, err)
			}
			var again any
			if err := Default.Unmarshal(parser.NewRaw(Default, e1.buf, nil), &again); err != nil {
				t.Fatalf("decoding %x: %v", e1.buf, err)
			}
			e2 := encoder{}
			if err := e2.any(again, 1); err != nil {
				t.Fatalf("encoding %#v: %v", again, err)
			}
			if !bytes.Equal(e1.buf, e2.buf) {
				t.Fatalf("unstable encoding of %x: %x then %x", r.Bytes(), e1.buf, e2.buf)
			}
		}
	})
}

type fuzzStruct struct {
	A string          `json:"a"`
	B []int           `json:"b"`
	C map[string]uint `json:"c"`
	D *fuzzStruct     `json:"d"`
	E time.Time       `json:"e"`
	F []byte          `json:"f"`
	G any             `json:"g"`
	H [2]float32      `json:"h"`
	I map[int]bool    `json:"i"`
	J parser.Raw      `json:"j"`
	K int8
	L *string
	fuzzEmbedded
}

type fuzzEmbedded struct {
	M string `json:"m"`
}

// FuzzUnmarshal checks that decoding arbitrary bytes (a Raw need not come
// from the decoder) into generic and typed values never panics.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		"c0", "d4 00 00", "93 01 a1 61 c4 01 ff", "82 a1 61 01 a1 62 81 a1 63 c0",
		"d7 00 0000018bcfe5687b", "c7 03 00 010203", "d7 ff 1d535300 6553f100", "d5 05 0102",
		"8a a1 61 a1 78 a1 62 92 01 02 a1 63 81 a1 78 01 a1 64 81 a1 61 a1 79 a1 65 d7 00 0000018bcfe5687b" +
			" a1 66 c4 01 00 a1 67 90 a1 68 92 ca 3fc00000 01 a1 69 81 a1 31 c3 a1 6a 90",
	} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := parser.NewRaw(Default, data, nil)
		var tree any
		_ = r.Decode(&tree)
		var s fuzzStruct
		_ = r.Decode(&s)
		var m map[string]any
		_ = r.Decode(&m)
		var a []fuzzStruct
		_ = r.Decode(&a)
		var p *[]*map[int]*fuzzStruct
		_ = r.Decode(&p)
	})
}
