package parser

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

// JSONOptions configures the JSON codec. Zero fields take the defaults of
// the reference socket.io-parser.
type JSONOptions struct {
	// MaxAttachments is the largest number of binary attachments a packet
	// may announce. Default 10.
	MaxAttachments int
}

// JSON is the default Socket.IO codec: packets are text, binary values
// travel as attachments (one binary Engine.IO message each) referenced by
// {"_placeholder":true,"num":N} objects.
type JSON struct {
	maxAttachments int
}

// NewJSON returns a JSON codec. opts may be nil.
func NewJSON(opts *JSONOptions) *JSON {
	c := &JSON{maxAttachments: 10}
	if opts != nil && opts.MaxAttachments > 0 {
		c.maxAttachments = opts.MaxAttachments
	}
	return c
}

// Default is the JSON codec with default options.
var Default = NewJSON(nil)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Encode returns the messages of p: one text message, followed by one
// binary message per attachment when p carries binary values.
func (c *JSON) Encode(p *Packet) ([]Message, error) {
	var attachments [][]byte
	args := p.Args
	typ := p.Type
	if typ == Event || typ == Ack || typ == BinaryEvent || typ == BinaryAck {
		binary := false
		for _, a := range args {
			if c.hasBinary(a) {
				binary = true
				break
			}
		}
		if binary {
			converted := make([]any, len(args))
			for i, a := range args {
				v, err := c.deconstruct(a, &attachments)
				if err != nil {
					return nil, err
				}
				converted[i] = v
			}
			args = converted
		}
		// The type follows the attachments actually produced: a binary
		// type announcing 0 attachments would leave the reference decoder
		// waiting for a binary message that never comes.
		if len(attachments) > 0 {
			if typ == Event || typ == BinaryEvent {
				typ = BinaryEvent
			} else {
				typ = BinaryAck
			}
		} else if typ == BinaryEvent {
			typ = Event
		} else if typ == BinaryAck {
			typ = Ack
		}
	}

	dst := make([]byte, 0, 64)
	dst = append(dst, '0'+byte(typ))
	if typ == BinaryEvent || typ == BinaryAck {
		dst = strconv.AppendInt(dst, int64(len(attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	var err error
	switch typ {
	case Event, BinaryEvent:
		dst = append(dst, '[')
		dst = appendJSONString(dst, p.Event)
		for _, a := range args {
			dst = append(dst, ',')
			if dst, err = c.appendValue(dst, a); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
	case Ack, BinaryAck:
		dst = append(dst, '[')
		for i, a := range args {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = c.appendValue(dst, a); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
	case Connect, ConnectError:
		if p.Data != nil {
			if dst, err = c.appendValue(dst, p.Data); err != nil {
				return nil, err
			}
		}
	case Disconnect:
	default:
		return nil, invalid("cannot encode packet type %d", typ)
	}
	msgs := make([]Message, 1, 1+len(attachments))
	msgs[0] = Message{Data: dst}
	for _, a := range attachments {
		msgs = append(msgs, Message{Data: a, Binary: true})
	}
	return msgs, nil
}

// appendValue appends the JSON form of v (already free of binary values).
func (c *JSON) appendValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendJSONString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(dst, "null"...), nil // as JSON.stringify
		}
	case Raw:
		if isJSON(x.codec) && (len(x.attachments) == 0 || !mayHavePlaceholder(x.data)) {
			return append(dst, x.data...), nil
		}
		tree, err := c.decodeTree(x)
		if err != nil {
			return nil, err
		}
		if isJSON(x.codec) && !c.hasBinary(tree) {
			return append(dst, x.data...), nil // no placeholder after all
		}
		return c.appendValue(dst, tree)
	case json.RawMessage:
		if !json.Valid(x) {
			return nil, invalid("json.RawMessage argument is not valid JSON")
		}
		return append(dst, x...), nil
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...), nil
}

// NewDecoder returns a decoder for one connection.
func (c *JSON) NewDecoder() Decoder { return &jsonDecoder{c: c} }

type jsonDecoder struct {
	c           *JSON
	pending     *Packet // a binary packet waiting for attachments
	payload     []byte
	want        int
	attachments [][]byte
}

func (d *jsonDecoder) Decode(data []byte, binary bool) (*Packet, error) {
	if binary {
		if d.pending == nil {
			return nil, invalid("got binary data when not reconstructing a packet")
		}
		d.attachments = append(d.attachments, data)
		if len(d.attachments) < d.want {
			return nil, nil
		}
		p, payload, atts := d.pending, d.payload, d.attachments
		d.pending, d.payload, d.attachments = nil, nil, nil
		if err := d.c.fillPayload(p, payload, atts); err != nil {
			return nil, err
		}
		return p, nil
	}
	if d.pending != nil {
		return nil, invalid("got plaintext data when reconstructing a packet")
	}
	p, n, payload, err := d.c.decodeHeader(data)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		d.pending, d.payload, d.want = p, payload, n
		d.attachments = make([][]byte, 0, n)
		return nil, nil
	}
	if err := d.c.fillPayload(p, payload, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeHeader parses type, attachment count, namespace and ack id, and
// returns the payload that follows.
func (c *JSON) decodeHeader(s []byte) (p *Packet, attachments int, payload []byte, err error) {
	if len(s) == 0 {
		return nil, 0, nil, invalid("empty packet")
	}
	if s[0] < '0' || s[0] > '0'+byte(BinaryAck) {
		return nil, 0, nil, invalid("unknown packet type %q", s[0])
	}
	p = &Packet{Type: Type(s[0] - '0'), Namespace: "/"}
	i := 1
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start || i == len(s) || s[i] != '-' || i-start > 9 {
			return nil, 0, nil, invalid("illegal attachments")
		}
		n, _ := strconv.Atoi(string(s[start:i]))
		if n > c.maxAttachments {
			return nil, 0, nil, invalid("too many attachments (%d > %d)", n, c.maxAttachments)
		}
		attachments = n
		i++
		if p.Type == BinaryEvent {
			p.Type = Event
		} else {
			p.Type = Ack
		}
	}
	if i < len(s) && s[i] == '/' {
		start := i
		for i < len(s) && s[i] != ',' {
			i++
		}
		p.Namespace = string(s[start:i])
		if i < len(s) {
			i++ // the comma
		}
	}
	if i < len(s) && s[i] >= '0' && s[i] <= '9' {
		var id uint64
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			d := uint64(s[i] - '0')
			if id > (math.MaxUint64-d)/10 {
				return nil, 0, nil, invalid("ack id out of range")
			}
			id = id*10 + d
		}
		p.ID, p.HasID = id, true
	}
	return p, attachments, s[i:], nil
}

// fillPayload validates the payload for the packet type, as the reference
// decoder does, and stores it as Raw values.
func (c *JSON) fillPayload(p *Packet, payload []byte, atts [][]byte) error {
	if len(payload) == 0 {
		switch p.Type {
		case Event:
			return invalid("event without payload")
		case ConnectError:
			return invalid("connect error without payload")
		}
		return nil
	}
	if !validJSON(payload) {
		return invalid("payload is not valid JSON")
	}
	kind := firstByte(payload)
	switch p.Type {
	case Connect:
		if kind != '{' {
			return invalid("CONNECT payload must be an object")
		}
		p.Data = NewRaw(c, payload, atts)
	case Disconnect:
		return invalid("DISCONNECT must have no payload")
	case ConnectError:
		if kind != '{' && kind != '"' {
			return invalid("CONNECT_ERROR payload must be a string or an object")
		}
		p.Data = NewRaw(c, payload, atts)
	case Event, Ack:
		if kind != '[' {
			return invalid("%s payload must be an array", p.Type)
		}
		elems := splitArray(payload)
		if p.Type == Event {
			if len(elems) == 0 {
				return invalid("EVENT payload without event name")
			}
			name, err := eventName(elems[0])
			if err != nil {
				return err
			}
			p.Event = name
			elems = elems[1:]
		}
		p.Args = make([]any, len(elems))
		for i, e := range elems {
			p.Args[i] = NewRaw(c, e, atts)
		}
		if len(atts) > 0 {
			for _, a := range p.Args {
				if err := checkPlaceholders(a.(Raw)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// eventName reads the first element of an EVENT payload: a string that is
// not reserved, or a number (kept in its JSON form).
func eventName(e []byte) (string, error) {
	switch {
	case e[0] == '"':
		var name string
		if bytes.IndexByte(e, '\\') < 0 && utf8.Valid(e) {
			name = string(e[1 : len(e)-1])
		} else if err := json.Unmarshal(e, &name); err != nil {
			return "", invalid("bad event name")
		}
		if ReservedEvents[name] {
			return "", invalid("reserved event name %q", name)
		}
		return name, nil
	case e[0] == '-' || e[0] >= '0' && e[0] <= '9':
		return string(e), nil
	}
	return "", invalid("event name must be a string or a number")
}

// validJSON reports whether b is one valid JSON value, at any nesting depth.
// json.Valid refuses values nested deeper than 10000 levels; such a value
// (at least 10000 bytes long) is checked again with the streaming
// tokenizer, which keeps its nesting on the heap and does not recurse.
func validJSON(b []byte) bool {
	return json.Valid(b) || len(b) >= 10000 && validDeep(b)
}

// validDeep is json.Valid without its nesting limit.
func validDeep(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for depth := 0; ; {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
		if depth == 0 {
			break
		}
	}
	_, err := dec.Token()
	return err == io.EOF
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// splitArray returns the top-level elements of a valid JSON array, trimmed.
// It never recurses, so nesting depth costs nothing.
func splitArray(b []byte) [][]byte {
	i := 0
	skipWS := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	skipWS()
	i++ // '['
	var elems [][]byte
	for {
		skipWS()
		if i >= len(b) || b[i] == ']' {
			return elems
		}
		start := i
		depth := 0
	scan:
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				for i++; i < len(b) && b[i] != '"'; i++ {
					if b[i] == '\\' {
						i++
					}
				}
			case '[', '{':
				depth++
			case ']', '}':
				if depth == 0 {
					break scan
				}
				depth--
			case ',':
				if depth == 0 {
					break scan
				}
			}
		}
		elems = append(elems, bytes.TrimRight(b[start:i], " \t\n\r"))
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

// Unmarshal decodes r into v. Placeholders are replaced by their binary
// attachment: a []byte target receives the bytes; an `any` target receives
// a tree in which they are []byte values.
func (c *JSON) Unmarshal(r Raw, v any) error {
	if r.codec != nil && r.codec != Codec(c) {
		if _, ok := r.codec.(*JSON); !ok {
			return r.codec.Unmarshal(r, v)
		}
	}
	if len(r.attachments) == 0 || !mayHavePlaceholder(r.data) {
		return json.Unmarshal(r.data, v)
	}
	if p, ok := v.(*any); ok {
		var tree any
		if err := json.Unmarshal(r.data, &tree); err != nil {
			return err
		}
		tree, err := reconstruct(tree, r.attachments)
		if err != nil {
			return err
		}
		*p = tree
		return nil
	}
	// []byte values marshal as base64 strings, which encoding/json decodes
	// back into []byte fields; numbers stay json.Number, exact.
	tree, err := c.decodeTree(r)
	if err != nil {
		return err
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

var (
	placeholderKey = []byte(`"_placeholder"`)
	unicodeEscape  = []byte(`\u`)
)

// mayHavePlaceholder reports whether the JSON text b may contain a
// "_placeholder" key: literally, or spelled with \u escapes, which
// JSON.parse (and encoding/json) decode to the same key.
func mayHavePlaceholder(b []byte) bool {
	return bytes.Contains(b, placeholderKey) || bytes.Contains(b, unicodeEscape)
}

// isJSON reports whether c is a JSON codec (of any options): their Raw
// values share one format.
func isJSON(c Codec) bool {
	_, ok := c.(*JSON)
	return ok
}

// decodeTree decodes r for re-encoding: numbers stay json.Number (their
// exact text) and placeholders become their []byte attachments.
func (c *JSON) decodeTree(r Raw) (any, error) {
	var tree any
	if !isJSON(r.codec) {
		err := r.Decode(&tree)
		return tree, err
	}
	dec := json.NewDecoder(bytes.NewReader(r.data))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	if len(r.attachments) == 0 {
		return tree, nil
	}
	return reconstruct(tree, r.attachments)
}

// checkPlaceholders verifies, as the reference decoder does while it
// reconstructs a packet, that every placeholder names an attachment.
func checkPlaceholders(r Raw) error {
	if !mayHavePlaceholder(r.data) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return invalid("bad payload: %v", err)
	}
	if _, err := reconstruct(tree, r.attachments); err != nil {
		return err
	}
	return nil
}
