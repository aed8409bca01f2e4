package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/go-sio/socketio/parser"
)

// binaryKey is the key of the one-key object that stands for binary data
// on the command line and in the output: {"_binary":"<base64>"}.
const binaryKey = "_binary"

// parseArg turns a command-line word into an event argument: a JSON value
// as written (numbers keep their exact text), or the word itself as a
// string when it is not valid JSON. An object {"_binary":"<base64>"}, at
// any depth, is sent as binary data.
func parseArg(word string) (any, error) {
	b := []byte(word)
	if !json.Valid(b) {
		return word, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	b = buf.Bytes()
	if !bytes.Contains(b, []byte(`"`+binaryKey+`"`)) {
		return json.RawMessage(b), nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	tree, found, err := toBinary(tree)
	if err != nil {
		return nil, err
	}
	if !found {
		return json.RawMessage(b), nil
	}
	return tree, nil
}

// toBinary replaces the {"_binary":"<base64>"} objects of a decoded JSON
// tree by their bytes, and reports whether it found any.
func toBinary(v any) (any, bool, error) {
	found := false
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[binaryKey].(string); ok && len(x) == 1 {
			data, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, false, fmt.Errorf("%s: invalid base64: %w", binaryKey, err)
			}
			return data, true, nil
		}
		for k, e := range x {
			r, f, err := toBinary(e)
			if err != nil {
				return nil, false, err
			}
			x[k], found = r, found || f
		}
	case []any:
		for i, e := range x {
			r, f, err := toBinary(e)
			if err != nil {
				return nil, false, err
			}
			x[i], found = r, found || f
		}
	}
	return v, found, nil
}

// formatLine returns the JSON array [head..., args...] on one line, with
// its newline. Binary data prints as {"_binary":"<base64>"}.
func formatLine(head []string, args []parser.Raw) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, h := range head {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encodeJSON(&buf, h); err != nil {
			return nil, err
		}
	}
	for i, a := range args {
		if i > 0 || len(head) > 0 {
			buf.WriteByte(',')
		}
		if err := appendRaw(&buf, a); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	buf.WriteString("]\n")
	return buf.Bytes(), nil
}

// appendRaw writes one received value as compact JSON. A JSON value is
// copied as it came (key order and number text kept), its attachment
// placeholders replaced by {"_binary":"<base64>"}; a value of another codec
// (msgpack) is decoded, its []byte values becoming {"_binary":"<base64>"}.
func appendRaw(buf *bytes.Buffer, r parser.Raw) error {
	if r.IsZero() {
		buf.WriteString("null")
		return nil
	}
	if _, isJSON := r.Codec().(*parser.JSON); isJSON {
		if len(r.Attachments()) == 0 {
			return json.Compact(buf, r.Bytes())
		}
		return appendWithAttachments(buf, r.Bytes(), r.Attachments())
	}
	var tree any
	if err := r.Decode(&tree); err != nil {
		return err
	}
	return encodeJSON(buf, fromBytes(tree))
}

// appendWithAttachments copies the JSON value data, each placeholder
// {"_placeholder":true,"num":N} replaced by attachment N as
// {"_binary":"<base64>"}.
func appendWithAttachments(buf *bytes.Buffer, data []byte, atts [][]byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || (data[0] != '{' && data[0] != '[') {
		return json.Compact(buf, data)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // { or [
		return err
	}
	var keys []string
	var values []json.RawMessage
	for dec.More() {
		if data[0] == '{' {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			keys = append(keys, t.(string))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		values = append(values, v)
	}
	if data[0] == '[' {
		buf.WriteByte('[')
		for i, v := range values {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := appendWithAttachments(buf, v, atts); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	}
	if att, ok, err := placeholder(keys, values, atts); ok || err != nil {
		if err != nil {
			return err
		}
		return encodeJSON(buf, binaryObject(att))
	}
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encodeJSON(buf, k); err != nil {
			return err
		}
		buf.WriteByte(':')
		if err := appendWithAttachments(buf, values[i], atts); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// placeholder reports whether the object of keys and values is an
// attachment placeholder ("_placeholder" true), and returns its attachment.
func placeholder(keys []string, values []json.RawMessage, atts [][]byte) ([]byte, bool, error) {
	var isPlaceholder bool
	num := -1
	for i, k := range keys {
		switch k {
		case "_placeholder":
			isPlaceholder = string(bytes.TrimSpace(values[i])) == "true"
		case "num":
			var f float64
			if json.Unmarshal(values[i], &f) == nil && f >= 0 && f == math.Trunc(f) && f < math.MaxInt32 {
				num = int(f)
			}
		}
	}
	if !isPlaceholder {
		return nil, false, nil
	}
	if num < 0 || num >= len(atts) {
		return nil, false, errors.New("invalid attachment placeholder")
	}
	return atts[num], true, nil
}

// fromBytes replaces the []byte values of a decoded tree by
// {"_binary":"<base64>"}.
func fromBytes(v any) any {
	switch x := v.(type) {
	case []byte:
		return binaryObject(x)
	case map[string]any:
		for k, e := range x {
			x[k] = fromBytes(e)
		}
	case map[any]any: // msgpack maps may have non-string keys
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = fromBytes(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = fromBytes(e)
		}
	}
	return v
}

func binaryObject(b []byte) map[string]string {
	return map[string]string{binaryKey: base64.StdEncoding.EncodeToString(b)}
}

// encodeJSON appends v as compact JSON, without escaping <, > and &.
func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
