package parser

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

		d := Default.NewDecoder()
		for _, m := range fuzzMessages(text, n, bins) {
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

// fuzzMessages turns a FuzzJSONDecode input into the Engine.IO messages it
// stands for: text, then bins cut in n&3 binary messages; with n&4 the
// whole of bins is sent first as one binary message, with n&8 text is sent
// again at the end.
func fuzzMessages(text []byte, n uint8, bins []byte) []Message {
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
	return msgs
}

// checkReencode encodes p and decodes the result: the packet must be the
// same, each value equal (byte for byte when neither side has
// attachments).
func checkReencode(t *testing.T, p *Packet) {
	t.Helper()
	checkReencodeWith(t, Default, p)
}

// checkReencodeWith is checkReencode with codec c.
func checkReencodeWith(t *testing.T, c *JSON, p *Packet) {
	t.Helper()
	msgs, err := c.Encode(p)
	if err != nil {
		t.Fatalf("Encode(%+v): %v", p, err)
	}
	d := c.NewDecoder()
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

// FuzzJSONBinary reconstructs a binary packet: a text message, then the
// attachments of bins (cut at 0xff bytes, at most 32), through one decoder
// allowing max%16+1 attachments. Besides what FuzzJSONDecode checks:
//
//   - a header announcing more attachments than allowed is refused at
//     once, and the decoder never holds more than the limit;
//   - the packet completes on exactly the announced attachment (on the
//     text itself for 0), never before;
//   - each value of a completed packet carries exactly the announced
//     attachments, the very bytes received, and every placeholder in it
//     names one of them;
//   - a binary message with no packet to complete, and a text message
//     while one is being completed, are refused;
//   - the completed packet re-encodes to messages that decode to the same
//     packet, with no more attachments than it had.
func FuzzJSONBinary(f *testing.F) {
	for _, s := range []struct {
		text string
		max  uint8
		bins string
	}{
		{`51-["baz",{"_placeholder":true,"num":0}]`, 9, "\x01\x02\x03"},
		{`52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, 9, "a\xffb"},
		{`61-15["bar",{"_placeholder":true,"num":0}]`, 9, "x"},
		{`52-["m",{"k":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":1}]`, 9, "\xff"},
		{`2["no binary"]`, 9, "x"},
	} {
		f.Add([]byte(s.text), s.max, []byte(s.bins))
	}
	f.Fuzz(func(t *testing.T, text []byte, max uint8, bins []byte) {
		limit := int(max%16) + 1
		c := NewJSON(&JSONOptions{MaxAttachments: limit})
		var atts [][]byte
		if len(bins) > 0 {
			atts = bytes.SplitN(bins, []byte{0xff}, 32)
		}
		d := c.NewDecoder().(*jsonDecoder)
		n, binaryType, wellFormed := announced(text)

		p, err := d.Decode(text, false)
		if err != nil {
			checkFuzzError(t, err, p)
			return
		}
		if binaryType && (!wellFormed || n > limit) {
			t.Fatalf("header %q (%d attachments, limit %d) accepted", text, n, limit)
		}
		if !binaryType {
			n = 0
		}
		if cap(d.attachments) > limit {
			t.Fatalf("decoder holds room for %d attachments, limit %d", cap(d.attachments), limit)
		}
		if (p != nil) != (n == 0) {
			t.Fatalf("after the text: packet %v, want one only for 0 announced attachments (%d)", p, n)
		}
		completed := p
		for i, a := range atts {
			k := i + 1
			p, err := d.Decode(a, true)
			if cap(d.attachments) > limit {
				t.Fatalf("decoder holds room for %d attachments, limit %d", cap(d.attachments), limit)
			}
			switch {
			case k > n:
				if err == nil || err.Error() != ErrInvalidPacket.Error()+": got binary data when not reconstructing a packet" {
					t.Fatalf("attachment %d of %d: error %v, packet %v", k, n, err, p)
				}
				return
			case k < n:
				if err != nil || p != nil {
					t.Fatalf("attachment %d of %d: packet %v, error %v", k, n, p, err)
				}
				if len(d.attachments) != k {
					t.Fatalf("attachment %d: the decoder holds %d", k, len(d.attachments))
				}
				continue
			}
			if err != nil {
				checkFuzzError(t, err, p)
				if d.pending != nil || d.attachments != nil {
					t.Fatalf("the decoder still reconstructs after the error %v", err)
				}
				return
			}
			if p == nil {
				t.Fatalf("attachment %d of %d completed no packet", k, n)
			}
			checkAttachments(t, p, atts[:n])
			completed = p
		}
		if completed == nil {
			// Still waiting: a text message must be refused.
			_, err := d.Decode([]byte(`2["x"]`), false)
			if err == nil || err.Error() != ErrInvalidPacket.Error()+": got plaintext data when reconstructing a packet" {
				t.Fatalf("text while %d of %d attachments came: %v", len(atts), n, err)
			}
			return
		}
		if n == 0 {
			checkAttachments(t, completed, nil)
		}
		permissive := NewJSON(&JSONOptions{MaxAttachments: 1 << 20})
		msgs, err := permissive.Encode(completed)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if len(msgs)-1 > n {
			t.Fatalf("re-encoded with %d attachments, the packet had %d", len(msgs)-1, n)
		}
		checkReencodeWith(t, permissive, completed)
	})
}

func checkFuzzError(t *testing.T, err error, p *Packet) {
	t.Helper()
	if !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
	}
	if p != nil {
		t.Fatalf("packet %+v with error %v", p, err)
	}
}

// announced reads the header of a text message as the protocol defines it:
// whether its type is BINARY_EVENT or BINARY_ACK, and then whether the
// type is followed by a count of 1 to 9 digits and a '-', and that count.
// It is written here, apart from the codec, on purpose.
func announced(text []byte) (n int, binaryType, wellFormed bool) {
	if len(text) == 0 || (text[0] != '5' && text[0] != '6') {
		return 0, false, false
	}
	i := 1
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	if i == 1 || i == len(text) || text[i] != '-' || i-1 > 9 {
		return 0, true, false
	}
	n, err := strconv.Atoi(string(text[1:i]))
	return n, true, err == nil
}

// checkAttachments checks that every value of p carries exactly atts, the
// very slices received, and resolves every placeholder to one of them.
func checkAttachments(t *testing.T, p *Packet, atts [][]byte) {
	t.Helper()
	values := append([]any(nil), p.Args...)
	if p.Data != nil {
		values = append(values, p.Data)
	}
	for _, v := range values {
		r := v.(Raw)
		got := r.Attachments()
		if len(got) != len(atts) {
			t.Fatalf("value %s carries %d attachments, want %d", r.Bytes(), len(got), len(atts))
		}
		for i := range got {
			if !bytes.Equal(got[i], atts[i]) {
				t.Fatalf("attachment %d is %x, want %x", i, got[i], atts[i])
			}
		}
		if len(atts) == 0 {
			continue
		}
		if _, err := canonical(r); err != nil {
			t.Fatalf("value %s: %v", r.Bytes(), err)
		}
		var tree any
		if err := r.Decode(&tree); err != nil {
			// A value encoding/json cannot hold in an any (a number
			// beyond float64, say) must fail the same way with
			// attachments as without; the placeholders were checked
			// by canonical above.
			var plain any
			if plainErr := json.Unmarshal(r.Bytes(), &plain); plainErr == nil || plainErr.Error() != err.Error() {
				t.Fatalf("decode of %s: %v (encoding/json alone: %v)", r.Bytes(), err, plainErr)
			}
			continue
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case []byte:
				for _, a := range atts {
					if bytes.Equal(a, x) {
						return
					}
				}
				t.Fatalf("decoded %x, which is no attachment", x)
			case map[string]any:
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(tree)
	}
}
