package main

import (
	"bytes"
	"strconv"
)

// The frames of both protocols are built into buffers the caller reuses,
// and parsed only as far as needed: the ack id, or a fan-out payload's
// sequence number and send time. Nothing here allocates once the buffers
// have grown to size.
//
//	                 Socket.IO (-proto sio)              raw (-proto raw, bench/raw)
//	echo             42<id>["echo","<pad>"]              e<id>:"<pad>"
//	its answer       43<id>["<pad>"]                     a<id>:"<pad>"
//	join             42<id>["join","<room>"]             j<room>
//	its answer       43<id>[]                            j
//	broadcast        42["bcast","<room>",[s,t,"<pad>"]]  b<room>:[s,t,"<pad>"]
//	delivery         42["msg",[s,t,"<pad>"]]             m[s,t,"<pad>"]
//
// s is the broadcast's sequence number, t its send time in nanoseconds
// since the generator started (monotonic clock), pad -payload bytes of 'x'.

type codec struct {
	raw       bool
	echoHead  []byte // before the id
	echoTail  []byte // after the id
	ackHead   []byte // what an answer starts with
	ackTail   []byte // what follows its id
	msgHead   []byte // what a delivery starts with, up to its payload array
	bcastHead []byte // a broadcast up to its payload array
	padTail   []byte // ,"<pad>"]
}

func newCodec(raw bool, payload int, room string) *codec {
	pad := `"` + string(bytes.Repeat([]byte{'x'}, payload)) + `"`
	c := &codec{raw: raw, padTail: []byte("," + pad + "]")}
	roomJSON := strconv.Quote(room)
	if raw {
		c.echoHead, c.echoTail = []byte("e"), []byte(":"+pad)
		c.ackHead, c.ackTail = []byte("a"), []byte(":"+pad)
		c.msgHead = []byte("m")
		c.bcastHead = []byte("b" + room + ":")
	} else {
		c.echoHead, c.echoTail = []byte("42"), []byte(`["echo",`+pad+`]`)
		c.ackHead, c.ackTail = []byte("43"), []byte(`[`+pad+`]`)
		c.msgHead = []byte(`42["msg",`)
		c.bcastHead = []byte(`42["bcast",` + roomJSON + `,`)
	}
	return c
}

// echo appends the echo request with ack id id to b.
func (c *codec) echo(b []byte, id uint64) []byte {
	b = append(b, c.echoHead...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, c.echoTail...)
}

// ack parses an answer to echo: its id, and whether the arguments came
// back unchanged. ok is false for any other frame.
func (c *codec) ack(data []byte) (id uint64, same, ok bool) {
	if !bytes.HasPrefix(data, c.ackHead) {
		return 0, false, false
	}
	id, n := parseUint(data[len(c.ackHead):])
	if n == 0 {
		return 0, false, false
	}
	return id, bytes.Equal(data[len(c.ackHead)+n:], c.ackTail), true
}

// join returns the request joining room, and the answer to wait for.
func (c *codec) join(room string, id uint64) (req []byte, ackPrefix []byte) {
	if c.raw {
		return []byte("j" + room), []byte("j")
	}
	req = strconv.AppendUint([]byte("42"), id, 10)
	req = append(req, `["join",`+strconv.Quote(room)+`]`...)
	return req, strconv.AppendUint([]byte("43"), id, 10)
}

// bcast appends the broadcast of sequence number seq sent at t to b.
func (c *codec) bcast(b []byte, seq uint64, t int64) []byte {
	b = append(b, c.bcastHead...)
	b = append(b, '[')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, t, 10)
	b = append(b, c.padTail...)
	if !c.raw {
		b = append(b, ']')
	}
	return b
}

// delivery parses a fan-out delivery: its sequence number and send time.
func (c *codec) delivery(data []byte) (seq uint64, t int64, ok bool) {
	if !bytes.HasPrefix(data, c.msgHead) {
		return 0, 0, false
	}
	p := data[len(c.msgHead):]
	if len(p) < 4 || p[0] != '[' {
		return 0, 0, false
	}
	seq, n := parseUint(p[1:])
	if n == 0 || 1+n >= len(p) || p[1+n] != ',' {
		return 0, 0, false
	}
	p = p[2+n:]
	tu, n := parseUint(p)
	if n == 0 {
		return 0, 0, false
	}
	return seq, int64(tu), true
}

// parseUint parses the decimal digits b starts with: their value and count
// (0: none, or too many).
func parseUint(b []byte) (v uint64, n int) {
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + uint64(b[n]-'0')
		n++
	}
	if n < len(b) && b[n] >= '0' && b[n] <= '9' {
		return 0, 0
	}
	return v, n
}
