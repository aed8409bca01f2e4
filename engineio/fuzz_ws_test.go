package engineio_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net/http"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/engineio/packet"
)

// wsFuzzLimit is the MaxHTTPBufferSize of FuzzWebSocketFrames: small, so
// that frames and fragmented messages can pass it.
const wsFuzzLimit = 200

// FuzzWebSocketFrames sends arbitrary bytes to a WebSocket session of a
// live server, after a valid handshake, over an in-memory connection (no
// network): as they are when raw is true, else as frames described by
// data (see fuzzFrames), masked as a client's. Then it sends a close frame
// and closes its side.
//
// The server never panics; the session always ends, with the close code
// and the reason the frames call for (1002 "transport error" for a
// protocol violation, 1009 past the size limit, the peer's close, or the
// Engine.IO packet's effect); in frame mode its handler receives exactly
// the Engine.IO messages the frames carry up to that point, in order; and
// a bystander session stays open throughout.
func FuzzWebSocketFrames(f *testing.F) {
	f.Add([]byte("test"), true)
	f.Add(fuzzFrameBytes(fr{0x81, "4hello"}, fr{0x82, "\x01\x02"}), false)
	f.Add(fuzzFrameBytes(fr{0x01, "4he"}, fr{0x89, "ping"}, fr{0x00, "l"}, fr{0x80, "lo"}), false)
	f.Add(fuzzFrameBytes(fr{0x81, "bAQID"}, fr{0x81, "3"}, fr{0x81, "6"}, fr{0x81, "1"}), false)
	f.Add(fuzzFrameBytes(fr{0x81, "2"}), false)
	f.Add(fuzzFrameBytes(fr{0x81, "x"}), false)
	f.Add(fuzzFrameBytes(fr{0x88, "\x0b\xb8bye"}), false)
	f.Add(fuzzFrameBytes(fr{0xb1, "4x"}), false)

	s := newRecordingServer(&engineio.ServerOptions{
		PingInterval:      time.Hour,
		PingTimeout:       time.Hour,
		MaxHTTPBufferSize: wsFuzzLimit,
	})
	l := servePipe(f, s)

	// A session on its own connection that must outlive every input. Its
	// frames are drained for good.
	conn, err := l.dial()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = conn.Close() })
	b := &rawWS{conn: conn, br: bufio.NewReader(conn)}
	if _, err := conn.Write(upgradeRequest("/engine.io/?EIO=4&transport=websocket")); err != nil {
		f.Fatal(err)
	}
	resp, err := http.ReadResponse(b.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		f.Fatalf("bystander handshake: %v %v", resp, err)
	}
	open, err := b.readFrame()
	const prefix = `0{"sid":"`
	if err != nil || !bytes.HasPrefix(open.payload, []byte(prefix)) || len(open.payload) < len(prefix)+20 {
		f.Fatalf("bystander open packet: %v %v", open, err)
	}
	bystander := string(open.payload[len(prefix) : len(prefix)+20])
	go func() {
		for {
			if _, err := b.readFrame(); err != nil {
				return
			}
		}
	}()

	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		c := dialPipe(t, l)
		c.send(upgradeRequest("/engine.io/?EIO=4&transport=websocket"))
		if resp, body := c.response(); resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake: %s %q", resp.Status, body)
		}
		sid := c.openSession()

		// The server's frames are read as it writes them (the pipe has no
		// buffer); the close frame, if any, is kept.
		closeCode := make(chan int, 1)
		go func() {
			code := -1
			for {
				fr, err := c.readFrame()
				if err != nil {
					closeCode <- code
					return
				}
				if fr.opcode == opClose && code == -1 {
					code = fr.closeCode()
				}
			}
		}()

		var frames []fuzzFrame
		wire := data
		if !raw {
			frames = fuzzFrames(data)
			wire = nil
			for _, fr := range frames {
				wire = append(wire, frame(fr.fin, fr.rsv, fr.opcode, fr.payload)...)
			}
		}
		_, _ = c.conn.Write(wire) // fails once the server has closed
		_, _ = c.conn.Write(closeFrame(1000))
		if raw {
			// Raw bytes may end inside a frame the server waits to
			// complete: the client goes.
			_ = c.conn.Close()
		}
		code := <-closeCode
		_ = c.conn.Close()

		reason := s.closeReasonT(t, sid)
		if p := s.panics(); len(p) > 0 {
			t.Fatalf("the server panicked: %s", p)
		}
		if s.eio.Session(bystander) == nil {
			t.Fatal("the bystander session closed")
		}
		s.mu.Lock()
		got := s.received[sid]
		delete(s.received, sid)
		delete(s.closed, sid)
		s.mu.Unlock()
		if raw {
			return
		}

		want := expectWS(frames)
		if code != want.code {
			t.Fatalf("close code %d, want %d (%s)", code, want.code, want.why)
		}
		if reason != want.reason {
			t.Fatalf("session closed with %q, want %q (%s)", reason, want.reason, want.why)
		}
		if len(got) != len(want.msgs) {
			t.Fatalf("handler got %d messages %+v, want %d %+v (%s)", len(got), got, len(want.msgs), want.msgs, want.why)
		}
		for i := range got {
			if got[i] != want.msgs[i] {
				t.Fatalf("message %d: %+v, want %+v", i, got[i], want.msgs[i])
			}
		}
	})
}

// fuzzFrame is one frame a FuzzWebSocketFrames input describes.
type fuzzFrame struct {
	fin     bool
	rsv     byte
	opcode  byte
	payload []byte
}

// fuzzFrames reads data as frames: a header byte (FIN, RSV1-3, opcode as
// in a real frame), a length byte, then that many payload bytes (fewer if
// data ends). At most 64 frames.
func fuzzFrames(data []byte) []fuzzFrame {
	var out []fuzzFrame
	for len(data) >= 2 && len(out) < 64 {
		h, n := data[0], int(data[1])
		data = data[2:]
		n = min(n, len(data))
		out = append(out, fuzzFrame{fin: h&0x80 != 0, rsv: h >> 4 & 7, opcode: h & 0x0f, payload: data[:n]})
		data = data[n:]
	}
	return out
}

// fr is a frame of a seed: header byte and payload.
type fr struct {
	h       byte
	payload string
}

// fuzzFrameBytes writes frames in the form fuzzFrames reads.
func fuzzFrameBytes(frames ...fr) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, f.h, byte(len(f.payload)))
		b = append(b, f.payload...)
	}
	return b
}

// wsOutcome is how a session fed given frames must end.
type wsOutcome struct {
	msgs   []receivedMsg
	code   int    // the server's close code (1005: a close frame without one)
	reason string // the session's close reason
	why    string
}

// expectWS computes, from RFC 6455 and the Engine.IO protocol, what the
// server makes of frames followed by the client's close frame 1000. It is
// written here, apart from the server, on purpose; the order of the checks
// on one frame is the library's (size, reserved bits, control frames).
func expectWS(frames []fuzzFrame) wsOutcome {
	var out wsOutcome
	fail := func(code int, why string) wsOutcome {
		out.code, out.reason, out.why = code, engineio.ReasonTransportError, why
		return out
	}
	var fragOp byte
	var frag []byte
	fragmented := false
	for _, f := range frames {
		if len(f.payload) > wsFuzzLimit {
			return fail(1009, "frame over the limit")
		}
		if f.rsv != 0 {
			return fail(1002, "reserved bits")
		}
		if f.opcode > opBinary {
			if !f.fin || len(f.payload) > 125 {
				return fail(1002, "fragmented or long control frame")
			}
			switch f.opcode {
			case opPing, opPong:
				continue
			case opClose:
				out.code, out.reason, out.why = closeAnswer(f.payload), engineio.ReasonTransportClose, "the peer's close frame"
				return out
			}
			return fail(1002, "reserved opcode")
		}
		var msg []byte
		var op byte
		switch {
		case f.opcode != opContinuation && fragmented:
			return fail(1002, "data frame inside a fragmented message")
		case f.opcode != opContinuation && f.fin:
			msg, op = f.payload, f.opcode
		case f.opcode != opContinuation:
			fragmented, fragOp, frag = true, f.opcode, append([]byte(nil), f.payload...)
			continue
		case !fragmented:
			return fail(1002, "continuation without a message")
		default:
			frag = append(frag, f.payload...)
			if len(frag) > wsFuzzLimit {
				return fail(1009, "fragments over the limit")
			}
			if !f.fin {
				continue
			}
			msg, op, fragmented = frag, fragOp, false
		}
		// A whole WebSocket message: one Engine.IO packet.
		if op == opBinary {
			out.msgs = append(out.msgs, receivedMsg{string(msg), true})
			continue
		}
		p, err := packet.DecodeText(msg)
		switch {
		case err != nil:
			out.code, out.reason, out.why = 1000, engineio.ReasonParseError, "invalid Engine.IO packet"
			return out
		case p.Type == packet.Message:
			out.msgs = append(out.msgs, receivedMsg{string(p.Data), p.Binary})
		case p.Type == packet.Close:
			out.code, out.reason, out.why = 1000, engineio.ReasonTransportClose, "Engine.IO close packet"
			return out
		case p.Type == packet.Ping:
			out.code, out.reason, out.why = 1000, engineio.ReasonTransportError, "a ping from the client"
			return out
		}
	}
	out.code, out.reason, out.why = 1000, engineio.ReasonTransportClose, "the final close frame"
	return out
}

// closeAnswer is the code of the server's answer to a client's close frame
// with payload p: the peer's code echoed when it is a valid application
// code, 1000 for a valid protocol code, 1002 for an invalid one, none for
// an empty frame.
func closeAnswer(p []byte) int {
	switch {
	case len(p) == 0:
		return 1005
	case len(p) == 1:
		return 1002
	}
	c := int(binary.BigEndian.Uint16(p))
	switch {
	case c == 1004 || c == 1005 || c == 1006 || c == 1014 || c == 1015,
		c < 1000 || c >= 5000 || c >= 1016 && c < 3000:
		return 1002
	case c < 1016:
		return 1000
	}
	return c
}

// TestWebSocketCloseWhileEchoing: the client sends messages and at once
// its close frame, so that the server's echoes and its answer to the close
// frame race. The server always completes the closing handshake with a
// close frame (before, a write failing on the closing connection cut it
// short: the client saw the connection drop, 1006 in a browser). Found by
// FuzzWebSocketFrames; repeated to meet the race.
func TestWebSocketCloseWhileEchoing(t *testing.T) {
	s := newRecordingServer(&engineio.ServerOptions{PingInterval: time.Hour, PingTimeout: time.Hour})
	l := servePipe(t, s)
	for i := range 200 {
		c := dialPipe(t, l)
		c.send(upgradeRequest("/engine.io/?EIO=4&transport=websocket"))
		if resp, body := c.response(); resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake: %s %q", resp.Status, body)
		}
		sid := c.openSession()
		codes := make(chan int, 1)
		go func() {
			code := -1
			for {
				f, err := c.readFrame()
				if err != nil {
					codes <- code
					return
				}
				if f.opcode == opClose {
					code = f.closeCode()
				}
			}
		}()
		_, _ = c.conn.Write(append(append(textFrame("4a"), frame(true, 0, opBinary, []byte{1})...), closeFrame(1000)...))
		if code := <-codes; code != 1000 {
			t.Fatalf("round %d: the server answered the close frame with %d, want 1000", i, code)
		}
		if reason := s.closeReasonT(t, sid); reason != engineio.ReasonTransportClose {
			t.Fatalf("round %d: closed with %q", i, reason)
		}
		_ = c.conn.Close()
	}
}

// negativeLength is a client frame whose 64-bit length has its top bit
// set, which RFC 6455 forbids; gws v1.9.1 panics allocating it.
var negativeLength = []byte{0x82, 0x80 | 127, 0xff, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4}

// TestWebSocketNegativeLength: such a frame ends its session alone, with a
// close frame 1002 and reason "transport error", and no panic reaches the
// HTTP server (before, the read loop's panic left the session open and
// its connection unclosed until the heartbeat gave up). Found by
// FuzzWebSocketFrames.
func TestWebSocketNegativeLength(t *testing.T) {
	s := newAdvServer(t, nil)
	bc, bystander := s.wsSession()
	c, sid := s.wsSession()
	c.send(negativeLength)
	if code := c.expectClose(); code != 1002 {
		t.Fatalf("close code %d, want 1002", code)
	}
	if reason := s.closeReason(sid); reason != engineio.ReasonTransportError {
		t.Fatalf("closed with %q", reason)
	}
	if p := s.panics(); len(p) > 0 {
		t.Fatalf("the server panicked: %s", p)
	}
	waitFor(t, "only the bystander left", func() bool { return s.eio.ClientsCount() == 1 })
	bc.send(textFrame("4bystander"))
	bc.expectText("4bystander")
	if !s.isOpen(bystander) {
		t.Fatal("the bystander session closed")
	}
	s.checkServes()
}
