package msgpack

import (
	"fmt"

	"github.com/go-sio/socketio/parser"
)

// Codec is the Socket.IO codec of socket.io-msgpack-parser: every packet
// is one MessagePack map sent as one binary Engine.IO message. It is safe
// for concurrent use.
type Codec struct {
	_ byte // distinct instances have distinct addresses
}

// New returns a MessagePack codec.
func New() *Codec { return &Codec{} }

// Default is a ready-to-use MessagePack codec.
var Default = New()

var _ parser.Codec = (*Codec)(nil)

// The keys of a packet map.
const (
	keyType = "type"
	keyNsp  = "nsp"
	keyData = "data"
	keyID   = "id"
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: msgpack: "+format, append([]any{parser.ErrInvalidPacket}, args...)...)
}

// Encode returns the one binary message that carries p: a map with the
// keys type, data (when the packet has a payload), id (when HasID) and nsp,
// in the order the Node.js server writes them for an emit. BINARY_EVENT
// and BINARY_ACK are sent as EVENT and ACK (binary values travel inline).
func (c *Codec) Encode(p *parser.Packet) ([]parser.Message, error) {
	typ := p.Type
	switch typ {
	case parser.BinaryEvent:
		typ = parser.Event
	case parser.BinaryAck:
		typ = parser.Ack
	}
	if typ > parser.ConnectError {
		return nil, invalid("cannot encode packet type %d", p.Type)
	}
	hasData := false
	switch typ {
	case parser.Connect, parser.ConnectError:
		hasData = p.Data != nil
		if r, ok := p.Data.(parser.Raw); ok && r.IsZero() {
			hasData = false
		}
	case parser.Event, parser.Ack:
		hasData = true
	}

	e := encoder{buf: make([]byte, 0, 64)}
	n := 2
	if hasData {
		n++
	}
	if p.HasID {
		n++
	}
	e.mapHeader(n)
	e.string(keyType)
	e.uint(uint64(typ))
	if hasData {
		e.string(keyData)
		switch typ {
		case parser.Event:
			e.arrayHeader(1 + len(p.Args))
			e.string(p.Event)
			if err := e.args(p.Args); err != nil {
				return nil, err
			}
		case parser.Ack:
			e.arrayHeader(len(p.Args))
			if err := e.args(p.Args); err != nil {
				return nil, err
			}
		default:
			if err := e.any(p.Data, 2); err != nil {
				return nil, err
			}
		}
	}
	if p.HasID {
		e.string(keyID)
		e.uint(p.ID)
	}
	e.string(keyNsp)
	if p.Namespace == "" {
		e.string("/")
	} else {
		e.string(p.Namespace)
	}
	return []parser.Message{{Data: e.buf, Binary: true}}, nil
}

func (e *encoder) args(args []any) error {
	for _, a := range args {
		if err := e.any(a, 3); err != nil {
			return err
		}
	}
	return nil
}

// NewDecoder returns a decoder. It holds no state: every message is a
// whole packet.
func (c *Codec) NewDecoder() parser.Decoder { return decoder{c} }

type decoder struct{ c *Codec }

// Decode decodes one binary message into a packet, validating it as the
// reference decoder does (checkPacket) and, like the JSON codec, the
// event name. The Args and Data of the packet are Raw values that share
// the memory of data.
func (d decoder) Decode(data []byte, binary bool) (*parser.Packet, error) {
	if !binary {
		return nil, invalid("unexpected text message")
	}
	return d.c.decodePacket(data)
}

// Unmarshal decodes r into v (a non-nil pointer). Decoding into *any
// yields nil, bool, int64 (uint64 above math.MaxInt64), float64, string,
// []byte, time.Time, []any and map[string]any. Typed targets follow
// encoding/json (struct fields by `json` tag). A Raw of another codec is
// decoded by that codec.
func (c *Codec) Unmarshal(r parser.Raw, v any) error {
	if rc := r.Codec(); rc != nil {
		if _, ok := rc.(*Codec); !ok {
			return rc.Unmarshal(r, v)
		}
	}
	return unmarshal(c, r.Bytes(), v)
}

// field is where one key of the packet map was found.
type field struct {
	tok   token
	start int // offset of the value
	set   bool
}

func (c *Codec) decodePacket(data []byte) (*parser.Packet, error) {
	r := reader{b: data}
	top, err := r.next()
	if err != nil {
		return nil, invalid("%v", err)
	}
	if top.kind != kindMap {
		return nil, invalid("packet is a %s, not a map", top.kind)
	}
	var typ, nsp, dat, id field
	for range top.n {
		k, err := r.next()
		if err != nil {
			return nil, invalid("%v", err)
		}
		if err := r.skipBody(k, 2); err != nil {
			return nil, invalid("%v", err)
		}
		var f *field
		if k.kind == kindStr {
			switch string(k.data) {
			case keyType:
				f = &typ
			case keyNsp:
				f = &nsp
			case keyData:
				f = &dat
			case keyID:
				f = &id
			}
		}
		start := r.i
		v, err := r.next()
		if err != nil {
			return nil, invalid("%v", err)
		}
		if err := r.skipBody(v, 2); err != nil {
			return nil, invalid("%v", err)
		}
		if f != nil { // a repeated key replaces the earlier one, as in JavaScript
			*f = field{tok: v, start: start, set: !v.isUndefined()}
		}
	}
	if r.left() > 0 {
		return nil, invalid("%d trailing bytes", r.left())
	}

	p := &parser.Packet{}
	t, big, ok := typ.tok.integral()
	if !typ.set || !ok || big != 0 || t < int64(parser.Connect) || t > int64(parser.ConnectError) {
		return nil, invalid("invalid packet type")
	}
	p.Type = parser.Type(t)

	if !nsp.set || nsp.tok.kind != kindStr {
		return nil, invalid("invalid namespace")
	}
	p.Namespace = string(nsp.tok.data)

	if err := c.payload(p, data, dat); err != nil {
		return nil, err
	}

	if id.set {
		i, big, ok := id.tok.integral()
		switch {
		case !ok:
			return nil, invalid("invalid packet id")
		case big != 0:
			p.ID = big
		case i < 0:
			return nil, invalid("negative packet id")
		default:
			p.ID = uint64(i)
		}
		p.HasID = true
	}
	return p, nil
}

// payload checks the data of p for its type and stores it as Raw values.
func (c *Codec) payload(p *parser.Packet, data []byte, dat field) error {
	kind := dat.tok.kind
	switch p.Type {
	case parser.Connect:
		if !dat.set {
			return nil
		}
		if kind != kindMap {
			return invalid("invalid payload: CONNECT data must be a map")
		}
		p.Data = c.rawAt(data, dat.start)
		return nil
	case parser.Disconnect:
		if dat.set {
			return invalid("invalid payload: DISCONNECT must have no data")
		}
		return nil
	case parser.ConnectError:
		if !dat.set || kind != kindMap && kind != kindStr {
			return invalid("invalid payload: CONNECT_ERROR data must be a string or a map")
		}
		p.Data = c.rawAt(data, dat.start)
		return nil
	}
	if !dat.set || kind != kindArray {
		return invalid("invalid payload: %s data must be an array", p.Type)
	}
	r := reader{b: data, i: dat.start}
	head, _ := r.next() // checked by decodePacket
	n := head.n
	if p.Type == parser.Event {
		if n == 0 {
			return invalid("invalid payload: EVENT without event name")
		}
		name, err := eventName(&r)
		if err != nil {
			return err
		}
		p.Event = name
		n--
	}
	p.Args = make([]any, n)
	for i := range p.Args {
		s, err := r.span(3)
		if err != nil { // checked before
			return invalid("%v", err)
		}
		p.Args[i] = parser.NewRaw(c, s, nil)
	}
	return nil
}

// rawAt returns the value at offset start of data (already checked) as a Raw.
func (c *Codec) rawAt(data []byte, start int) parser.Raw {
	r := reader{b: data, i: start}
	s, _ := r.span(2)
	return parser.NewRaw(c, s, nil)
}

// eventName reads the first element of an EVENT payload: a string that is
// not reserved, or a number (in its JavaScript string form), as the JSON
// codec accepts.
func eventName(r *reader) (string, error) {
	t, err := r.next()
	if err != nil {
		return "", invalid("%v", err)
	}
	switch t.kind {
	case kindStr:
		name := string(t.data)
		if parser.ReservedEvents[name] {
			return "", invalid("reserved event name %q", name)
		}
		return name, nil
	case kindInt:
		return jsNumber(float64(t.i)), nil
	case kindUint:
		return jsNumber(float64(t.u)), nil
	case kindFloat:
		return jsNumber(t.f), nil
	}
	return "", invalid("event name must be a string or a number, not a %s", t.kind)
}
