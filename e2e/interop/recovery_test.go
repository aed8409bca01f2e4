package interop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	socketio "github.com/go-sio/socketio"
)

// Connection state recovery of our server, end to end: the official
// socket.io-client (e2e/node/sio/recovery.mjs) here, our Go client in
// recovery_go_test.go. Both talk to the same server behaviours
// (recServer), in the three transport modes:
//
//   - setup: the socket joins "r1", gets data {"user":"u1"}, and receives
//     e1 (socket.Emit), e2 (io.Emit) and e3 (io.To("r1")); "x" goes to
//     "r2", a room it is not in.
//   - arm <round>: new handshakes wait (AllowRequest) until, once the socket
//     has disconnected, the server broadcast e4 <round> "all" (io.Emit), e5
//     <round> "r1" (io.To("r1")) and e6 <round> "r2" (io.To("r2")). So the
//     client can only come back after them, whatever its reconnection
//     delay: no timing in the expectations.
//   - the transport drops: "kill" (s.Conn().Close() on the server), or the
//     client's engine (or transport) closed abruptly.
//   - the client comes back: recovered, same id, rooms and data kept, and
//     exactly e4 and e5 of the round, in order, each with the offset the
//     adapter gave it as last argument (as Node's SessionAwareAdapter).
//
// The offsets are not guessed: the server reads Adapter().Offset() after
// each emit (one client per server, so nothing else moves it).

const (
	recDelay         = 100 * time.Millisecond // reconnection delay of the clients
	recStalePingTime = 1500 * time.Millisecond
	// recStaleWait bounds the wait for the stale session to close: a polling
	// session closed by the server waits up to 30s for the GET that would
	// carry its close packet (engineio closeTimeout, as Node).
	recStaleWait = 40 * time.Second
)

// recGate holds the handshakes of new sessions while closed.
type recGate struct {
	mu sync.Mutex
	ch chan struct{} // nil: open
}

func (g *recGate) close() {
	g.mu.Lock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
	g.mu.Unlock()
}

func (g *recGate) open() {
	g.mu.Lock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
	g.mu.Unlock()
}

// wait is the server's AllowRequest: it returns once the gate is open, or
// refuses the handshake after sioWait.
func (g *recGate) wait(*http.Request) error {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-time.After(sioWait):
		return errors.New("recovery test: the gate stayed closed")
	}
}

// recServer is our server with connection state recovery and the
// behaviours above; with a proxy, the clients reach it through a
// stallProxy (scenario 6).
type recServer struct {
	*sioServer
	gate  *recGate
	proxy *stallProxy // nil unless asked for

	mu          sync.Mutex
	offsets     map[string]string // "e1", "x", "v", "e4#2", "late", ... -> offset
	staleEngine string            // the Engine.IO session made silent by "stall"
}

type recServerOptions struct {
	Recovery    socketio.RecoveryOptions
	PingTimeout time.Duration // default sioPingTimeout
	Proxy       bool
}

func startRecServer(t *testing.T, o recServerOptions) *recServer {
	t.Helper()
	rs := &recServer{gate: &recGate{}, offsets: map[string]string{}}
	ro := o.Recovery
	opts := &socketio.ServerOptions{ConnectionStateRecovery: &ro}
	opts.PingTimeout = o.PingTimeout
	opts.AllowRequest = rs.gate.wait
	rs.sioServer = startSIOServer(t, opts)
	if o.Proxy {
		rs.proxy = startStallProxy(t, rs.ts.Listener.Addr().String())
	}
	rs.handle(rs.srv.Of("/"), rs.behaviours) // after rs.proxy is set
	t.Cleanup(rs.gate.open)                  // no handshake left waiting
	return rs
}

// URL is where the clients connect: the proxy when there is one.
func (rs *recServer) URL() string {
	if rs.proxy != nil {
		return "http://" + rs.proxy.addr()
	}
	return rs.ts.URL
}

// mark records the namespace's current offset as that of the event key.
func (rs *recServer) mark(key string) {
	o := rs.srv.Of("/").Adapter().Offset()
	rs.mu.Lock()
	rs.offsets[key] = o
	rs.mu.Unlock()
}

// offset returns the offset marked for key, failing the test when there
// is none.
func (rs *recServer) offset(t *testing.T, key string) string {
	t.Helper()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	o, ok := rs.offsets[key]
	if !ok || o == "" {
		t.Fatalf("no offset recorded for %q (recorded: %v)", key, rs.offsets)
	}
	return o
}

// away broadcasts e4, e5 and e6 of round.
func (rs *recServer) away(round int) {
	k := "#" + strconv.Itoa(round)
	_ = rs.srv.Emit("e4", round, "all")
	rs.mark("e4" + k)
	_ = rs.srv.To("r1").Emit("e5", round, "r1")
	rs.mark("e5" + k)
	_ = rs.srv.To("r2").Emit("e6", round, "r2")
	rs.mark("e6" + k)
}

// recState is the answer to "state?".
type recState struct {
	ID        string         `json:"id"`
	Recovered bool           `json:"recovered"`
	Rooms     []string       `json:"rooms"`
	Data      map[string]any `json:"data"`
	Connected bool           `json:"connected"`
	Sockets   int            `json:"sockets"` // of "/"
	Engines   int            `json:"engines"` // Engine.IO sessions of the server
}

func (rs *recServer) behaviours(s *socketio.Socket) {
	srv := rs.srv
	rs.log.add(sioRec{Kind: "recovered", ID: s.ID(), Text: strconv.FormatBool(s.Recovered())})
	ok := func(e *socketio.Event) { _ = e.Ack().Send("ok") }
	s.On("setup", func(e *socketio.Event) {
		s.Join("r1")
		s.SetData(map[string]any{"user": "u1"})
		_ = s.Emit("e1", 1)
		rs.mark("e1")
		_ = srv.Emit("e2", "two")
		rs.mark("e2")
		_ = srv.To("r1").Emit("e3", map[string]any{"n": 3})
		rs.mark("e3")
		_ = srv.To("r2").Emit("x", "r2 only")
		rs.mark("x")
		ok(e)
	})
	s.On("join", func(e *socketio.Event) { // setup without events
		s.Join("r1")
		s.SetData(map[string]any{"user": "u1"})
		ok(e)
	})
	s.On("volatile", func(e *socketio.Event) {
		// A volatile packet is dropped while the transport cannot take it
		// (a polling client between two GETs): wait until it can.
		for deadline := time.Now().Add(time.Second); !s.Conn().Writable() && time.Now().Before(deadline); {
			time.Sleep(2 * time.Millisecond)
		}
		_ = s.Volatile().Emit("v", "some-string")
		rs.mark("v")
		ok(e)
	})
	s.On("arm", func(e *socketio.Event) {
		var round int
		_ = e.Bind(&round)
		rs.gate.close()
		s.OnDisconnect(func(string) {
			rs.away(round)
			rs.gate.open()
		})
		ok(e)
	})
	s.On("kill", func(*socketio.Event) { _ = s.Conn().Close() })
	s.On("kick", func(*socketio.Event) { s.Disconnect(false) })
	s.On("state?", func(e *socketio.Event) {
		_ = e.Ack().Send(rs.state(s))
	})
	s.On("emit-me", func(e *socketio.Event) {
		var name string
		_ = e.Bind(&name)
		_ = s.Emit(name, "live")
		rs.mark(name)
		ok(e)
	})
	// The transport goes silent at the proxy (see stallSession).
	s.On("stall", func(e *socketio.Event) {
		var how string
		var round int
		_ = e.Bind(&how, &round)
		rs.stallSession(s, how == "half", round)
	})
	// Answers once the stale Engine.IO session has closed on the server,
	// whatever the way, with its engine-close record.
	s.On("stale-closed?", func(e *socketio.Event) {
		ack := e.Ack()
		rs.mu.Lock()
		eid := rs.staleEngine
		rs.mu.Unlock()
		go func() {
			for deadline := time.Now().Add(recStaleWait); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				for _, r := range rs.log.get("engine-close") {
					if r.EngineID == eid {
						_ = ack.Send(r.Text)
						return
					}
				}
			}
			_ = ack.Send("still open")
		}()
	})
}

// stallSession makes the transport of s go silent at the proxy, without
// closing on the server's side (half: the client's side is reset), then
// broadcasts e4..e6 of round to the socket the server still believes
// connected; handshakes wait meanwhile.
func (rs *recServer) stallSession(s *socketio.Socket, half bool, round int) {
	rs.gate.close()
	rs.mu.Lock()
	rs.staleEngine = s.Conn().ID()
	rs.mu.Unlock()
	rs.proxy.stall(s.Conn().ID(), half)
	rs.log.add(sioRec{Kind: "stalled", ID: s.ID(), EngineID: s.Conn().ID(), Text: strconv.FormatBool(half)})
	rs.away(round)
	rs.gate.open()
}

func (rs *recServer) state(s *socketio.Socket) recState {
	d, _ := s.Data().(map[string]any)
	cur, _ := rs.srv.Of("/").Socket(s.ID())
	return recState{
		ID: s.ID(), Recovered: s.Recovered(), Rooms: s.Rooms(), Data: d,
		Connected: s.Connected() && cur == s,
		Sockets:   rs.srv.Of("/").SocketsCount(),
		Engines:   rs.srv.Engine().ClientsCount(),
	}
}

// --- what a client received -------------------------------------------------------

// recEvent is an event a client received: its name and arguments as
// compact JSON.
type recEvent struct {
	Name string
	Args string
}

func (e recEvent) String() string { return e.Name + e.Args }

// ev is the event name with args, then the offset marked for key (none
// when key is "").
func (rs *recServer) ev(t *testing.T, key, name string, args ...any) recEvent {
	t.Helper()
	if key != "" {
		args = append(args, rs.offset(t, key))
	}
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return recEvent{name, string(b)}
}

// setupEvents are e1, e2, e3 as setup sends them.
func (rs *recServer) setupEvents(t *testing.T) []recEvent {
	return []recEvent{
		rs.ev(t, "e1", "e1", 1),
		rs.ev(t, "e2", "e2", "two"),
		rs.ev(t, "e3", "e3", map[string]any{"n": 3}),
	}
}

// awayEvents are e4 and e5 of round: what a socket in "r1" missed.
func (rs *recServer) awayEvents(t *testing.T, round int) []recEvent {
	k := "#" + strconv.Itoa(round)
	return []recEvent{rs.ev(t, "e4"+k, "e4", round, "all"), rs.ev(t, "e5"+k, "e5", round, "r1")}
}

func compactJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("bad JSON %q: %v", raw, err)
	}
	return b.String()
}

// wantEvents fails the test unless got is want.
func wantEvents(t *testing.T, what string, got, want []recEvent) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: received\n  %v\nwant exactly\n  %v", what, got, want)
	}
}

// wantState checks a "state?" answer: the socket id, connected, its
// Recovered(); with setup, in "r1" with the data {"user":"u1"}, else in its
// own room only, without data.
func wantState(t *testing.T, what string, st recState, id string, recovered, setup bool) {
	t.Helper()
	if st.ID != id || st.Recovered != recovered || !st.Connected {
		t.Errorf("%s: server socket %q recovered %v connected %v, want %q %v true", what, st.ID, st.Recovered, st.Connected, id, recovered)
	}
	wantRooms := []string{id}
	var wantData map[string]any
	if setup {
		wantRooms = append(wantRooms, "r1")
		wantData = map[string]any{"user": "u1"}
	}
	if !slices.Equal(st.Rooms, wantRooms) {
		t.Errorf("%s: rooms %q, want %q", what, st.Rooms, wantRooms)
	}
	if fmt.Sprint(st.Data) != fmt.Sprint(wantData) {
		t.Errorf("%s: data %v, want %v", what, st.Data, wantData)
	}
}

// --- the Node.js scripts ---------------------------------------------------------

// recLine is a JSON line of recovery.mjs.
type recLine struct {
	Event     string          `json:"event"`
	Who       string          `json:"who"`
	ID        string          `json:"id"`
	Reason    string          `json:"reason"`
	Name      string          `json:"name"`
	Args      json.RawMessage `json:"args"`
	Count     int             `json:"count"` // round
	Client    string          `json:"client"`
	Server    string          `json:"server"`
	Recovered bool            `json:"recovered"`
	State     recState        `json:"state"`
	Message   string          `json:"message"`
}

// recRound is what the script saw in one round: the events received since
// the previous round, the disconnect reasons, and at its end the socket's
// id, recovered flag and the server's state of it.
type recRound struct {
	events      []recEvent
	disconnects []string
	report      *recLine
	transport   *recLine
}

// recRun is a finished script, by round (0: before the first drop).
type recRun struct {
	run    *nodeRun
	rounds map[int]*recRound
	order  []recLine
}

// runScript runs sio/recovery.mjs <url> <mode> <args...> and splits its
// lines by round: events and disconnects belong to the round whose report
// follows them.
func (rs *recServer) runScript(t *testing.T, m eioMode, args ...string) *recRun {
	t.Helper()
	env := requireNode(t, "socket.io-client")
	timeout := nodeTimeout
	if args[0] == "stale" {
		timeout = recStaleWait + 20*time.Second
	}
	r := env.run(t, timeout, "sio/recovery.mjs", append([]string{rs.URL(), m.name}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client script output:\n%s", r)
			rs.log.mu.Lock()
			for _, rec := range rs.log.recs {
				t.Logf("server %s %s %s %s", rec.Kind, rec.ID, rec.EngineID, rec.Text)
			}
			rs.log.mu.Unlock()
		}
	})
	r.requireDone(t)
	res := &recRun{run: r, rounds: map[int]*recRound{}, order: decodeLines[recLine](t, r)}
	cur := &recRound{}
	for _, l := range res.order {
		switch l.Event {
		case "recv":
			cur.events = append(cur.events, recEvent{l.Name, compactJSON(t, l.Args)})
		case "disconnect":
			cur.disconnects = append(cur.disconnects, l.Reason)
		case "report":
			l := l
			cur.report = &l
			res.rounds[l.Count] = cur
			cur = &recRound{}
		case "transport":
			l := l
			if rd := res.rounds[l.Count]; rd != nil {
				rd.transport = &l
			} else {
				t.Errorf("transport check of round %d before its report", l.Count)
			}
		}
	}
	if len(cur.events) > 0 {
		t.Errorf("events after the last report: %v", cur.events)
	}
	return res
}

// round returns round n, failing the test when the script did not report
// it; the transport check of the round must show final on both ends.
func (res *recRun) round(t *testing.T, n int, final string) *recRound {
	t.Helper()
	rd := res.rounds[n]
	if rd == nil || rd.report == nil {
		t.Fatalf("no report of round %d", n)
	}
	if tr := rd.transport; tr == nil || tr.Client != final || tr.Server != final {
		t.Errorf("round %d: transport %+v, want %q on both ends", n, tr, final)
	}
	return rd
}

// recovered checks that round n reconnected with the session of id:
// recovered on both ends, same id, and the server's state of it.
func (rd *recRound) recovered(t *testing.T, n int, id string) {
	t.Helper()
	r := rd.report
	if !r.Recovered || r.ID != id {
		t.Errorf("round %d: client socket.recovered %v id %q, want true %q", n, r.Recovered, r.ID, id)
	}
	wantState(t, fmt.Sprintf("round %d", n), r.State, id, true, true)
}

// notRecovered checks that round n reconnected with a new session.
func (rd *recRound) notRecovered(t *testing.T, n int, oldID string) {
	t.Helper()
	r := rd.report
	if r.Recovered || r.ID == oldID || r.ID == "" {
		t.Errorf("round %d: client socket.recovered %v id %q, want false and a new id (not %q)", n, r.Recovered, r.ID, oldID)
	}
	wantState(t, fmt.Sprintf("round %d", n), r.State, r.ID, false, false)
}

// connectAuths returns the auth of every CONNECT of socket id the server
// accepted, in order.
func (rs *recServer) connectAuths(id string) []map[string]any {
	var out []map[string]any
	for _, r := range rs.log.get("connect") {
		if r.ID == id {
			var a map[string]any
			_ = json.Unmarshal([]byte(r.Text), &a)
			out = append(out, a)
		}
	}
	return out
}

// wantRecoveringAuth checks that the server saw the CONNECT of a recovery
// with the pid of the first connection and the offset of offsetKey.
func (rs *recServer) wantRecoveringAuth(t *testing.T, auth map[string]any, pid any, offsetKey string) {
	t.Helper()
	want := map[string]any{"pid": pid}
	if offsetKey != "" {
		want["offset"] = rs.offset(t, offsetKey)
	}
	if p, _ := pid.(string); len(p) != 20 || fmt.Sprint(auth) != fmt.Sprint(want) {
		t.Errorf("auth of the recovering CONNECT %v, want %v (a pid of 20 characters)", auth, want)
	}
}

// disconnectReasons returns the server's disconnect reasons of socket id.
func (rs *recServer) disconnectReasons(id string) []string {
	var out []string
	for _, r := range rs.log.get("disconnect") {
		if r.ID == id {
			out = append(out, r.Text)
		}
	}
	return out
}

// drops are the ways the scripts drop the transport, with the disconnect
// reasons the client and the server see.
var recDrops = []struct {
	name           string
	client, server string
}{
	{"server", "transport close", "forced close"},       // s.Conn().Close()
	{"engine", "forced close", "transport close"},       // socket.io.engine.close()
	{"transport", "transport close", "transport close"}, // socket.io.engine.transport.close()
}

// --- 1. recovery after a drop ------------------------------------------------------

// 1. Events by socket.Emit, io.Emit and io.To(room); the transport drops
// (three ways); while away the server broadcasts to all, to a room of the
// socket and to another room: the client is recovered (same id, rooms,
// data) and receives exactly e4 and e5, with their offsets.
func TestRecoveryNodeClient(t *testing.T) {
	forEachSIOMode(t, func(t *testing.T, m eioMode) {
		for _, d := range recDrops {
			t.Run(d.name, func(t *testing.T) {
				t.Parallel()
				rs := startRecServer(t, recServerOptions{})
				res := rs.runScript(t, m, "basic", d.name)
				r0 := res.round(t, 0, m.final)
				id := r0.report.ID
				wantEvents(t, "before the drop", r0.events, rs.setupEvents(t))
				wantState(t, "before the drop", r0.report.State, id, false, true)
				r1 := res.round(t, 1, m.final)
				r1.recovered(t, 1, id)
				wantEvents(t, "after the recovery", r1.events, rs.awayEvents(t, 1))
				if !slices.Equal(r1.disconnects, []string{d.client}) {
					t.Errorf("client disconnects %q, want [%q]", r1.disconnects, d.client)
				}
				auths := rs.connectAuths(id)
				if len(auths) != 2 {
					t.Fatalf("server CONNECTs of %s: %v, want 2", id, auths)
				}
				rs.wantRecoveringAuth(t, auths[1], auths[1]["pid"], "e3")
				if got := rs.disconnectReasons(id); !slices.Equal(got, []string{d.server, "client namespace disconnect"}) {
					t.Errorf("server disconnects of %s: %q, want [%q \"client namespace disconnect\"]", id, got, d.server)
				}
				if got := texts(rs.log.get("recovered")); !slices.Equal(got, []string{"false", "true"}) {
					t.Errorf("server Recovered() in the connection handlers: %q, want [false true]", got)
				}
			})
		}
	})
}

// --- 2. many times in a row ------------------------------------------------------------

// recCycle is the order in which the "many" script changes transports:
// round r reconnects with recCycle[(index of the mode + r) % 3].
var recCycle = []string{"websocket", "polling", "upgrade"}

func recModeAt(t *testing.T, m eioMode, round int) eioMode {
	i := slices.Index(recCycle, m.name)
	name := recCycle[(i+round)%len(recCycle)]
	for _, mm := range eioModes {
		if mm.name == name {
			return mm
		}
	}
	t.Fatalf("no mode %q", name)
	return eioMode{}
}

// 2. Five drops in a row, the ways of dropping in turn, each reconnection
// on the next transport mode (a session of one transport recovered over
// another, drops after upgrades included): recovered every time, each
// round's e4 and e5 exactly, and a live event at the end.
func TestRecoveryNodeClientRepeated(t *testing.T) {
	forEachSIOMode(t, func(t *testing.T, m eioMode) {
		rs := startRecServer(t, recServerOptions{})
		res := rs.runScript(t, m, "many")
		r0 := res.round(t, 0, m.final)
		id := r0.report.ID
		wantEvents(t, "before the drops", r0.events, rs.setupEvents(t))
		auths := rs.connectAuths(id)
		if len(auths) != 6 {
			t.Fatalf("server CONNECTs of %s: %d, want 6", id, len(auths))
		}
		pid := auths[1]["pid"]
		var wantServer []string
		for round := 1; round <= 5; round++ {
			rd := res.round(t, round, recModeAt(t, m, round).final)
			rd.recovered(t, round, id)
			want := rs.awayEvents(t, round)
			if round == 5 {
				want = append(want, rs.ev(t, "live", "live", "live"))
			}
			wantEvents(t, fmt.Sprintf("round %d", round), rd.events, want)
			d := recDrops[(round-1)%len(recDrops)]
			if !slices.Equal(rd.disconnects, []string{d.client}) {
				t.Errorf("round %d: client disconnects %q, want [%q]", round, rd.disconnects, d.client)
			}
			wantServer = append(wantServer, d.server)
			offsetKey := "e3"
			if round > 1 {
				offsetKey = "e5#" + strconv.Itoa(round-1)
			}
			rs.wantRecoveringAuth(t, auths[round], pid, offsetKey)
		}
		wantServer = append(wantServer, "client namespace disconnect")
		if got := rs.disconnectReasons(id); !slices.Equal(got, wantServer) {
			t.Errorf("server disconnects of %s: %q, want %q", id, got, wantServer)
		}
	})
}

// --- 3. a volatile event with a string last ----------------------------------------------

// 3. socket.io#5539: a volatile event whose last argument is a string
// carries the current offset after it, so the client does not take
// "some-string" for its offset: the next recovery succeeds and nothing
// missed is lost.
func TestRecoveryNodeClientVolatile(t *testing.T) {
	forEachSIOMode(t, func(t *testing.T, m eioMode) {
		rs := startRecServer(t, recServerOptions{})
		res := rs.runScript(t, m, "volatile")
		r0 := res.round(t, 0, m.final)
		id := r0.report.ID
		want := append(rs.setupEvents(t), rs.ev(t, "v", "v", "some-string"))
		wantEvents(t, "before the drop", r0.events, want)
		if v, x := rs.offset(t, "v"), rs.offset(t, "x"); v != x {
			t.Errorf("offset after the volatile event %q, want the current one, %q", v, x)
		}
		r1 := res.round(t, 1, m.final)
		r1.recovered(t, 1, id)
		wantEvents(t, "after the recovery", r1.events, rs.awayEvents(t, 1))
		auths := rs.connectAuths(id)
		if len(auths) != 2 {
			t.Fatalf("server CONNECTs of %s: %v, want 2", id, auths)
		}
		rs.wantRecoveringAuth(t, auths[1], auths[1]["pid"], "v")
	})
}

// --- 4. no offset yet ---------------------------------------------------------------------

// 4. socket.io#5538: a client that received no event comes back with its
// pid and no offset. By default, as Node (and the official client's test
// "should change socket.id upon reconnection"), it is not recovered: new
// id, nothing replayed. With RecoverWithoutOffset it is recovered, and the
// events broadcast while it was away are delivered.
func TestRecoveryNodeClientNoOffset(t *testing.T) {
	for _, without := range []bool{false, true} {
		t.Run("RecoverWithoutOffset="+strconv.FormatBool(without), func(t *testing.T) {
			t.Parallel()
			forEachSIOMode(t, func(t *testing.T, m eioMode) {
				rs := startRecServer(t, recServerOptions{Recovery: socketio.RecoveryOptions{RecoverWithoutOffset: without}})
				res := rs.runScript(t, m, "nooffset")
				r0 := res.round(t, 0, m.final)
				id := r0.report.ID
				wantEvents(t, "before the drop", r0.events, nil)
				wantState(t, "before the drop", r0.report.State, id, false, true)
				r1 := res.round(t, 1, m.final)
				var pid any
				if without {
					r1.recovered(t, 1, id)
					wantEvents(t, "after the recovery", r1.events, rs.awayEvents(t, 1))
					auths := rs.connectAuths(id)
					if len(auths) != 2 {
						t.Fatalf("server CONNECTs of %s: %v, want 2", id, auths)
					}
					pid = auths[1]["pid"]
					rs.wantRecoveringAuth(t, auths[1], pid, "")
				} else {
					r1.notRecovered(t, 1, id)
					wantEvents(t, "after the reconnection", r1.events, nil)
					auths := rs.connectAuths(r1.report.ID)
					if len(auths) != 1 {
						t.Fatalf("server CONNECTs of %s: %v, want 1", r1.report.ID, auths)
					}
					pid = auths[0]["pid"]
					rs.wantRecoveringAuth(t, auths[0], pid, "") // pid, no offset: refused
				}
			})
		})
	}
}

// --- 5. no recovery -------------------------------------------------------------------------

// 5. A disconnection asked for by the client (socket.disconnect()) or the
// server (s.Disconnect(false)) is not recovered, although the client comes
// back with its pid and offset; nor is a session past its
// MaxDisconnectionDuration (300ms, back after 600ms).
func TestRecoveryNodeClientRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		opts     socketio.RecoveryOptions
		client   string // disconnect reason
		server   string
		reviving bool // the client sends pid and offset again
	}{
		{"client disconnect", []string{"manual", "client"}, socketio.RecoveryOptions{}, "io client disconnect", "client namespace disconnect", true},
		{"server disconnect", []string{"manual", "server"}, socketio.RecoveryOptions{}, "io server disconnect", "server namespace disconnect", true},
		{"expired", []string{"expired"}, socketio.RecoveryOptions{MaxDisconnectionDuration: 300 * time.Millisecond}, "forced close", "transport close", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachSIOMode(t, func(t *testing.T, m eioMode) {
				rs := startRecServer(t, recServerOptions{Recovery: tc.opts})
				res := rs.runScript(t, m, tc.args...)
				r0 := res.round(t, 0, m.final)
				id := r0.report.ID
				wantEvents(t, "before", r0.events, rs.setupEvents(t))
				r1 := res.round(t, 1, m.final)
				r1.notRecovered(t, 1, id)
				wantEvents(t, "after the reconnection", r1.events, nil)
				if !slices.Equal(r1.disconnects, []string{tc.client}) {
					t.Errorf("client disconnects %q, want [%q]", r1.disconnects, tc.client)
				}
				if got := rs.disconnectReasons(id); !slices.Equal(got, []string{tc.server}) {
					t.Errorf("server disconnects of %s: %q, want [%q]", id, got, tc.server)
				}
				auths := rs.connectAuths(r1.report.ID)
				if len(auths) != 1 {
					t.Fatalf("server CONNECTs of %s: %v, want 1", r1.report.ID, auths)
				}
				rs.wantRecoveringAuth(t, auths[0], auths[0]["pid"], "e3")
			})
		})
	}
}

// --- 6. the server has not noticed yet ------------------------------------------------------

// 6. socket.io#4880 / #5282: the transport goes silent at a proxy, the
// server's side of it left open, so that the server could only learn of it
// by its ping timeout (1.8s). The client comes back before:
//
//   - ping: by its own ping timeout (the script shortens the client's
//     pingTimeout to 100ms, so it gives up 400ms after the last ping);
//   - half: its side of the connection is reset at once (a network change).
//
// Requests that still name the old Engine.IO session (a polling client's
// close packet) are swallowed too. The server broadcast e4..e6 to the
// socket it believed connected. The recovery succeeds (same id, e4 and e5
// exactly); the stale socket is closed then, not when it would have timed
// out. Its Engine.IO session ends with "forced close": at once on
// WebSocket, after the 30s a closing polling session waits for a GET (as
// Node). Once it has ended, and 2s more, the recovered socket is still
// connected, alone, and receives events.
func TestRecoveryNodeClientStale(t *testing.T) {
	t.Parallel() // mostly waiting: 30s for a closing polling session
	for _, how := range []string{"ping", "half"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			forEachSIOMode(t, func(t *testing.T, m eioMode) {
				rs := startRecServer(t, recServerOptions{PingTimeout: recStalePingTime, Proxy: true})
				res := rs.runScript(t, m, "stale", how, strconv.Itoa(int(sioPingInterval.Milliseconds())), strconv.Itoa(int(recStalePingTime.Milliseconds())))
				r0 := res.round(t, 0, m.final)
				id := r0.report.ID
				wantEvents(t, "before the stall", r0.events, rs.setupEvents(t))
				r1 := res.round(t, 1, m.final)
				r1.recovered(t, 1, id)
				wantEvents(t, "after the recovery", r1.events, rs.awayEvents(t, 1))
				wantClient := map[string][]string{"ping": {"ping timeout"}, "half": {"transport close"}}[how]
				if m.name == "polling" && how == "half" {
					wantClient = []string{"transport error"}
				}
				if !slices.Equal(r1.disconnects, wantClient) {
					t.Errorf("client disconnects %q, want %q", r1.disconnects, wantClient)
				}
				if r1.report.State.Sockets != 1 {
					t.Errorf("sockets of / after the recovery: %d, want 1", r1.report.State.Sockets)
				}
				r2 := res.round(t, 2, m.final)
				r2.recovered(t, 2, id)
				wantEvents(t, "2s later", r2.events, []recEvent{rs.ev(t, "late", "late", "live")})
				if st := r2.report.State; st.Sockets != 1 || st.Engines != 1 {
					t.Errorf("2s later: %d sockets of /, %d Engine.IO sessions; want 1 and 1", st.Sockets, st.Engines)
				}
				auths := rs.connectAuths(id)
				if len(auths) != 2 {
					t.Fatalf("server CONNECTs of %s: %v, want 2", id, auths)
				}
				rs.wantRecoveringAuth(t, auths[1], auths[1]["pid"], "e3")
				// The stale socket was closed by the recovery, before the new
				// one connected; the last disconnect is the script's.
				if got := rs.disconnectReasons(id); !slices.Equal(got, []string{"forced server close", "client namespace disconnect"}) {
					t.Errorf("server disconnects of %s: %q, want [\"forced server close\" \"client namespace disconnect\"]", id, got)
				}
				// The stale session closed (before round 2: the script waited
				// for it), by the server, never by a ping timeout.
				rs.mu.Lock()
				eid := rs.staleEngine
				rs.mu.Unlock()
				var closes []string
				for _, c := range rs.log.get("engine-close") {
					if c.EngineID == eid {
						_, reason, _ := strings.Cut(c.Text, " ")
						closes = append(closes, reason)
					}
				}
				if want := "forced close (" + m.final + ")"; !slices.Equal(closes, []string{want}) {
					t.Errorf("closes of the stale Engine.IO session %s: %q, want [%q]", eid, closes, want)
				}
			})
		})
	}
}

// --- a proxy that makes a connection go silent -------------------------------------------

// stallProxy forwards TCP connections to a target. stall makes the
// connections open at that moment go silent: nothing is forwarded any more,
// either way, and the server's side stays open (with half, the client's
// side is reset instead of left silent). New connections whose request
// names the stalled Engine.IO session (sid=<id>) get the same treatment;
// the others are forwarded.
//
// (internal/faultproxy stalls one connection at a time and does not look
// at requests; this scenario needs the stale session's later requests
// swallowed too.)
type stallProxy struct {
	ln     net.Listener
	target string
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[*proxyConn]struct{}
	sids   map[string]bool // stalled session -> half
	closed bool
}

type proxyConn struct {
	client, server net.Conn
	stalled        chan struct{} // closed when the connection goes silent
	once           sync.Once
}

func (c *proxyConn) stall() { c.once.Do(func() { close(c.stalled) }) }

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &stallProxy{ln: ln, target: target, done: make(chan struct{}), conns: map[*proxyConn]struct{}{}, sids: map[string]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

func (p *stallProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// reset closes c with a TCP reset.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *stallProxy) serve(cc net.Conn) {
	defer p.wg.Done()
	// The request line tells which session the connection is for.
	var head []byte
	buf := make([]byte, 32<<10)
	_ = cc.SetReadDeadline(time.Now().Add(sioWait))
	for !bytes.Contains(head, []byte("\r\n")) && len(head) < 8<<10 {
		n, err := cc.Read(buf)
		head = append(head, buf[:n]...)
		if err != nil {
			_ = cc.Close()
			return
		}
	}
	_ = cc.SetReadDeadline(time.Time{})
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	// stalledFor reports whether the request names a stalled session, and
	// whether half; p.mu must be held.
	stalledFor := func() (bool, bool) {
		for sid, half := range p.sids {
			if bytes.Contains(line, []byte("sid="+sid)) {
				return true, half
			}
		}
		return false, false
	}
	p.mu.Lock()
	stalled, half := stalledFor()
	p.mu.Unlock()
	if stalled {
		p.swallow(cc, half)
		return
	}
	sc, err := net.DialTimeout("tcp", p.target, sioWait)
	if err != nil {
		reset(cc)
		return
	}
	c := &proxyConn{client: cc, server: sc, stalled: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = cc.Close()
		_ = sc.Close()
		return
	}
	// Checked again with the registration, so that a stall cannot fall
	// between the two.
	if stalled, half = stalledFor(); stalled {
		p.mu.Unlock()
		_ = sc.Close()
		p.swallow(cc, half)
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	if _, err := sc.Write(head); err != nil {
		_ = cc.Close()
		_ = sc.Close()
		return
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		p.pump(c, sc, cc, buf)
	}()
	p.pump(c, cc, sc, make([]byte, 32<<10))
	<-finished
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// swallow treats a new connection of a stalled session: reset (half), or
// held open without an answer until the proxy closes.
func (p *stallProxy) swallow(cc net.Conn, half bool) {
	if half {
		reset(cc)
		return
	}
	<-p.done
	_ = cc.Close()
}

// pump copies src to dst until either ends (then it closes both) or the
// connection is stalled (then it waits for the proxy to close).
func (p *stallProxy) pump(c *proxyConn, dst, src net.Conn, buf []byte) {
	for {
		n, err := src.Read(buf)
		select {
		case <-c.stalled:
			<-p.done
			_ = dst.Close()
			_ = src.Close()
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			select {
			case <-c.stalled:
				<-p.done
			default:
			}
			_ = dst.Close()
			_ = src.Close()
			return
		}
	}
}

// stall silences every open connection and those to come for session sid;
// with half, the client's side is reset.
func (p *stallProxy) stall(sid string, half bool) {
	p.mu.Lock()
	p.sids[sid] = half
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.stall()
		if half {
			reset(c.client)
		}
	}
}

func (p *stallProxy) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	close(p.done)
	_ = p.ln.Close()
	for _, c := range conns {
		_ = c.client.Close()
		_ = c.server.Close()
	}
	p.wg.Wait()
}
