package parser

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// FuzzJSONDecode feeds the JSON decoder one text message followed by up to
// three binary messages (bins cut in n&3 parts). With n&4 a binary message
// comes first, with n&8 the text message is sent again at the end.
//
// Decoding never panics, an error wraps ErrInvalidPacket and comes without
// a packet, and a decoded packet encodes, and decodes again to an equal
// packet. The seeds in testdata/fuzz/FuzzJSONDecode include the inputs of
// the published socket.io-parser advisories.
func FuzzJSONDecode(f *testing.F) {
	for _, s := range []struct {
		text string
		n    uint8
		bins string
	}{
		// The examples of the Socket.IO protocol.
		{`0`, 0, ""},
		{`0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, 0, ""},
		{`1/admin,`, 0, ""},
		{`2["foo"]`, 0, ""},
		{`2/admin,["bar"]`, 0, ""},
		{`212["foo"]`, 0, ""},
		{`3/admin,13["bar"]`, 0, ""},
		{`4{"message":"Not authorized"}`, 0, ""},
		{`51-["baz",{"_placeholder":true,"num":0}]`, 1, "\x01\x02\x03"},
		{`52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, 2, "ab"},
		{`61-15["bar",{"_placeholder":true,"num":0}]`, 1, "x"},
		// Raw values in all their forms.
		{`2[ "m" , {"b":1,"a":[1, 2.50e3,"\u00e9\n",null,true]} ]`, 0, ""},
		{`2[1,"numeric name"]`, 8, ""},
		{`51-["m",{"z":{"_placeholder":true,"num":0},"a":1e400,"i":12345678901234567890},"\"_placeholder"]`, 1, "z"},
		{`53-["m",{"_placeholder":true,"num":2},{"_placeholder":true,"num":2}]`, 3, "abc"},
	} {
		f.Add([]byte(s.text), s.n, []byte(s.bins))
	}
	f.Fuzz(func(t *testing.T, text []byte, n uint8, bins []byte) {
		// validDeep is json.Valid without the depth limit, which short
		// inputs cannot reach.
		if len(text) < 10000 && validDeep(text) != json.Valid(text) {
			t.Fatalf("validDeep(%q) = %v, json.Valid = %v", text, validDeep(text), json.Valid(text))
		}

		var msgs []Message
		if n&4 != 0 {
			msgs = append(msgs, Message{Data: bins, Binary: true})
		}
		msgs = append(msgs, Message{Data: text})
		k := int(n & 3)
		for i := range k {
			msgs = append(msgs, Message{Data: bins[i*len(bins)/k : (i+1)*len(bins)/k], Binary: true})
		}
		if n&8 != 0 {
			msgs = append(msgs, Message{Data: text})
		}

		d := Default.NewDecoder()
		for _, m := range msgs {
			p, err := d.Decode(m.Data, m.Binary)
			if err != nil {
				if !errors.Is(err, ErrInvalidPacket) {
					t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
				}
				if p != nil {
					t.Fatalf("packet %+v with error %v", p, err)
				}
				return // the connection would be closed
			}
			if p != nil {
				checkReencode(t, p)
			}
		}
	})
}

// checkReencode encodes p and decodes the result: the packet must be the
// same, each value equal (byte for byte when neither side has
// attachments).
func checkReencode(t *testing.T, p *Packet) {
	t.Helper()
	msgs, err := Default.Encode(p)
	if err != nil {
		t.Fatalf("Encode(%+v): %v", p, err)
	}
	d := Default.NewDecoder()
	var q *Packet
	for i, m := range msgs {
		q, err = d.Decode(m.Data, m.Binary)
		if err != nil {
			t.Fatalf("decode of re-encoded %q: %v", showMessages(msgs), err)
		}
		if (q != nil) != (i == len(msgs)-1) {
			t.Fatalf("decode of re-encoded %q: packet after message %d", showMessages(msgs), i)
		}
	}
	if p.Type != q.Type || p.Namespace != q.Namespace || p.ID != q.ID || p.HasID != q.HasID || p.Event != q.Event || len(p.Args) != len(q.Args) {
		t.Fatalf("re-encoded as %q:\n got %+v\nwant %+v", showMessages(msgs), q, p)
	}
	for i := range p.Args {
		if err := sameValue(p.Args[i].(Raw), q.Args[i].(Raw)); err != nil {
			t.Fatalf("re-encoded as %q: argument %d: %v", showMessages(msgs), i, err)
		}
	}
	switch {
	case p.Data == nil && q.Data == nil:
	case p.Data == nil || q.Data == nil:
		t.Fatalf("re-encoded as %q: data %v, want %v", showMessages(msgs), q.Data, p.Data)
	default:
		if err := sameValue(p.Data.(Raw), q.Data.(Raw)); err != nil {
			t.Fatalf("re-encoded as %q: data: %v", showMessages(msgs), err)
		}
	}
}

// sameValue compares two Raw values: their bytes when neither has
// attachments, else their canonical forms.
func sameValue(a, b Raw) error {
	if len(a.Attachments()) == 0 && len(b.Attachments()) == 0 {
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			return fmt.Errorf("%s, want %s", b.Bytes(), a.Bytes())
		}
		return nil
	}
	ca, errA := canonical(a)
	cb, errB := canonical(b)
	if errA != nil || errB != nil {
		return fmt.Errorf("canonical forms: %v, %v", errA, errB)
	}
	if ca != cb {
		return fmt.Errorf("%s, want %s", cb, ca)
	}
	return nil
}

// canonical writes r with sorted keys, numbers as they were written and
// each placeholder replaced by the hex of its attachment. It is written
// here, apart from the codec, on purpose.
func canonical(r Raw) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(r.Bytes()))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return "", err
	}
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch x := v.(type) {
		case map[string]any:
			if x["_placeholder"] == true && len(r.Attachments()) > 0 {
				num, ok := x["num"].(json.Number)
				f, err := num.Float64()
				i := int(f)
				if !ok || err != nil || f != float64(i) || i < 0 || i >= len(r.Attachments()) {
					return nil, fmt.Errorf("bad placeholder %v", x)
				}
				return map[string]any{"$binary": hex.EncodeToString(r.Attachments()[i])}, nil
			}
			for k, e := range x {
				w, err := walk(e)
				if err != nil {
					return nil, err
				}
				x[k] = w
			}
		case []any:
			for i, e := range x {
				w, err := walk(e)
				if err != nil {
					return nil, err
				}
				x[i] = w
			}
		}
		return v, nil
	}
	tree, err := walk(tree)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(tree)
	return string(b), err
}
