package interop

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	socketio "github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
)

// Connection state recovery of our server with our Go client (package
// client), in the three transport modes: the scenarios 1, 2, 4 and 6 of
// recovery_test.go, against the same server behaviours (recServer). The
// test drives the client directly; no Node.js involved.

// goRecClient is our client's socket "/" on its own manager, with what it
// received.
type goRecClient struct {
	t   *testing.T
	mgr *client.Manager
	s   *client.Socket
	ev  *recorder // connect, disconnect

	mu      sync.Mutex
	events  []recEvent
	changed chan struct{}
}

func newGoRecClient(t *testing.T, rs *recServer, m cliMode) *goRecClient {
	t.Helper()
	mgr, err := client.NewManager(rs.URL(), &client.ManagerOptions{
		Transports:        m.transports,
		ReconnectionDelay: recDelay, ReconnectionDelayMax: recDelay, RandomizationFactor: -1,
		AutoConnect: client.Bool(false), // the handlers first
	})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	if rs.proxy != nil {
		t.Cleanup(rs.proxy.close) // before the manager closes: no request left hanging in it
	}
	c := &goRecClient{t: t, mgr: mgr, s: mgr.Socket("/", nil), changed: make(chan struct{})}
	c.ev = watchSocket(c.s)
	c.s.OnAny(func(e *socketio.Event) {
		j, err := argsJSON(e.Args)
		if err != nil {
			t.Errorf("event %s: %v", e.Name, err)
		}
		c.mu.Lock()
		c.events = append(c.events, recEvent{e.Name, j})
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	})
	c.s.Connect()
	waitConnected(t, c.s)
	if c.s.Recovered() {
		t.Errorf("Recovered() on the first connection")
	}
	return c
}

// received waits until the client has n events after the first from, then
// 50ms more, and returns the events after from.
func (c *goRecClient) received(from, n int) []recEvent {
	c.t.Helper()
	deadline := time.After(cliWait)
	for {
		c.mu.Lock()
		got, ch := len(c.events)-from, c.changed
		c.mu.Unlock()
		if got >= n {
			break
		}
		select {
		case <-ch:
		case <-deadline:
			c.t.Fatalf("client: %d events within %v, want %d", got, cliWait, n)
		}
	}
	time.Sleep(50 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events[from:])
}

func (c *goRecClient) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// state asks the server for its state of the socket.
func (c *goRecClient) state() recState {
	c.t.Helper()
	var st recState
	if err := ack(c.t, c.s, "state?").Bind(&st); err != nil {
		c.t.Fatalf("state?: %v", err)
	}
	return st
}

// back waits for connection number n (1: the first) and checks its
// recovery: same id on both ends, Recovered() on both ends.
func (c *goRecClient) back(n int, id string, recovered bool) {
	c.t.Helper()
	conns := c.ev.wait(c.t, "connect", n, cliWait)
	got := conns[n-1].ID
	if recovered && (!c.s.Recovered() || got != id || c.s.ID() != id) {
		c.t.Errorf("connection %d: Recovered() %v, ID %q (in OnConnect %q); want true, %q", n, c.s.Recovered(), c.s.ID(), got, id)
	}
	if !recovered && (c.s.Recovered() || got == id || got == "") {
		c.t.Errorf("connection %d: Recovered() %v, ID %q; want false and a new id (not %q)", n, c.s.Recovered(), got, id)
	}
}

// goDrops are the ways the Go scenarios drop the transport, with the
// disconnect reasons of the client and the server.
var goDrops = []struct {
	name           string
	client, server string
}{
	{"server", "transport close", "forced close"}, // s.Conn().Close()
	{"client", "forced close", "transport close"}, // the client's engine Close()
}

func (c *goRecClient) drop(kind string) {
	c.t.Helper()
	switch kind {
	case "server":
		_ = c.s.Emit("kill")
	case "client":
		e := c.mgr.Engine()
		if e == nil {
			c.t.Fatalf("no engine connection to close")
		}
		_ = e.Close()
	default:
		c.t.Fatalf("unknown drop %q", kind)
	}
}

// 1. (Go client) e1..e3, a drop (by the server or the client), e4..e6 while
// away: recovered, same id, rooms and data kept, exactly e4 and e5.
func TestRecoveryGoClient(t *testing.T) {
	for _, m := range cliModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range goDrops {
				t.Run(d.name, func(t *testing.T) {
					t.Parallel()
					rs := startRecServer(t, recServerOptions{})
					c := newGoRecClient(t, rs, m)
					checkTransport(t, c.mgr, c.s, m)
					id := c.s.ID()
					ack(t, c.s, "setup")
					wantEvents(t, "before the drop", c.received(0, 3), rs.setupEvents(t))
					wantState(t, "before the drop", c.state(), id, false, true)
					ack(t, c.s, "arm", 1)
					c.drop(d.name)
					c.back(2, id, true)
					wantEvents(t, "after the recovery", c.received(3, 2), rs.awayEvents(t, 1))
					wantState(t, "after the recovery", c.state(), id, true, true)
					checkTransport(t, c.mgr, c.s, m)
					if got := reasons(c.ev.get("disconnect")); !slices.Equal(got, []string{d.client}) {
						t.Errorf("client disconnects %q, want [%q]", got, d.client)
					}
					auths := rs.connectAuths(id)
					if len(auths) != 2 {
						t.Fatalf("server CONNECTs of %s: %v, want 2", id, auths)
					}
					rs.wantRecoveringAuth(t, auths[1], auths[1]["pid"], "e3")
					if got := rs.disconnectReasons(id); !slices.Equal(got, []string{d.server}) {
						t.Errorf("server disconnects of %s: %q, want [%q]", id, got, d.server)
					}
				})
			}
		})
	}
}

// 2. (Go client) Five drops in a row, by the server and the client in
// turn, each after the upgrade in upgrade mode: recovered every time with
// exactly that round's e4 and e5, from the offset of the last event
// received; then a live event.
func TestRecoveryGoClientRepeated(t *testing.T) {
	for _, m := range cliModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			rs := startRecServer(t, recServerOptions{})
			c := newGoRecClient(t, rs, m)
			checkTransport(t, c.mgr, c.s, m)
			id := c.s.ID()
			ack(t, c.s, "setup")
			wantEvents(t, "before the drops", c.received(0, 3), rs.setupEvents(t))
			var wantClient, wantServer []string
			for round := 1; round <= 5; round++ {
				d := goDrops[(round-1)%len(goDrops)]
				from := c.count()
				ack(t, c.s, "arm", round)
				c.drop(d.name)
				c.back(round+1, id, true)
				wantEvents(t, fmt.Sprintf("round %d", round), c.received(from, 2), rs.awayEvents(t, round))
				wantState(t, fmt.Sprintf("round %d", round), c.state(), id, true, true)
				checkTransport(t, c.mgr, c.s, m)
				wantClient = append(wantClient, d.client)
				wantServer = append(wantServer, d.server)
			}
			from := c.count()
			ack(t, c.s, "emit-me", "live")
			wantEvents(t, "live", c.received(from, 1), []recEvent{rs.ev(t, "live", "live", "live")})
			if got := reasons(c.ev.get("disconnect")); !slices.Equal(got, wantClient) {
				t.Errorf("client disconnects %q, want %q", got, wantClient)
			}
			if got := rs.disconnectReasons(id); !slices.Equal(got, wantServer) {
				t.Errorf("server disconnects of %s: %q, want %q", id, got, wantServer)
			}
			auths := rs.connectAuths(id)
			if len(auths) != 6 {
				t.Fatalf("server CONNECTs of %s: %d, want 6", id, len(auths))
			}
			for round := 1; round <= 5; round++ {
				key := "e3"
				if round > 1 {
					key = "e5#" + strconv.Itoa(round-1)
				}
				rs.wantRecoveringAuth(t, auths[round], auths[1]["pid"], key)
			}
		})
	}
}

// 4. (Go client) socket.io#5538: no event received, so no offset. Default:
// not recovered, new id, nothing replayed. RecoverWithoutOffset:
// recovered, and what was broadcast while away is delivered.
func TestRecoveryGoClientNoOffset(t *testing.T) {
	for _, without := range []bool{false, true} {
		for _, m := range cliModes {
			t.Run(fmt.Sprintf("RecoverWithoutOffset=%v/%s", without, m.name), func(t *testing.T) {
				t.Parallel()
				rs := startRecServer(t, recServerOptions{Recovery: socketio.RecoveryOptions{RecoverWithoutOffset: without}})
				c := newGoRecClient(t, rs, m)
				checkTransport(t, c.mgr, c.s, m)
				id := c.s.ID()
				ack(t, c.s, "join")
				ack(t, c.s, "arm", 1)
				c.drop("client")
				c.back(2, id, without)
				newID := c.s.ID()
				if without {
					wantEvents(t, "after the recovery", c.received(0, 2), rs.awayEvents(t, 1))
					wantState(t, "after the recovery", c.state(), id, true, true)
				} else {
					time.Sleep(100 * time.Millisecond)
					wantEvents(t, "after the reconnection", c.received(0, 0), nil)
					wantState(t, "after the reconnection", c.state(), newID, false, false)
				}
				auths := rs.connectAuths(newID)
				if want := map[bool]int{false: 1, true: 2}[without]; len(auths) != want {
					t.Fatalf("server CONNECTs of %s: %v, want %d", newID, auths, want)
				}
				last := auths[len(auths)-1]
				rs.wantRecoveringAuth(t, last, last["pid"], "")
			})
		}
	}
}

// 6. (Go client) socket.io#4880 / #5282: the transport goes silent at the
// proxy, the server's side left open, so that the server would only learn
// of it by its ping timeout (1.8s). The client comes back first:
//
//   - half: its side of the connection is reset (a network change);
//   - abandon: it gives up on the silent connection (its engine's Close;
//     its close packet, on polling, is swallowed by the proxy).
//
// (Our client's own ping timeout, pingInterval + pingTimeout from the
// handshake, matches the server's to the millisecond, so it cannot be the
// one to notice first: that case is run with the official client, whose
// timer the script can shorten.)
//
// Recovered with e4 and e5 exactly; the stale session is closed by the
// server ("forced close": at once on WebSocket, after 30s on polling);
// once it is gone, and 2s more, the recovered socket is still connected,
// alone, and receives events.
func TestRecoveryGoClientStale(t *testing.T) {
	t.Parallel() // mostly waiting: 30s for a closing polling session
	for _, how := range []string{"half", "abandon"} {
		for _, m := range cliModes {
			t.Run(how+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				rs := startRecServer(t, recServerOptions{PingTimeout: recStalePingTime, Proxy: true})
				c := newGoRecClient(t, rs, m)
				checkTransport(t, c.mgr, c.s, m)
				id := c.s.ID()
				ack(t, c.s, "setup")
				wantEvents(t, "before the stall", c.received(0, 3), rs.setupEvents(t))
				// From the server's side, so that no write of the client is
				// under way (a polling client's Close would wait for it).
				ss, ok := rs.srv.Of("/").Socket(id)
				if !ok {
					t.Fatalf("no server socket %s", id)
				}
				e := c.mgr.Engine()
				rs.stallSession(ss, how == "half", 1)
				if how == "abandon" {
					_ = e.Close()
				}
				c.back(2, id, true)
				wantEvents(t, "after the recovery", c.received(3, 2), rs.awayEvents(t, 1))
				st := c.state()
				wantState(t, "after the recovery", st, id, true, true)
				if st.Sockets != 1 {
					t.Errorf("sockets of / after the recovery: %d, want 1", st.Sockets)
				}
				wantClient := map[string]string{"half": "transport close", "abandon": "forced close"}[how]
				if how == "half" && m.final == "polling" {
					wantClient = "transport error"
				}
				if got := reasons(c.ev.get("disconnect")); !slices.Equal(got, []string{wantClient}) {
					t.Errorf("client disconnects %q, want [%q]", got, wantClient)
				}
				if got := rs.disconnectReasons(id); !slices.Equal(got, []string{"forced server close"}) {
					t.Errorf("server disconnects of %s: %q, want [\"forced server close\"]", id, got)
				}
				auths := rs.connectAuths(id)
				if len(auths) != 2 {
					t.Fatalf("server CONNECTs of %s: %v, want 2", id, auths)
				}
				rs.wantRecoveringAuth(t, auths[1], auths[1]["pid"], "e3")

				// Wait for the stale Engine.IO session to end.
				rs.mu.Lock()
				eid := rs.staleEngine
				rs.mu.Unlock()
				var closes []string
				for deadline := time.Now().Add(recStaleWait); len(closes) == 0; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("the stale Engine.IO session %s still open after %v", eid, recStaleWait)
					}
					for _, r := range rs.log.get("engine-close") {
						if r.EngineID == eid {
							_, reason, _ := strings.Cut(r.Text, " ")
							closes = append(closes, reason)
						}
					}
				}
				if want := "forced close (" + m.final + ")"; !slices.Equal(closes, []string{want}) {
					t.Errorf("closes of the stale Engine.IO session %s: %q, want [%q]", eid, closes, want)
				}
				time.Sleep(2 * time.Second)
				from := c.count()
				ack(t, c.s, "emit-me", "late")
				wantEvents(t, "2s later", c.received(from, 1), []recEvent{rs.ev(t, "late", "late", "live")})
				st = c.state()
				wantState(t, "2s later", st, id, true, true)
				if st.Sockets != 1 || st.Engines != 1 {
					t.Errorf("2s later: %d sockets of /, %d Engine.IO sessions; want 1 and 1", st.Sockets, st.Engines)
				}
				checkTransport(t, c.mgr, c.s, m)
				if n := len(c.ev.get("connect")); n != 2 {
					t.Errorf("client connections: %d, want 2", n)
				}
			})
		}
	}
}
