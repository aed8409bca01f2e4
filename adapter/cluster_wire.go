package adapter

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// MessageType numbers the messages nodes exchange, as the ClusterAdapter
// of the npm package socket.io-adapter does (the sharded and streams Redis
// adapters use it).
type MessageType int

// The message types of socket.io-adapter's ClusterAdapter.
const (
	MsgInitialHeartbeat MessageType = iota + 1
	MsgHeartbeat
	MsgBroadcast
	MsgSocketsJoin
	MsgSocketsLeave
	MsgDisconnectSockets
	MsgFetchSockets
	MsgFetchSocketsResponse
	MsgServerSideEmit
	MsgServerSideEmitResponse
	MsgBroadcastClientCount
	MsgBroadcastAck
	MsgAdapterClose
)

// ClusterMessage is a message or a response between the nodes of a
// cluster: {uid, nsp, type, data}. Data is a *MessageData (nil for the
// heartbeats and ADAPTER_CLOSE).
type ClusterMessage struct {
	UID  string       `json:"uid"`
	Nsp  string       `json:"nsp"`
	Type MessageType  `json:"type"`
	Data *MessageData `json:"data,omitempty"`
}

// MessageData is the data of a message; which fields are set depends on
// the type, as in Node:
//
//	BROADCAST                 packet, opts, requestId (with acknowledgements)
//	SOCKETS_JOIN, _LEAVE      opts, rooms
//	DISCONNECT_SOCKETS        opts, close
//	FETCH_SOCKETS             opts, requestId
//	FETCH_SOCKETS_RESPONSE    requestId, sockets
//	SERVER_SIDE_EMIT          packet ([event, ...args]), requestId (with ack)
//	SERVER_SIDE_EMIT_RESPONSE requestId, packet (the reply)
//	BROADCAST_CLIENT_COUNT    requestId, clientCount
//	BROADCAST_ACK             requestId, packet (the acknowledgement)
type MessageData struct {
	RequestID   string          `json:"requestId,omitempty"`
	Opts        *WireOptions    `json:"opts,omitempty"`
	Packet      any             `json:"packet,omitzero"`
	Rooms       []Room          `json:"rooms,omitempty"`
	Close       *bool           `json:"close,omitempty"`
	Sockets     []SocketDetails `json:"sockets,omitzero"`
	ClientCount *int            `json:"clientCount,omitempty"`
}

// WireOptions are BroadcastOptions as Node sends them.
type WireOptions struct {
	Rooms  []Room    `json:"rooms"`
	Except []Room    `json:"except"`
	Flags  WireFlags `json:"flags"`
}

// WireFlags are BroadcastFlags as Node sends them; Timeout is in ms.
type WireFlags struct {
	Volatile bool  `json:"volatile,omitempty"`
	Compress *bool `json:"compress,omitempty"`
	Local    bool  `json:"local,omitempty"`
	Timeout  int64 `json:"timeout,omitempty"`
}

// WirePacket is a Socket.IO packet as adapters exchange it: not encoded,
// {type, data: [event, ...args], nsp, id?}.
type WirePacket struct {
	Type parser.Type `json:"type"`
	Data []any       `json:"data"`
	Nsp  string      `json:"nsp"`
	ID   *uint64     `json:"id,omitempty"`
}

// EncodeOptions returns opts as Node sends them.
func EncodeOptions(opts BroadcastOptions) *WireOptions {
	w := &WireOptions{Rooms: nonNil(opts.Rooms), Except: nonNil(opts.Except), Flags: WireFlags{
		Volatile: opts.Flags.Volatile,
		Local:    opts.Flags.Local,
		Timeout:  opts.Flags.Timeout.Milliseconds(),
	}}
	if opts.Flags.NoCompress {
		f := false
		w.Flags.Compress = &f
	}
	return w
}

// Options returns the BroadcastOptions w stands for.
func (w *WireOptions) Options() BroadcastOptions {
	if w == nil {
		return BroadcastOptions{}
	}
	return BroadcastOptions{Rooms: w.Rooms, Except: w.Except, Flags: BroadcastFlags{
		Volatile:   w.Flags.Volatile,
		Local:      w.Flags.Local,
		NoCompress: w.Flags.Compress != nil && !*w.Flags.Compress,
		Timeout:    time.Duration(w.Flags.Timeout) * time.Millisecond,
	}}
}

// EncodePacket returns the EVENT packet p as adapters exchange it.
func EncodePacket(p *parser.Packet) *WirePacket {
	w := &WirePacket{Type: parser.Event, Nsp: p.Namespace, Data: make([]any, 0, 1+len(p.Args))}
	w.Data = append(append(w.Data, p.Event), p.Args...)
	if p.HasID {
		id := p.ID
		w.ID = &id
	}
	return w
}

// ErrBadMessage is wrapped by the errors of decoding a cluster message.
var ErrBadMessage = errors.New("socketio: invalid cluster message")

func badMessage(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadMessage}, args...)...)
}

// Format is how a message is encoded.
type Format int

const (
	// FormatJSON is JSON text (it starts with '{').
	FormatJSON Format = iota
	// FormatMsgPack is MessagePack.
	FormatMsgPack
)

// FormatOf tells the format of an encoded message or data, as Node's
// adapters do: JSON when it starts with '{', MessagePack otherwise.
func FormatOf(b []byte) Format {
	if len(b) > 0 && b[0] == '{' {
		return FormatJSON
	}
	return FormatMsgPack
}

// Marshal encodes v (a message, its data or a packet) in format f.
func Marshal(v any, f Format) ([]byte, error) {
	if f == FormatJSON {
		return json.Marshal(v)
	}
	return msgpack.Marshal(v)
}

// rawValue keeps an encoded value of either format until its type is
// known.
type rawValue struct {
	json json.RawMessage
	mp   parser.Raw
}

func (r rawValue) isZero() bool { return r.json == nil && r.mp.IsZero() }

// wireData is MessageData with the packet kept encoded, R being the raw
// type of the format (json.RawMessage or parser.Raw).
type wireData[R any] struct {
	RequestID   string          `json:"requestId"`
	Opts        *WireOptions    `json:"opts"`
	Packet      R               `json:"packet"`
	Rooms       []Room          `json:"rooms"`
	Close       *bool           `json:"close"`
	Sockets     []SocketDetails `json:"sockets"`
	ClientCount *int            `json:"clientCount"`
}

// data returns w without its packet.
func (w *wireData[R]) data() MessageData {
	return MessageData{RequestID: w.RequestID, Opts: w.Opts, Rooms: w.Rooms, Close: w.Close, Sockets: w.Sockets, ClientCount: w.ClientCount}
}

// DecodeData decodes the data of a message of type t, encoded in either
// format. Packets come out as for DecodeMessage.
func DecodeData(t MessageType, b []byte) (*MessageData, error) {
	var (
		d   MessageData
		raw rawValue
	)
	if FormatOf(b) == FormatJSON {
		var w wireData[json.RawMessage]
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, badMessage("%v", err)
		}
		d = w.data()
		if w.Packet != nil && string(w.Packet) != "null" {
			raw.json = w.Packet
		}
	} else {
		var w wireData[parser.Raw]
		if err := msgpack.Unmarshal(b, &w); err != nil {
			return nil, badMessage("%v", err)
		}
		d = w.data()
		raw.mp = w.Packet
	}
	if raw.isZero() {
		return &d, nil
	}
	switch t {
	case MsgBroadcast:
		p, err := decodeWirePacket(raw)
		if err != nil {
			return nil, err
		}
		d.Packet = p
	case MsgServerSideEmit:
		args, err := decodeArgs(raw)
		if err != nil {
			return nil, err
		}
		d.Packet = args
	default: // a reply or an acknowledgement: one value
		if raw.json != nil {
			d.Packet = parser.NewRaw(parser.Default, raw.json, nil)
		} else {
			d.Packet = raw.mp
		}
	}
	return &d, nil
}

// wireMessage is ClusterMessage with the data kept encoded, R being the
// raw type of the format.
type wireMessage[R any] struct {
	UID  string      `json:"uid"`
	Nsp  string      `json:"nsp"`
	Type MessageType `json:"type"`
	Data R           `json:"data"`
}

// DecodeMessage decodes a whole message in either format. The packet of a
// BROADCAST becomes a *WirePacket whose Data holds the event name then
// parser.Raw arguments; SERVER_SIDE_EMIT's packet is []any of the same;
// replies and acknowledgements are one parser.Raw.
func DecodeMessage(b []byte) (*ClusterMessage, error) {
	m := &ClusterMessage{}
	var data []byte
	if FormatOf(b) == FormatJSON {
		var w wireMessage[json.RawMessage]
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, badMessage("%v", err)
		}
		m.UID, m.Nsp, m.Type = w.UID, w.Nsp, w.Type
		if w.Data != nil && string(w.Data) != "null" {
			data = w.Data
		}
	} else {
		var w wireMessage[parser.Raw]
		if err := msgpack.Unmarshal(b, &w); err != nil {
			return nil, badMessage("%v", err)
		}
		m.UID, m.Nsp, m.Type = w.UID, w.Nsp, w.Type
		if !w.Data.IsZero() {
			data = w.Data.Bytes()
			if len(data) == 1 && data[0] == 0xc0 {
				data = nil // nil
			}
		}
	}
	if data != nil {
		d, err := DecodeData(m.Type, data)
		if err != nil {
			return nil, err
		}
		m.Data = d
	}
	return m, nil
}

// decodeArgs decodes an array into raw values.
func decodeArgs(r rawValue) ([]any, error) {
	var out []any
	if r.json != nil {
		var elems []json.RawMessage
		if err := json.Unmarshal(r.json, &elems); err != nil {
			return nil, badMessage("packet: %v", err)
		}
		for _, e := range elems {
			out = append(out, parser.NewRaw(parser.Default, e, nil))
		}
		return out, nil
	}
	var elems []parser.Raw
	if err := r.mp.Decode(&elems); err != nil {
		return nil, badMessage("packet: %v", err)
	}
	for _, e := range elems {
		out = append(out, e)
	}
	return out, nil
}

// wireHead is a WirePacket as decoded, its data kept encoded in R: the
// raw type of the format, or rawValue once that is chosen.
type wireHead[R any] struct {
	Type parser.Type `json:"type"`
	Nsp  *string     `json:"nsp"`
	ID   *uint64     `json:"id"`
	Data R           `json:"data"`
}

// decodeWirePacket decodes {type, data, nsp, id}.
func decodeWirePacket(r rawValue) (*WirePacket, error) {
	var (
		head wireHead[rawValue]
		err  error
	)
	if r.json != nil {
		var h wireHead[json.RawMessage]
		err = json.Unmarshal(r.json, &h)
		head = wireHead[rawValue]{h.Type, h.Nsp, h.ID, rawValue{json: h.Data}}
	} else {
		var h wireHead[parser.Raw]
		err = r.mp.Decode(&h)
		head = wireHead[rawValue]{h.Type, h.Nsp, h.ID, rawValue{mp: h.Data}}
	}
	if err != nil {
		return nil, badMessage("packet: %v", err)
	}
	if head.Type != parser.Event && head.Type != parser.BinaryEvent {
		return nil, badMessage("packet of type %d", head.Type)
	}
	if head.Data.isZero() {
		return nil, badMessage("packet without data")
	}
	args, err := decodeArgs(head.Data)
	if err != nil {
		return nil, err
	}
	w := &WirePacket{Type: parser.Event, Data: args, Nsp: "/", ID: head.ID}
	if head.Nsp != nil {
		w.Nsp = *head.Nsp
	}
	return w, nil
}

// Packet returns the EVENT packet w stands for: its first element is the
// event name.
func (w *WirePacket) Packet() (*parser.Packet, error) {
	ev, args, err := splitEvent(w.Data)
	if err != nil {
		return nil, err
	}
	p := &parser.Packet{Type: parser.Event, Namespace: w.Nsp, Event: ev, Args: args}
	if w.ID != nil {
		p.ID, p.HasID = *w.ID, true
	}
	return p, nil
}

// splitEvent takes the event name off [event, ...args].
func splitEvent(data []any) (string, []any, error) {
	if len(data) == 0 {
		return "", nil, badMessage("event without a name")
	}
	var ev string
	switch x := data[0].(type) {
	case string:
		ev = x
	case parser.Raw:
		if err := x.Decode(&ev); err != nil {
			return "", nil, badMessage("event name: %v", err)
		}
	default:
		return "", nil, badMessage("event name of type %T", data[0])
	}
	return ev, data[1:], nil
}

// HasBinary reports whether v may hold binary data: []byte anywhere in it,
// a JSON Raw with attachments, a MessagePack Raw, or a value of a type it
// does not look into (a struct, a pointer): those go as MessagePack, which
// every node accepts.
func HasBinary(v any) bool { return hasBinary(v, 0) }

func hasBinary(v any, depth int) bool {
	if depth > 32 {
		return true // deep enough: let MessagePack take it
	}
	switch x := v.(type) {
	case []byte:
		return true
	case parser.Raw:
		if x.IsZero() {
			return false
		}
		if _, ok := x.Codec().(*parser.JSON); ok {
			return len(x.Attachments()) > 0
		}
		return true
	case []any:
		for _, e := range x {
			if hasBinary(e, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasBinary(e, depth+1) {
				return true
			}
		}
	case *MessageData:
		if x == nil {
			return false
		}
		if hasBinary(x.Packet, depth+1) {
			return true
		}
		for _, s := range x.Sockets {
			if hasBinary(s.Data, depth+1) || s.Handshake != nil && hasBinary(s.Handshake.Auth, depth+1) {
				return true
			}
		}
		return false
	case *WirePacket:
		return hasBinary(x.Data, depth+1)
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return false
	default:
		return true
	}
	return false
}
