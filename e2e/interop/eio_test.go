package interop

import (
	"context"
	"encoding/hex"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/engineio/packet"
)

// Interop of our Engine.IO server with the official engine.io-client (the
// version pinned in e2e/node/package.json), driven by the scripts in
// e2e/node/eio. Every scenario runs in three transport modes.

const (
	eioPingInterval = 300 * time.Millisecond
	eioPingTimeout  = 200 * time.Millisecond
	// eioCloseMargin is how late past pingInterval+pingTimeout the server
	// may close a session whose client stopped answering pings. It is kept
	// under one ping interval so a server that waits for a second ping is
	// caught.
	eioCloseMargin = 250 * time.Millisecond
	nodeTimeout    = 20 * time.Second // the scripts stop themselves after ~8 s
)

type eioMode struct {
	name     string   // argument of the scripts
	open     string   // transport of the client's open event
	final    string   // transport at the end, on both sides
	upgrades []string // "upgrades" of the handshake
}

var eioModes = []eioMode{
	{name: "polling", open: "polling", final: "polling", upgrades: []string{"websocket"}},
	{name: "websocket", open: "websocket", final: "websocket", upgrades: []string{}},
	{name: "upgrade", open: "polling", final: "websocket", upgrades: []string{"websocket"}},
}

// eioLine is one JSON line printed by a script of e2e/node/eio (see lib.mjs).
type eioLine struct {
	Event string `json:"event"`

	Transport string `json:"transport"` // open, upgrade, message, ping, close

	// handshake
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`

	// message: Kind "text" with Data the string, or "binary" with Data the
	// hex of the bytes and Class the JavaScript type they arrived as.
	Kind  string `json:"kind"`
	Data  string `json:"data"`
	Class string `json:"class"`

	// close
	Reason      string `json:"reason"`
	Description string `json:"description"`
	CloseCode   int    `json:"closeCode"`

	// transport check
	Client string `json:"client"`
	Server string `json:"server"`

	Message string `json:"message"` // error, upgradeError, fail
	Pings   int    `json:"pings"`
	Dropped int    `json:"dropped"`
}

// eioMsg is a message as the client saw it.
type eioMsg struct{ Kind, Data string }

func text(s string) eioMsg   { return eioMsg{"text", s} }
func binary(b []byte) eioMsg { return eioMsg{"binary", hex.EncodeToString(b)} }
func (m eioMsg) String() string {
	if len(m.Data) > 40 {
		return m.Kind + " " + strconv.Quote(m.Data[:40]) + "…(" + strconv.Itoa(len(m.Data)) + ")"
	}
	return m.Kind + " " + strconv.Quote(m.Data)
}

// eioSession records what the server saw of one session.
type eioSession struct {
	s           *engineio.Session
	connectedAt time.Time

	closed     chan struct{}
	reason     string
	cause      error
	closedAt   time.Time
	transport  string // Session.Transport() when OnClose ran
	sendErrors []error
}

// eioServer is our Engine.IO server under httptest with a handler that
//   - answers "transport?" with "transport:" + Session.Transport(),
//   - answers "close-me" with "bye" and then Session.Close(),
//   - echoes every other message with Send(data, binary),
//   - when welcome is set, sends "welcome" and binary 09 08 07 from OnConnection.
type eioServer struct {
	srv *engineio.Server
	ts  *httptest.Server

	mu       sync.Mutex
	sessions []*eioSession
	upgrades []string
	pongsIn  atomic.Int32
}

func startEIOServer(t *testing.T, welcome bool) *eioServer {
	t.Helper()
	es := &eioServer{}
	handler := engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		rec := &eioSession{s: s, connectedAt: time.Now(), closed: make(chan struct{})}
		send := func(data []byte, bin bool) {
			if err := s.Send(data, bin); err != nil {
				es.mu.Lock()
				rec.sendErrors = append(rec.sendErrors, err)
				es.mu.Unlock()
			}
		}
		es.mu.Lock()
		es.sessions = append(es.sessions, rec)
		es.mu.Unlock()
		if welcome {
			send([]byte("welcome"), false)
			send([]byte{9, 8, 7}, true)
		}
		return engineio.SessionFuncs{
			Message: func(data []byte, bin bool) {
				switch {
				case !bin && string(data) == "transport?":
					send([]byte("transport:"+s.Transport()), false)
				case !bin && string(data) == "close-me":
					send([]byte("bye"), false)
					if err := s.Close(); err != nil {
						es.mu.Lock()
						rec.sendErrors = append(rec.sendErrors, err)
						es.mu.Unlock()
					}
				default:
					send(data, bin)
				}
			},
			Close: func(reason string, cause error) {
				es.mu.Lock()
				rec.reason, rec.cause, rec.closedAt, rec.transport = reason, cause, time.Now(), s.Transport()
				es.mu.Unlock()
				close(rec.closed)
			},
		}
	})
	es.srv = engineio.NewServer(handler, &engineio.ServerOptions{
		PingInterval: eioPingInterval,
		PingTimeout:  eioPingTimeout,
		Hooks: engineio.Hooks{
			Upgrade: func(_ *engineio.Session, transport string) {
				es.mu.Lock()
				es.upgrades = append(es.upgrades, transport)
				es.mu.Unlock()
			},
			PacketIn: func(_ *engineio.Session, typ engineio.PacketType, _ int) {
				if typ == packet.Pong {
					es.pongsIn.Add(1)
				}
			},
		},
	})
	es.ts = httptest.NewServer(es.srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := es.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		es.ts.Close()
		if n := es.srv.ClientsCount(); n != 0 {
			t.Errorf("ClientsCount after Shutdown = %d, want 0", n)
		}
	})
	return es
}

// only returns the single session of the test, waiting up to 5 s for the
// server to report its close.
func (es *eioServer) only(t *testing.T) *eioSession {
	t.Helper()
	es.mu.Lock()
	n := len(es.sessions)
	es.mu.Unlock()
	if n != 1 {
		t.Fatalf("server saw %d sessions, want 1", n)
	}
	rec := es.sessions[0]
	select {
	case <-rec.closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("server: no OnClose within 5s after the client script ended (session %s, transport %s)",
			rec.s.ID(), rec.s.Transport())
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	return rec
}

// eioResult is a finished scenario: the client's observations and the
// server's record of the one session.
type eioResult struct {
	run   *nodeRun
	lines []eioLine
	sess  *eioSession
	es    *eioServer
}

// runEIO runs one scenario script in one mode and checks what every
// scenario shares: the script succeeded, the handshake and open carry exact
// values, the upgrade happened exactly when the mode asks for it on both
// sides, no error was reported, and the server saw one session that closed
// with wantReason while on the mode's final transport.
func runEIO(t *testing.T, m eioMode, script string, welcome bool, wantReason string) *eioResult {
	t.Helper()
	env := requireNode(t, "engine.io-client")
	es := startEIOServer(t, welcome)
	r := env.run(t, nodeTimeout, "eio/"+script, es.ts.URL, m.name)
	r.requireDone(t) // shows the script's output when it fails
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client script output:\n%s", r)
		}
	})
	lines := decodeLines[eioLine](t, r)
	sess := es.only(t)
	res := &eioResult{run: r, lines: lines, sess: sess, es: es}

	// handshake
	hs := res.events("handshake")
	if len(hs) != 1 {
		t.Fatalf("client saw %d handshakes, want 1", len(hs))
	}
	h := hs[0]
	if h.SID != sess.s.ID() || len(h.SID) != 20 {
		t.Errorf("handshake sid = %q, want the session id %q (20 characters)", h.SID, sess.s.ID())
	}
	if !slices.Equal(h.Upgrades, m.upgrades) || h.Upgrades == nil {
		t.Errorf("handshake upgrades = %q, want %q", h.Upgrades, m.upgrades)
	}
	if h.PingInterval != 300 || h.PingTimeout != 200 || h.MaxPayload != 1000000 {
		t.Errorf("handshake pingInterval/pingTimeout/maxPayload = %d/%d/%d, want 300/200/1000000",
			h.PingInterval, h.PingTimeout, h.MaxPayload)
	}

	// open and upgrade, client and server side
	if opens := res.events("open"); len(opens) != 1 || opens[0].Transport != m.open {
		t.Errorf("client open events = %+v, want one on %q", opens, m.open)
	}
	var clientUpgrades []string
	for _, u := range res.events("upgrade") {
		clientUpgrades = append(clientUpgrades, u.Transport)
	}
	es.mu.Lock()
	serverUpgrades := slices.Clone(es.upgrades)
	es.mu.Unlock()
	var wantUpgrades []string
	if m.open != m.final {
		wantUpgrades = []string{m.final}
	}
	if !slices.Equal(clientUpgrades, wantUpgrades) {
		t.Errorf("client upgrades = %q, want %q", clientUpgrades, wantUpgrades)
	}
	if !slices.Equal(serverUpgrades, wantUpgrades) {
		t.Errorf("server Hooks.Upgrade calls = %q, want %q", serverUpgrades, wantUpgrades)
	}
	for _, ev := range []string{"error", "upgradeError", "fail"} {
		if bad := res.events(ev); len(bad) != 0 {
			t.Errorf("client reported %q: %+v", ev, bad)
		}
	}

	// close, server side
	if sess.reason != wantReason {
		t.Errorf("server OnClose reason = %q (cause %v), want %q", sess.reason, sess.cause, wantReason)
	}
	if sess.transport != m.final {
		t.Errorf("server Session.Transport() at close = %q, want %q", sess.transport, m.final)
	}
	if len(sess.sendErrors) != 0 {
		t.Errorf("server Send/Close errors: %v", sess.sendErrors)
	}
	return res
}

func (res *eioResult) events(name string) []eioLine {
	var out []eioLine
	for _, l := range res.lines {
		if l.Event == name {
			out = append(out, l)
		}
	}
	return out
}

// messages returns the messages the client received, in order.
func (res *eioResult) messages() []eioMsg {
	var out []eioMsg
	for _, l := range res.events("message") {
		out = append(out, eioMsg{l.Kind, l.Data})
	}
	return out
}

// checkMessages compares the received messages with want, exactly, and
// checks that binary ones arrived as Node Buffers.
func (res *eioResult) checkMessages(t *testing.T, want []eioMsg) {
	t.Helper()
	got := res.messages()
	if !slices.Equal(got, want) {
		n := min(len(got), len(want))
		i := 0
		for i < n && got[i] == want[i] {
			i++
		}
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i].String()
		}
		t.Errorf("client received %d messages, want %d; first difference at #%d: got %s, want %s",
			len(got), len(want), i, g, w)
	}
	for _, l := range res.events("message") {
		if l.Kind == "binary" && l.Class != "Buffer" {
			t.Errorf("binary message %s arrived as %s, want Buffer", l.Data, l.Class)
		}
	}
}

// checkClientClose checks the reason (and description) of the client's
// close event.
func (res *eioResult) checkClientClose(t *testing.T, m eioMode, reason, description string) {
	t.Helper()
	cl := res.events("close")
	if len(cl) != 1 {
		t.Fatalf("client close events = %+v, want 1", cl)
	}
	if cl[0].Reason != reason || cl[0].Description != description || cl[0].Transport != m.final {
		t.Errorf("client close = reason %q description %q on %q, want reason %q description %q on %q",
			cl[0].Reason, cl[0].Description, cl[0].Transport, reason, description, m.final)
	}
}

// serverClosedDescription is how engine.io-client describes a close the
// server initiated: a close packet over polling, a closed socket over
// websocket (as with the Node.js server).
func serverClosedDescription(m eioMode) string {
	if m.final == "polling" {
		return "transport closed by the server"
	}
	return "websocket connection closed"
}

func forEachMode(t *testing.T, f func(t *testing.T, m eioMode)) {
	for _, m := range eioModes {
		t.Run(m.name, func(t *testing.T) { f(t, m) })
	}
}

// a) Echo: 100 ordered messages, then text, UTF-8, binary and large
// messages come back exactly; the client then closes.
func TestEIOClientEcho(t *testing.T) {
	forEachMode(t, func(t *testing.T, m eioMode) {
		res := runEIO(t, m, "echo.mjs", false, engineio.ReasonTransportClose)
		var want []eioMsg
		for i := range 100 {
			want = append(want, text("seq:"+strconv.Itoa(i)))
		}
		big := make([]byte, 2048)
		for i := range big {
			big[i] = byte(i)
		}
		want = append(want,
			text("transport:"+m.final),
			text("hello"),
			text("€😀"),
			binary([]byte{1, 2, 3, 4}),
			binary([]byte{0, 255, 128, 10}),
			text(strings.Repeat("€", 1000)),
			binary(big),
		)
		res.checkMessages(t, want)
		res.checkClientClose(t, m, "forced close", "")
		if m.open != m.final {
			seen := 0
			for _, l := range res.lines {
				if l.Event == "upgrade" {
					t.Logf("client upgraded after receiving %d of the 100 ordered echoes", seen)
					break
				}
				if l.Event == "message" {
					seen++
				}
			}
		}
	})
}

// b) Server-initiated close: "bye" queued before Session.Close() arrives,
// then the client's close event; the server reports "forced close".
func TestEIOServerClose(t *testing.T) {
	forEachMode(t, func(t *testing.T, m eioMode) {
		res := runEIO(t, m, "server-close.mjs", false, engineio.ReasonForcedClose)
		res.checkMessages(t, []eioMsg{text("transport:" + m.final), text("bye")})
		res.checkClientClose(t, m, "transport close", serverClosedDescription(m))
	})
}

// c) Client-initiated close: socket.close() ends the session on the server
// with "transport close".
func TestEIOClientClose(t *testing.T) {
	forEachMode(t, func(t *testing.T, m eioMode) {
		res := runEIO(t, m, "client-close.mjs", false, engineio.ReasonTransportClose)
		res.checkMessages(t, []eioMsg{text("transport:" + m.final), text("hi")})
		res.checkClientClose(t, m, "forced close", "")
	})
}

// d) Ping timeout: a client that never sends a pong is closed by the server
// with "ping timeout" right after pingInterval+pingTimeout, after exactly one
// ping; the client sees the server close its transport.
func TestEIOPingTimeout(t *testing.T) {
	forEachMode(t, func(t *testing.T, m eioMode) {
		res := runEIO(t, m, "ping-timeout.mjs", false, engineio.ReasonPingTimeout)
		res.checkMessages(t, nil)
		res.checkClientClose(t, m, "transport close", serverClosedDescription(m))
		to := res.events("timed-out")
		if len(to) != 1 || to[0].Pings != 1 || to[0].Dropped != 1 {
			t.Errorf("client timed-out report = %+v, want exactly 1 ping received and 1 pong dropped", to)
		}
		if n := res.es.pongsIn.Load(); n != 0 {
			t.Errorf("server received %d pong packets, want 0", n)
		}
		lo := eioPingInterval + eioPingTimeout
		hi := lo + eioCloseMargin
		d := res.sess.closedAt.Sub(res.sess.connectedAt)
		if d < lo-20*time.Millisecond || d > hi {
			t.Errorf("server closed the session %v after OnConnection, want within [%v, %v]", d, lo, hi)
		}
		t.Logf("server closed the silent session %v after OnConnection", d.Round(time.Millisecond))
	})
}

// e) Messages sent from OnConnection reach the client first, before the
// echo of a message the client sends right on open.
func TestEIOConnectionMessage(t *testing.T) {
	forEachMode(t, func(t *testing.T, m eioMode) {
		res := runEIO(t, m, "welcome.mjs", true, engineio.ReasonTransportClose)
		res.checkMessages(t, []eioMsg{
			text("welcome"),
			binary([]byte{9, 8, 7}),
			text("after-open"),
			text("transport:" + m.final),
		})
		res.checkClientClose(t, m, "forced close", "")
	})
}

// Heartbeat: a client that answers pings survives several ping intervals.
func TestEIOHeartbeat(t *testing.T) {
	forEachMode(t, func(t *testing.T, m eioMode) {
		res := runEIO(t, m, "heartbeat.mjs", false, engineio.ReasonTransportClose)
		res.checkMessages(t, []eioMsg{text("transport:" + m.final), text("still-here")})
		res.checkClientClose(t, m, "forced close", "")
		if s := res.events("survived"); len(s) != 1 || s[0].Pings < 3 {
			t.Errorf("client survived report = %+v, want 3 pings or more", s)
		}
		if n := res.es.pongsIn.Load(); n < 3 {
			t.Errorf("server received %d pong packets, want 3 or more", n)
		}
	})
}
