package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/internal/testutil"
)

// Connection state recovery, seen on the wire by a raw WebSocket client:
// which packets carry an offset (the session store of the in-memory
// adapter), which missed packets are replayed, and what a recovered socket
// keeps. Every expectation is the exact frame Node's SessionAwareAdapter
// would send, with the offsets the adapter reports (Adapter().Offset()).

// recoveryHarness is a server with connection state recovery and the
// sockets of "/" as they connect.
type recoveryHarness struct {
	*harness
	conns chan *socketio.Socket
}

// startRecoveryServer starts the conformance server configuration with
// ConnectionStateRecovery ro; setup runs before the handler that reports
// the sockets of "/" on conns.
func startRecoveryServer(t *testing.T, ro *socketio.RecoveryOptions, setup func(*socketio.Server)) *recoveryHarness {
	t.Helper()
	opts := suiteOptions()
	opts.ConnectionStateRecovery = ro
	conns := make(chan *socketio.Socket, 16)
	h := startServer(t, opts, func(srv *socketio.Server) {
		if setup != nil {
			setup(srv)
		}
		srv.OnConnection(func(s *socketio.Socket) { conns <- s })
	})
	return &recoveryHarness{harness: h, conns: conns}
}

// connectAnswer is what a client gets for its CONNECT: the events replayed
// before the answer (non-ping frames, in order), then the answer's sid and
// pid.
type connectAnswer struct {
	early    []string // frames before the CONNECT answer (text; binary as "<binary % x>")
	sid, pid string
	c        *sioClient // to read the replay, which follows the CONNECT answer
}

// frameString renders a frame as connectAnswer does.
func frameString(f testutil.Frame) string {
	if f.Binary {
		return fmt.Sprintf("<binary % x>", f.Data)
	}
	return string(f.Data)
}

// connectWith opens a WebSocket session that answers pings, sends the
// CONNECT of "/" with auth (a JSON object or ""), and reads the frames
// up to and including the CONNECT answer, which must be exactly
// 40{"sid":"<20>","pid":"<20>"}.
func (rh *recoveryHarness) connectWith(auth string) (*sioClient, connectAnswer) {
	rh.t.Helper()
	c, _ := rh.openWS(true)
	c.SendText("40" + auth)
	a := connectAnswer{c: c}
	for {
		f := c.NextSkippingPings()
		body, ok := strings.CutPrefix(string(f.Data), "40")
		if f.Binary || !ok {
			a.early = append(a.early, frameString(f))
			continue
		}
		if keys := jsonKeys(rh.t, body); !slices.Equal(keys, []string{"pid", "sid"}) {
			rh.t.Fatalf("CONNECT answer %q has keys %v, want exactly pid and sid", f.Data, keys)
		}
		var ans struct{ SID, PID string }
		if err := json.Unmarshal([]byte(body), &ans); err != nil {
			rh.t.Fatalf("CONNECT answer %q: %v", f.Data, err)
		}
		if !idPattern.MatchString(ans.SID) || !idPattern.MatchString(ans.PID) || ans.SID == ans.PID {
			rh.t.Fatalf("CONNECT answer %q: want a sid and a distinct pid of 20 URL-safe base64 characters", f.Data)
		}
		a.sid, a.pid = ans.SID, ans.PID
		return c, a
	}
}

// next returns the server-side socket of the next connection.
func (rh *recoveryHarness) next() *socketio.Socket {
	rh.t.Helper()
	return receive(rh.t, "connection handler", rh.conns)
}

// recoverAuth is the auth of a client that comes back: pid, and offset
// unless it is "".
func recoverAuth(pid, offset string) string {
	m := map[string]string{"pid": pid}
	if offset != "" {
		m["offset"] = offset
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// offset returns the namespace's current offset, failing the test when it
// is empty.
func (rh *recoveryHarness) offset(nsp string) string {
	rh.t.Helper()
	o := rh.srv.Of(nsp).Adapter().Offset()
	if o == "" {
		rh.t.Fatalf("Adapter().Offset() of %s is empty", nsp)
	}
	return o
}

// drop closes the session of s from the server (a recoverable "forced
// close"), waits for c to see the close and for s to leave its namespace,
// which is when its session is stored.
func (rh *recoveryHarness) drop(c *sioClient, s *socketio.Socket) {
	rh.t.Helper()
	_ = s.Conn().Close()
	c.ExpectClosed()
	rh.gone(s)
}

// gone waits until the namespace of s no longer holds a socket with its id.
func (rh *recoveryHarness) gone(s *socketio.Socket) {
	rh.t.Helper()
	eventually(rh.t, "socket "+s.ID()+" leaves its namespace", func() bool {
		_, ok := s.Namespace().Socket(s.ID())
		return !ok
	})
}

// expectEvent fails the test unless the next non-ping frame of c is the
// text want.
func expectEvent(t *testing.T, c *sioClient, want string) {
	t.Helper()
	if f := c.NextSkippingPings(); f.Binary || string(f.Data) != want {
		t.Fatalf("got %v, want text %q", f, want)
	}
}

// wantRecovered checks that a is the recovery of the session sid/pid and
// that exactly the missed frames want follow the CONNECT answer (our order;
// Node sends them before it, see Socket.attach).
func wantRecovered(t *testing.T, a connectAnswer, sid, pid string, want []string) {
	t.Helper()
	if a.sid != sid || a.pid != pid {
		t.Errorf("CONNECT answer sid %q pid %q, want the recovered %q %q", a.sid, a.pid, sid, pid)
	}
	if len(a.early) != 0 {
		t.Errorf("frames before the CONNECT answer: %q, want none (the replay follows it)", a.early)
	}
	got := make([]string, 0, len(want))
	for range want {
		got = append(got, frameString(a.c.NextSkippingPings()))
	}
	if !slices.Equal(got, want) {
		t.Errorf("replayed after the CONNECT answer:\n got %q\nwant %q", got, want)
	}
}

// wantNotRecovered checks that a is a new session: new sid and pid, nothing
// replayed.
func wantNotRecovered(t *testing.T, a connectAnswer, sid, pid string) {
	t.Helper()
	if a.sid == sid || a.pid == pid {
		t.Errorf("CONNECT answer sid %q pid %q: want a new session, not %q %q", a.sid, a.pid, sid, pid)
	}
	if len(a.early) != 0 {
		t.Errorf("frames before the CONNECT answer of a new session: %q, want none", a.early)
	}
}

// --- offsets ---------------------------------------------------------------

// Without recovery the CONNECT answer has no pid and events no offset.
func TestRecoveryOffNoPidNoOffset(t *testing.T) {
	conns := make(chan *socketio.Socket, 1)
	h := startServer(t, suiteOptions(), func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) { conns <- s })
	})
	c, _ := h.openWS(true)
	sid := c.join("/", "") // exactly 40{"sid":"..."}
	s := receive(t, "connection", conns)
	if s.ID() != sid || s.Recovered() {
		t.Fatalf("socket %q recovered %v, want %q false", s.ID(), s.Recovered(), sid)
	}
	_ = s.Emit("a", 1)
	_ = h.srv.Emit("b", "x")
	expectEvent(t, c, `42["a",1]`)
	expectEvent(t, c, `42["b","x"]`)
	if o := h.srv.Of("/").Adapter().Offset(); o != "" {
		t.Errorf("Adapter().Offset() without recovery = %q, want empty", o)
	}
}

// An offset is appended to every EVENT sent without acknowledgement, to
// one socket or broadcast, binary included (after the placeholders, as
// Node pushes it onto the data array); events with an acknowledgement get
// none and do not move the offset; a volatile event gets the current
// offset (socket.io#5539: its own last string argument must not be taken
// for an offset) and does not move it either.
func TestRecoveryOffsets(t *testing.T) {
	rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
	n := rh.srv.Of("/")
	if o := n.Adapter().Offset(); o != "" {
		t.Fatalf("Offset() before any event = %q, want empty", o)
	}
	c, a := rh.connectWith("")
	s := rh.next()
	if s.ID() != a.sid || s.Recovered() {
		t.Fatalf("socket %q recovered %v, want %q false", s.ID(), s.Recovered(), a.sid)
	}
	if len(a.early) != 0 {
		t.Fatalf("frames before the first CONNECT answer: %q", a.early)
	}
	s.Join("r")

	_ = s.Emit("a", 1)
	o1 := rh.offset("/")
	expectEvent(t, c, `42["a",1,"`+o1+`"]`)

	_ = rh.srv.Emit("b", "x")
	o2 := rh.offset("/")
	expectEvent(t, c, `42["b","x","`+o2+`"]`)

	_ = rh.srv.To("r").Emit("c", map[string]any{"k": true})
	o3 := rh.offset("/")
	expectEvent(t, c, `42["c",{"k":true},"`+o3+`"]`)

	_ = s.Emit("z")
	o4 := rh.offset("/")
	expectEvent(t, c, `42["z","`+o4+`"]`)

	if offs := []string{o1, o2, o3, o4}; len(slices.Compact(slices.Clone(offs))) != 4 {
		t.Fatalf("offsets %q, want four distinct", offs)
	}

	// With an acknowledgement, to the socket: no offset, offset unchanged.
	done := make(chan error, 1)
	go func() {
		_, err := s.Timeout(testutil.WaitTimeout).EmitWithAck(context.Background(), "d", 2)
		done <- err
	}()
	id, body := ackID(t, c.NextSkippingPings(), "42")
	if body != `["d",2]` {
		t.Errorf("event with ack: %q, want [\"d\",2] (no offset)", body)
	}
	c.SendText("43" + itoa(id) + "[]")
	if err := receive(t, "EmitWithAck", done); err != nil {
		t.Errorf("EmitWithAck: %v", err)
	}
	// Broadcast with acknowledgements: no offset either.
	go func() {
		_, err := rh.srv.Timeout(testutil.WaitTimeout).EmitWithAck(context.Background(), "e", 3)
		done <- err
	}()
	id, body = ackID(t, c.NextSkippingPings(), "42")
	if body != `["e",3]` {
		t.Errorf("broadcast with ack: %q, want [\"e\",3] (no offset)", body)
	}
	c.SendText("43" + itoa(id) + "[]")
	if err := receive(t, "broadcast EmitWithAck", done); err != nil {
		t.Errorf("broadcast EmitWithAck: %v", err)
	}
	if o := rh.offset("/"); o != o4 {
		t.Errorf("Offset() after events with ack = %q, want unchanged %q", o, o4)
	}

	// Volatile: the current offset, which stays current. (A volatile
	// packet is dropped while the transport is busy: wait until it is not.)
	writable(t, s)
	_ = s.Volatile().Emit("v", "some-string")
	expectEvent(t, c, `42["v","some-string","`+o4+`"]`)
	writable(t, s)
	_ = rh.srv.Volatile().Emit("w")
	expectEvent(t, c, `42["w","`+o4+`"]`)
	if o := rh.offset("/"); o != o4 {
		t.Errorf("Offset() after volatile events = %q, want unchanged %q", o, o4)
	}

	// Binary: the offset after the placeholder.
	_ = s.Emit("bin", []byte{1, 2})
	o5 := rh.offset("/")
	expectEvent(t, c, `451-["bin",{"_placeholder":true,"num":0},"`+o5+`"]`)
	c.ExpectBinarySkippingPings([]byte{1, 2})
	if o5 == o4 {
		t.Errorf("binary event kept offset %q, want a new one", o5)
	}

	// Another namespace has its own offsets.
	if o := rh.srv.Of("/other").Adapter().Offset(); o != "" {
		t.Errorf("Offset() of /other = %q, want empty (no event there)", o)
	}
}

// writable waits until the transport of s can take a volatile packet.
func writable(t *testing.T, s *socketio.Socket) {
	t.Helper()
	eventually(t, "transport writable", s.Conn().Writable)
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// --- replay ------------------------------------------------------------------

// A client that comes back with its pid and last offset gets its id, pid,
// rooms and data back, and exactly the events it missed (with their
// offsets, as they were first sent) right after the CONNECT answer; then
// live events go on with new offsets.
func TestRecoveryReplay(t *testing.T) {
	rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
	c, a := rh.connectWith("")
	s := rh.next()
	s.Join("r1", "r2")
	s.SetData(map[string]any{"user": "u1"})
	_ = s.Emit("e1", 1)
	o1 := rh.offset("/")
	expectEvent(t, c, `42["e1",1,"`+o1+`"]`)
	rh.drop(c, s)

	_ = rh.srv.Emit("e2", "two")
	o2 := rh.offset("/")
	_ = rh.srv.To("r2").Emit("e3", []byte{9})
	o3 := rh.offset("/")
	_ = rh.srv.To("elsewhere").Emit("no")

	c2, a2 := rh.connectWith(recoverAuth(a.pid, o1))
	wantRecovered(t, a2, a.sid, a.pid, []string{
		`42["e2","two","` + o2 + `"]`,
		`451-["e3",{"_placeholder":true,"num":0},"` + o3 + `"]`,
		"<binary 09>",
	})
	s2 := rh.next()
	if !s2.Recovered() || s2.ID() != a.sid || s2 == s {
		t.Fatalf("recovered socket: Recovered %v ID %q (new object %v), want true %q", s2.Recovered(), s2.ID(), s2 != s, a.sid)
	}
	if got := s2.Rooms(); !slices.Equal(got, []string{a.sid, "r1", "r2"}) {
		t.Errorf("rooms %q, want [%s r1 r2]", got, a.sid)
	}
	if d, _ := s2.Data().(map[string]any); d["user"] != "u1" {
		t.Errorf("Data() = %#v, want map[user:u1]", s2.Data())
	}
	if got, ok := rh.srv.Of("/").Socket(a.sid); !ok || got != s2 {
		t.Errorf("Namespace.Socket(%q) = %p %v, want the recovered socket %p", a.sid, got, ok, s2)
	}
	_ = rh.srv.To("r1").Emit("live")
	o4 := rh.offset("/")
	expectEvent(t, c2, `42["live","`+o4+`"]`)
}

// A volatile event is the very first of the namespace: it gets a fresh
// offset that later serves as a recovery point; it is never replayed.
func TestRecoveryVolatileFirst(t *testing.T) {
	rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
	c, a := rh.connectWith("")
	s := rh.next()
	writable(t, s)
	_ = s.Volatile().Emit("v", "some-string")
	o0 := rh.offset("/")
	expectEvent(t, c, `42["v","some-string","`+o0+`"]`)
	rh.drop(c, s)
	_ = rh.srv.Emit("after", 1)
	o1 := rh.offset("/")
	_, a2 := rh.connectWith(recoverAuth(a.pid, o0))
	wantRecovered(t, a2, a.sid, a.pid, []string{`42["after",1,"` + o1 + `"]`})
	rh.next()
}

// Recovery works many times in a row, each time from the last offset.
func TestRecoveryRepeated(t *testing.T) {
	rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
	c, a := rh.connectWith("")
	s := rh.next()
	_ = s.Emit("start")
	last := rh.offset("/")
	expectEvent(t, c, `42["start","`+last+`"]`)
	for round := 1; round <= 5; round++ {
		rh.drop(c, s)
		_ = rh.srv.Emit("away", round)
		o := rh.offset("/")
		var a2 connectAnswer
		c, a2 = rh.connectWith(recoverAuth(a.pid, last))
		wantRecovered(t, a2, a.sid, a.pid, []string{`42["away",` + itoa(uint64(round)) + `,"` + o + `"]`})
		s = rh.next()
		if !s.Recovered() || s.ID() != a.sid {
			t.Fatalf("round %d: Recovered %v ID %q, want true %q", round, s.Recovered(), s.ID(), a.sid)
		}
		last = o
	}
}

// --- which packets a session missed ---------------------------------------------

// The packets replayed are those whose rooms and exceptions selected the
// socket (Node's shouldIncludePacket): rooms of the session, its own id
// included; no volatile packet, no packet with an acknowledgement, no
// packet of another namespace.
func TestRecoveryIncludeRules(t *testing.T) {
	rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
	c, a := rh.connectWith("")
	s := rh.next()
	s.Join("a", "b")
	other, _ := rh.connectWith("") // a second socket, never read
	_ = other
	s2 := rh.next()
	_ = s.Emit("init")
	o0 := rh.offset("/")
	expectEvent(t, c, `42["init","`+o0+`"]`)
	rh.drop(c, s)

	n := rh.srv.Of("/")
	var want []string
	emit := func(included bool, name string, do func(ev string) error) {
		t.Helper()
		if err := do(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if included {
			want = append(want, `42["`+name+`","`+rh.offset("/")+`"]`)
		}
	}
	emit(true, "all", func(ev string) error { return n.Emit(ev) })
	emit(true, "to-a", func(ev string) error { return n.To("a").Emit(ev) })
	emit(false, "to-c", func(ev string) error { return n.To("c").Emit(ev) })
	emit(true, "to-a-c", func(ev string) error { return n.To("c", "a").Emit(ev) })
	emit(false, "except-b", func(ev string) error { return n.Except("b").Emit(ev) })
	emit(false, "to-a-except-b", func(ev string) error { return n.To("a").Except("b").Emit(ev) })
	emit(true, "except-c", func(ev string) error { return n.Except("c").Emit(ev) })
	emit(true, "to-a-except-c", func(ev string) error { return n.To("a").Except("c").Emit(ev) })
	emit(true, "to-self", func(ev string) error { return n.To(a.sid).Emit(ev) })
	emit(false, "except-self", func(ev string) error { return n.Except(a.sid).Emit(ev) })
	emit(true, "from-other", func(ev string) error { return s2.Broadcast().Emit(ev) })
	emit(true, "other-to-b", func(ev string) error { return s2.To("b").Emit(ev) })
	emit(false, "to-other-only", func(ev string) error { return s2.Emit(ev) })
	emit(false, "volatile-all", func(ev string) error { return n.Volatile().Emit(ev) })
	emit(false, "other-namespace", func(ev string) error { return rh.srv.Of("/other").Emit(ev) })
	emit(false, "with-ack", func(ev string) error {
		_, err := n.Timeout(50*time.Millisecond).EmitWithAck(context.Background(), ev) // the other socket never answers
		if errors.Is(err, socketio.ErrTimeout) {
			err = nil
		}
		return err
	})

	_, a2 := rh.connectWith(recoverAuth(a.pid, o0))
	wantRecovered(t, a2, a.sid, a.pid, want)
	s3 := rh.next()
	if got := s3.Rooms(); !slices.Equal(got, []string{a.sid, "a", "b"}) {
		t.Errorf("rooms %q, want [%s a b]", got, a.sid)
	}
}

// MaxPackets bounds the packets kept: with 3, a client whose offset is the
// oldest of 3 kept packets recovers; once 3 newer packets were stored its
// offset is gone and it gets a new session.
func TestRecoveryMaxPackets(t *testing.T) {
	rh := startRecoveryServer(t, &socketio.RecoveryOptions{MaxPackets: 3}, nil)
	c, a := rh.connectWith("")
	s := rh.next()
	_ = s.Emit("e", 1)
	o1 := rh.offset("/")
	expectEvent(t, c, `42["e",1,"`+o1+`"]`)
	rh.drop(c, s)
	_ = rh.srv.Emit("e", 2)
	o2 := rh.offset("/")
	_ = rh.srv.Emit("e", 3)
	o3 := rh.offset("/") // kept: e1 e2 e3
	c, a2 := rh.connectWith(recoverAuth(a.pid, o1))
	wantRecovered(t, a2, a.sid, a.pid, []string{`42["e",2,"` + o2 + `"]`, `42["e",3,"` + o3 + `"]`})
	s = rh.next()

	rh.drop(c, s)
	for i := 4; i <= 6; i++ {
		_ = rh.srv.Emit("e", i) // kept: e4 e5 e6; e3, the client's offset, is gone
	}
	_, a3 := rh.connectWith(recoverAuth(a.pid, o3))
	wantNotRecovered(t, a3, a.sid, a.pid)
	if s := rh.next(); s.Recovered() {
		t.Errorf("Recovered() = true for an offset past MaxPackets")
	}
}

// --- when there is nothing to recover -------------------------------------------

// No recovery after a disconnection the client or the server asked for, an
// expired session, an unknown pid or offset; a pid without offset is not
// recovered unless RecoverWithoutOffset, and then nothing it missed is
// lost.
func TestRecoveryRefused(t *testing.T) {
	// setup: a connected socket that received one event.
	setup := func(t *testing.T, rh *recoveryHarness) (*sioClient, *socketio.Socket, connectAnswer, string) {
		c, a := rh.connectWith("")
		s := rh.next()
		_ = s.Emit("e1")
		o := rh.offset("/")
		expectEvent(t, c, `42["e1","`+o+`"]`)
		return c, s, a, o
	}
	t.Run("client disconnect", func(t *testing.T) {
		rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
		c, s, a, o := setup(t, rh)
		c.SendText("41")
		rh.gone(s)
		_, a2 := rh.connectWith(recoverAuth(a.pid, o))
		wantNotRecovered(t, a2, a.sid, a.pid)
		rh.next()
	})
	t.Run("server disconnect", func(t *testing.T) {
		rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
		c, s, a, o := setup(t, rh)
		s.Disconnect(false)
		expectEvent(t, c, "41")
		rh.gone(s)
		_, a2 := rh.connectWith(recoverAuth(a.pid, o))
		wantNotRecovered(t, a2, a.sid, a.pid)
		rh.next()
	})
	t.Run("expired", func(t *testing.T) {
		rh := startRecoveryServer(t, &socketio.RecoveryOptions{MaxDisconnectionDuration: 300 * time.Millisecond}, nil)
		c, s, a, o := setup(t, rh)
		rh.drop(c, s)
		time.Sleep(600 * time.Millisecond)
		_, a2 := rh.connectWith(recoverAuth(a.pid, o))
		wantNotRecovered(t, a2, a.sid, a.pid)
		rh.next()
	})
	t.Run("within duration", func(t *testing.T) {
		rh := startRecoveryServer(t, &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Second}, nil)
		c, s, a, o := setup(t, rh)
		rh.drop(c, s)
		time.Sleep(600 * time.Millisecond)
		_, a2 := rh.connectWith(recoverAuth(a.pid, o))
		wantRecovered(t, a2, a.sid, a.pid, nil)
		rh.next()
	})
	t.Run("unknown pid", func(t *testing.T) {
		rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
		c, s, a, o := setup(t, rh)
		rh.drop(c, s)
		_, a2 := rh.connectWith(recoverAuth("AAAAAAAAAAAAAAAAAAAA", o))
		wantNotRecovered(t, a2, a.sid, a.pid)
		rh.next()
	})
	t.Run("unknown offset", func(t *testing.T) {
		rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, nil)
		c, s, a, _ := setup(t, rh)
		rh.drop(c, s)
		_, a2 := rh.connectWith(recoverAuth(a.pid, "not-an-offset"))
		wantNotRecovered(t, a2, a.sid, a.pid)
		rh.next()
	})
	// socket.io#5538: a client that received no event has no offset.
	noOffset := func(t *testing.T, without bool) {
		rh := startRecoveryServer(t, &socketio.RecoveryOptions{RecoverWithoutOffset: without}, nil)
		c, a := rh.connectWith("")
		s := rh.next()
		s.Join("r1")
		rh.drop(c, s)
		_ = rh.srv.Emit("e4", "all")
		o4 := rh.offset("/")
		_ = rh.srv.To("r1").Emit("e5", "r1")
		o5 := rh.offset("/")
		_ = rh.srv.To("r2").Emit("e6", "r2")
		_, a2 := rh.connectWith(recoverAuth(a.pid, ""))
		s2 := rh.next()
		if !without {
			wantNotRecovered(t, a2, a.sid, a.pid)
			if s2.Recovered() {
				t.Errorf("Recovered() = true without offset")
			}
			return
		}
		wantRecovered(t, a2, a.sid, a.pid, []string{`42["e4","all","` + o4 + `"]`, `42["e5","r1","` + o5 + `"]`})
		if !s2.Recovered() || !slices.Equal(s2.Rooms(), []string{a.sid, "r1"}) {
			t.Errorf("Recovered %v rooms %q, want true [%s r1]", s2.Recovered(), s2.Rooms(), a.sid)
		}
	}
	t.Run("no offset", func(t *testing.T) { noOffset(t, false) })
	t.Run("no offset RecoverWithoutOffset", func(t *testing.T) { noOffset(t, true) })
	// Packets stored before the socket connected are not replayed to it.
	t.Run("no offset RecoverWithoutOffset earlier packets", func(t *testing.T) {
		rh := startRecoveryServer(t, &socketio.RecoveryOptions{RecoverWithoutOffset: true}, nil)
		_ = rh.srv.Emit("before")
		c, a := rh.connectWith("")
		s := rh.next()
		rh.drop(c, s)
		_ = rh.srv.Emit("after")
		o := rh.offset("/")
		_, a2 := rh.connectWith(recoverAuth(a.pid, ""))
		wantRecovered(t, a2, a.sid, a.pid, []string{`42["after","` + o + `"]`})
		rh.next()
	})
}

// --- middlewares -------------------------------------------------------------------

// SkipMiddlewares (default true) does not run the middlewares for a
// recovered socket; false runs them, and they see the recovered socket
// (its id, Recovered() true). The connection handlers run every time.
func TestRecoveryMiddlewares(t *testing.T) {
	for _, tc := range []struct {
		name string
		skip *bool
		runs int // middleware runs after connect + recovery
	}{
		{"default", nil, 1},
		{"true", ptr(true), 1},
		{"false", ptr(false), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type run struct {
				id        string
				recovered bool
			}
			var mu sync.Mutex
			var runs []run
			rh := startRecoveryServer(t, &socketio.RecoveryOptions{SkipMiddlewares: tc.skip}, func(srv *socketio.Server) {
				srv.Use(func(s *socketio.Socket) error {
					mu.Lock()
					runs = append(runs, run{s.ID(), s.Recovered()})
					mu.Unlock()
					return nil
				})
			})
			c, a := rh.connectWith("")
			s := rh.next()
			_ = s.Emit("e")
			o := rh.offset("/")
			expectEvent(t, c, `42["e","`+o+`"]`)
			rh.drop(c, s)
			_, a2 := rh.connectWith(recoverAuth(a.pid, o))
			wantRecovered(t, a2, a.sid, a.pid, nil)
			if s2 := rh.next(); !s2.Recovered() {
				t.Fatalf("connection handler: Recovered() false")
			}
			mu.Lock()
			defer mu.Unlock()
			want := []run{{a.sid, false}, {a.sid, true}}[:tc.runs]
			if !slices.Equal(runs, want) {
				t.Errorf("middleware runs %+v, want %+v", runs, want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// --- the old socket's late cleanup --------------------------------------------------

// The disconnecting handlers of the dropped socket may still run when its
// client is back: the recovered socket keeps its rooms all the same (in
// Node the old socket leaves its rooms synchronously, before any
// reconnection can be handled).
func TestRecoveryRoomsSurviveSlowDisconnectHandler(t *testing.T) {
	release := make(chan struct{})
	rh := startRecoveryServer(t, &socketio.RecoveryOptions{}, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			if !s.Recovered() {
				s.OnDisconnecting(func(string) { <-release })
			}
		})
	})
	c, a := rh.connectWith("")
	s := rh.next()
	s.Join("r1")
	_ = s.Emit("e")
	o := rh.offset("/")
	expectEvent(t, c, `42["e","`+o+`"]`)
	rh.drop(c, s) // its disconnecting handler now waits
	c2, a2 := rh.connectWith(recoverAuth(a.pid, o))
	wantRecovered(t, a2, a.sid, a.pid, nil)
	s2 := rh.next()
	close(release)
	time.Sleep(200 * time.Millisecond) // the old socket's cleanup ran by now
	if got := s2.Rooms(); !slices.Equal(got, []string{a.sid, "r1"}) {
		t.Fatalf("rooms of the recovered socket once the old one finished: %q, want [%s r1]", got, a.sid)
	}
	_ = rh.srv.To("r1").Emit("to-r1")
	o2 := rh.offset("/")
	expectEvent(t, c2, `42["to-r1","`+o2+`"]`)
}
