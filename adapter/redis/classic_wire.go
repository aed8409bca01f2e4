package redis

// The messages of the classic adapter, as @socket.io/redis-adapter 8.3
// writes them: what this node publishes, and the decoding of what it
// receives (untrusted: every error is returned, nothing panics, nothing
// is allocated beyond what the message holds).

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// classicType is the RequestType of the Node.js adapter: the "type" of a
// request and of some responses.
type classicType int

const (
	classicSockets classicType = iota
	classicAllRooms
	classicRemoteJoin
	classicRemoteLeave
	classicRemoteDisconnect
	classicRemoteFetch
	classicServerSideEmit
	classicBroadcast
	classicBroadcastClientCount
	classicBroadcastAck
)

// errClassicMessage is wrapped by the errors of decoding a message.
var errClassicMessage = errors.New("socketio: redis: invalid message")

func classicBad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errClassicMessage}, args...)...)
}

// classicAlphabet is the alphabet of uid2, which names nodes and requests.
const classicAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// classicUID returns 6 random alphanumeric characters, as uid2(6).
func classicUID() string {
	var out [6]byte
	var buf [16]byte
	n := 0
	for n < len(out) {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			// 62*4 = 248: rejecting the bytes above keeps it uniform.
			if b >= 248 || n == len(out) {
				continue
			}
			out[n] = classicAlphabet[b%62]
			n++
		}
	}
	return string(out[:])
}

// classicJSON writes v as JSON.stringify would: without escaping <, > and
// & (Go's default).
func classicJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// classicEncode writes v as JSON, or as MessagePack when binary: Node.js
// writes JSON there, which turns a Buffer into {"type":"Buffer",...}; every
// Node.js node reads both, by the first byte.
func classicEncode(v any, binary bool) ([]byte, error) {
	if binary {
		return msgpack.Marshal(v)
	}
	return classicJSON(v)
}

// --- what this node publishes --------------------------------------------

// classicRoomsOpts are the options of a request: rooms and except only
// (Node.js sends no flags with requests).
type classicRoomsOpts struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
}

func classicOpts(o adapter.BroadcastOptions) classicRoomsOpts {
	return classicRoomsOpts{Rooms: classicNonNil(o.Rooms), Except: classicNonNil(o.Except)}
}

// classicWireOptions returns opts as a broadcast carries them: rooms and
// except without duplicates, always arrays, and the flags object.
func classicWireOptions(o adapter.BroadcastOptions) *adapter.WireOptions {
	o.Rooms = classicUnique(o.Rooms)
	o.Except = classicUnique(o.Except)
	return adapter.EncodeOptions(o)
}

// classicWirePacket returns the event p as Node.js publishes it:
// {type: 2, data: [event, ...args], nsp}, without an ack id (the
// receivers give it one of theirs).
func classicWirePacket(p *parser.Packet, nsp string) *adapter.WirePacket {
	w := adapter.EncodePacket(p)
	w.Type, w.Nsp, w.ID = parser.Event, nsp, nil
	return w
}

// classicEncodeBroadcast returns the MessagePack array [uid, packet, opts]
// of a broadcast without acknowledgement.
func classicEncodeBroadcast(uid string, p *parser.Packet, nsp string, opts adapter.BroadcastOptions) ([]byte, error) {
	return msgpack.Marshal([]any{uid, classicWirePacket(p, nsp), classicWireOptions(opts)})
}

// Requests, in the key order of Node.js.
type (
	classicAllRoomsRequest struct {
		UID       string      `json:"uid"`
		RequestID string      `json:"requestId"`
		Type      classicType `json:"type"`
	}
	classicFetchRequest struct {
		UID       string           `json:"uid"`
		RequestID string           `json:"requestId"`
		Type      classicType      `json:"type"`
		Opts      classicRoomsOpts `json:"opts"`
	}
	// REMOTE_JOIN and REMOTE_LEAVE.
	classicRoomsRequest struct {
		UID   string           `json:"uid"`
		Type  classicType      `json:"type"`
		Opts  classicRoomsOpts `json:"opts"`
		Rooms []string         `json:"rooms"`
	}
	classicDisconnectRequest struct {
		UID   string           `json:"uid"`
		Type  classicType      `json:"type"`
		Opts  classicRoomsOpts `json:"opts"`
		Close bool             `json:"close"`
	}
	// SERVER_SIDE_EMIT: requestId only when replies are wanted.
	classicEmitRequest struct {
		UID       string      `json:"uid"`
		RequestID string      `json:"requestId,omitempty"`
		Type      classicType `json:"type"`
		Data      []any       `json:"data"`
	}
	// BROADCAST with acknowledgements (MessagePack).
	classicBroadcastRequest struct {
		UID       string               `json:"uid"`
		RequestID string               `json:"requestId"`
		Type      classicType          `json:"type"`
		Packet    *adapter.WirePacket  `json:"packet"`
		Opts      *adapter.WireOptions `json:"opts"`
	}
)

// Responses, in the key order of Node.js.
type (
	classicSocketIDsResponse struct {
		RequestID string   `json:"requestId"`
		Sockets   []string `json:"sockets"`
	}
	classicRoomsResponse struct {
		RequestID string   `json:"requestId"`
		Rooms     []string `json:"rooms"`
	}
	// The answer to a legacy {sid, room} REMOTE_JOIN, _LEAVE, _DISCONNECT.
	classicDoneResponse struct {
		RequestID string `json:"requestId"`
	}
	classicFetchResponse struct {
		RequestID string                  `json:"requestId"`
		Sockets   []adapter.SocketDetails `json:"sockets"`
	}
	classicEmitResponse struct {
		Type      classicType `json:"type"`
		RequestID string      `json:"requestId"`
		Data      any         `json:"data"`
	}
	// A reply without argument: Node.js leaves the key out.
	classicEmitResponseEmpty struct {
		Type      classicType `json:"type"`
		RequestID string      `json:"requestId"`
	}
	classicClientCountResponse struct {
		Type        classicType `json:"type"`
		RequestID   string      `json:"requestId"`
		ClientCount int         `json:"clientCount"`
	}
	classicAckResponse struct {
		Type      classicType `json:"type"`
		RequestID string      `json:"requestId"`
		Packet    any         `json:"packet"`
	}
	classicAckResponseEmpty struct {
		Type      classicType `json:"type"`
		RequestID string      `json:"requestId"`
	}
)

// --- what this node receives ----------------------------------------------

// classicRaw is a value kept encoded, in either format, until its use is
// known. Both fields empty: the key was absent.
type classicRaw struct {
	js json.RawMessage
	mp parser.Raw
}

func classicRawJSON(b json.RawMessage) classicRaw {
	if len(b) == 0 {
		return classicRaw{}
	}
	return classicRaw{js: b}
}

func classicRawMP(r parser.Raw) classicRaw { return classicRaw{mp: r} }

// null reports whether the value is absent or null (nil in MessagePack,
// or notepack's undefined, fixext 1 of type 0).
func (r classicRaw) null() bool {
	switch {
	case r.js != nil:
		return string(bytes.TrimSpace(r.js)) == "null"
	case !r.mp.IsZero():
		b := r.mp.Bytes()
		return bytes.Equal(b, []byte{0xc0}) || bytes.Equal(b, []byte{0xd4, 0, 0})
	}
	return true
}

// value returns the value as an argument for the application: a
// parser.Raw of the JSON codec or of MessagePack; nil when absent.
func (r classicRaw) value() any {
	switch {
	case r.js != nil:
		return parser.NewRaw(parser.Default, r.js, nil)
	case !r.mp.IsZero():
		return r.mp
	}
	return nil
}

// decode decodes the value into v.
func (r classicRaw) decode(v any) error {
	switch {
	case r.js != nil:
		return json.Unmarshal(r.js, v)
	case !r.mp.IsZero():
		return r.mp.Decode(v)
	}
	return classicBad("absent value")
}

// args decodes an array into its elements, kept encoded.
func (r classicRaw) args() ([]any, error) {
	var out []any
	if r.js != nil {
		var elems []json.RawMessage
		if err := json.Unmarshal(r.js, &elems); err != nil {
			return nil, classicBad("array: %v", err)
		}
		out = make([]any, 0, len(elems))
		for _, e := range elems {
			out = append(out, parser.NewRaw(parser.Default, e, nil))
		}
		return out, nil
	}
	if r.mp.IsZero() {
		return nil, classicBad("array absent")
	}
	var elems []parser.Raw
	if err := r.mp.Decode(&elems); err != nil {
		return nil, classicBad("array: %v", err)
	}
	out = make([]any, 0, len(elems))
	for _, e := range elems {
		out = append(out, e)
	}
	return out, nil
}

// classicEvent takes the event name off [event, ...args].
func classicEvent(data []any) (string, []any, error) {
	if len(data) == 0 {
		return "", nil, classicBad("event without a name")
	}
	r, ok := data[0].(parser.Raw)
	if !ok {
		return "", nil, classicBad("event name of type %T", data[0])
	}
	var ev string
	if err := r.Decode(&ev); err != nil {
		return "", nil, classicBad("event name: %v", err)
	}
	return ev, data[1:], nil
}

// classicPacketWire is a packet as decoded, its data R in the message's
// format (json.RawMessage or parser.Raw).
type classicPacketWire[R any] struct {
	Type *int    `json:"type"`
	Nsp  *string `json:"nsp"`
	Data R       `json:"data"`
}

// packet decodes {type, data: [event, ...args], nsp, id} into an EVENT;
// a missing nsp is "/", as in Node.js.
func (r classicRaw) packet() (*parser.Packet, error) {
	var (
		typ  *int
		nsp  *string
		data classicRaw
		err  error
	)
	if r.js != nil {
		var h classicPacketWire[json.RawMessage]
		err = json.Unmarshal(r.js, &h)
		typ, nsp, data = h.Type, h.Nsp, classicRawJSON(h.Data)
	} else if !r.mp.IsZero() {
		var h classicPacketWire[parser.Raw]
		err = r.mp.Decode(&h)
		typ, nsp, data = h.Type, h.Nsp, classicRawMP(h.Data)
	} else {
		return nil, classicBad("packet absent")
	}
	if err != nil {
		return nil, classicBad("packet: %v", err)
	}
	if typ == nil || (*typ != int(parser.Event) && *typ != int(parser.BinaryEvent)) {
		return nil, classicBad("packet is not an event")
	}
	elems, err := data.args()
	if err != nil {
		return nil, err
	}
	ev, args, err := classicEvent(elems)
	if err != nil {
		return nil, err
	}
	p := &parser.Packet{Type: parser.Event, Namespace: "/", Event: ev, Args: args}
	if nsp != nil {
		p.Namespace = *nsp
	}
	return p, nil
}

// classicDecodeBroadcast decodes the MessagePack array [uid, packet, opts]
// of a broadcast. p is nil when the packet is absent or null (Node.js
// ignores those). A uid that is not a string is returned as "".
func classicDecodeBroadcast(b []byte) (uid string, p *parser.Packet, opts *adapter.WireOptions, err error) {
	var elems []parser.Raw
	if err := msgpack.Unmarshal(b, &elems); err != nil {
		return "", nil, nil, classicBad("broadcast: %v", err)
	}
	if len(elems) < 3 {
		return "", nil, nil, classicBad("broadcast of %d elements", len(elems))
	}
	var u any
	if err := elems[0].Decode(&u); err != nil {
		return "", nil, nil, classicBad("broadcast uid: %v", err)
	}
	uid, _ = u.(string)
	if err := elems[2].Decode(&opts); err != nil {
		return "", nil, nil, classicBad("broadcast options: %v", err)
	}
	if opts == nil {
		return "", nil, nil, classicBad("broadcast without options")
	}
	pr := classicRawMP(elems[1])
	if pr.null() {
		return uid, nil, opts, nil
	}
	if p, err = pr.packet(); err != nil {
		return "", nil, nil, err
	}
	return uid, p, opts, nil
}

// classicRequest is a request received on the request channel.
type classicRequest struct {
	Type      *int // nil when absent: Node.js ignores those
	UID       string
	RequestID string
	Rooms     []string
	Opts      *adapter.WireOptions
	SID       string
	Room      string
	Close     bool
	Data      classicRaw
	Packet    classicRaw
}

// classicRequestWire is a request as decoded, its raw values R in the
// message's format (json.RawMessage or parser.Raw).
type classicRequestWire[R any] struct {
	Type      *int                 `json:"type"`
	UID       string               `json:"uid"`
	RequestID string               `json:"requestId"`
	Rooms     []string             `json:"rooms"`
	Opts      *adapter.WireOptions `json:"opts"`
	SID       string               `json:"sid"`
	Room      string               `json:"room"`
	Close     bool                 `json:"close"`
	Data      R                    `json:"data"`
	Packet    R                    `json:"packet"`
}

// request returns w with its raw values made classicRaw by raw.
func (w *classicRequestWire[R]) request(raw func(R) classicRaw) *classicRequest {
	return &classicRequest{Type: w.Type, UID: w.UID, RequestID: w.RequestID, Rooms: w.Rooms, Opts: w.Opts,
		SID: w.SID, Room: w.Room, Close: w.Close, Data: raw(w.Data), Packet: raw(w.Packet)}
}

// classicDecodeRequest decodes a request: JSON when it starts with '{',
// MessagePack otherwise, as Node.js decides.
func classicDecodeRequest(b []byte) (*classicRequest, error) {
	if adapter.FormatOf(b) == adapter.FormatJSON {
		var w classicRequestWire[json.RawMessage]
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, classicBad("request: %v", err)
		}
		return w.request(classicRawJSON), nil
	}
	var w classicRequestWire[parser.Raw]
	if err := msgpack.Unmarshal(b, &w); err != nil {
		return nil, classicBad("request: %v", err)
	}
	return w.request(classicRawMP), nil
}

// classicResponse is a message received on a response channel. Sockets
// stays encoded: its shape depends on the request it answers.
type classicResponse struct {
	Type        *int
	RequestID   string
	Sockets     classicRaw
	Rooms       []string
	ClientCount *int
	Data        classicRaw
	Packet      classicRaw
}

// classicResponseWire is a response as decoded, its raw values R in the
// message's format (json.RawMessage or parser.Raw).
type classicResponseWire[R any] struct {
	Type        *int     `json:"type"`
	RequestID   string   `json:"requestId"`
	Sockets     R        `json:"sockets"`
	Rooms       []string `json:"rooms"`
	ClientCount *int     `json:"clientCount"`
	Data        R        `json:"data"`
	Packet      R        `json:"packet"`
}

// response returns w with its raw values made classicRaw by raw.
func (w *classicResponseWire[R]) response(raw func(R) classicRaw) *classicResponse {
	return &classicResponse{Type: w.Type, RequestID: w.RequestID, Sockets: raw(w.Sockets),
		Rooms: w.Rooms, ClientCount: w.ClientCount, Data: raw(w.Data), Packet: raw(w.Packet)}
}

// classicDecodeResponse decodes a response, in either format.
func classicDecodeResponse(b []byte) (*classicResponse, error) {
	if adapter.FormatOf(b) == adapter.FormatJSON {
		var w classicResponseWire[json.RawMessage]
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, classicBad("response: %v", err)
		}
		return w.response(classicRawJSON), nil
	}
	var w classicResponseWire[parser.Raw]
	if err := msgpack.Unmarshal(b, &w); err != nil {
		return nil, classicBad("response: %v", err)
	}
	return w.response(classicRawMP), nil
}

// --- small helpers -----------------------------------------------------------

func classicNonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// classicUnique returns s without duplicates, in order (s itself when it
// has none).
func classicUnique(s []string) []string {
	if len(s) < 2 {
		return s
	}
	seen := make(map[string]struct{}, len(s))
	var out []string
	for i, r := range s {
		if _, dup := seen[r]; dup {
			if out == nil {
				out = slices.Clone(s[:i])
			}
			continue
		}
		seen[r] = struct{}{}
		if out != nil {
			out = append(out, r)
		}
	}
	if out == nil {
		return s
	}
	return out
}
