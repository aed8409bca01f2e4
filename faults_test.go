package socketio_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/faultproxy"
	"github.com/go-sio/socketio/internal/testutil"
	"github.com/go-sio/socketio/parser"
)

// Network faults between a Socket.IO client and the server, injected with
// internal/faultproxy: the socket is disconnected with the reason Node
// gives, within the heartbeat (100 ms + 100 ms; the bound of the wait is
// a hang guard, ten times that), and a bystander client is served all
// along.

const (
	faultInterval = 100 * time.Millisecond
	faultTimeout  = 100 * time.Millisecond
	faultDetect   = 10 * (faultInterval + faultTimeout)
)

// faultClient is a client joined to "/" through the proxy, over one
// transport, whose faults the proxy injects.
type faultClient struct {
	ws   *testutil.WSConn   // websocket
	poll *testutil.Endpoint // polling
	sid  string             // Engine.IO session id (polling)
	next <-chan testutil.Response
}

// TestFaultDisconnectReasons: a socket whose peer goes silent (the proxy
// blackholes it) is disconnected with "ping timeout", over WebSocket and
// over polling; one whose connection is reset, or cut in the middle of a
// frame, with "transport close" or "transport error" at once; one whose
// pending polling GET is reset with "transport error" ("poll connection
// closed prematurely" in Node).
func TestFaultDisconnectReasons(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transport string
		fault     func(t *testing.T, p *faultproxy.Proxy, c *faultClient)
		want      []string
	}{
		{"websocket/peer silent", "websocket", stallAll, []string{socketio.ReasonPingTimeout}},
		{"polling/peer silent", "polling", stallAll, []string{socketio.ReasonPingTimeout}},
		{"websocket/connection reset", "websocket", dropAll, []string{socketio.ReasonTransportClose, socketio.ReasonTransportError}},
		{"websocket/cut in a frame", "websocket", func(t *testing.T, p *faultproxy.Proxy, c *faultClient) {
			for _, conn := range p.Conns() {
				conn.Cut()
			}
			c.ws.SendTextUnlessClosed(`42["message","` + strings.Repeat("x", 1000) + `"]`)
		}, []string{socketio.ReasonTransportClose, socketio.ReasonTransportError}},
		{"polling/pending GET reset", "polling", dropAll, []string{socketio.ReasonTransportError}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := &socketio.ServerOptions{}
			opts.PingInterval, opts.PingTimeout = faultInterval, faultTimeout
			if !strings.Contains(tc.name, "silent") {
				opts.PingInterval = time.Minute // the fault alone must end the session
			}
			h := startServer(t, opts, func(srv *socketio.Server) {
				srv.OnConnection(func(s *socketio.Socket) {
					s.On("message", func(e *socketio.Event) { _ = s.Emit("message-back", e.Args.Values()...) })
				})
			})
			bystander, _ := h.connect()
			p, err := faultproxy.New(h.http.Listener.Addr().String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })

			c, s := joinThrough(t, h, p, tc.transport)
			reason := make(chan string, 1)
			s.OnDisconnect(func(r string) { reason <- r })
			tc.fault(t, p, c)

			select {
			case r := <-reason:
				ok := false
				for _, w := range tc.want {
					ok = ok || r == w
				}
				if !ok {
					t.Fatalf("disconnected with %q, want %q", r, tc.want)
				}
				t.Logf("disconnected with %q", r)
			case <-time.After(faultDetect):
				t.Fatalf("still connected %v after the fault (hang guard)", faultDetect)
			}
			bystander.SendText(`42["message","still served"]`)
			bystander.ExpectTextSkippingPings(`42["message-back","still served"]`)
			_ = p.Close()
			if c.next != nil {
				<-c.next
			}
		})
	}
}

func stallAll(t *testing.T, p *faultproxy.Proxy, _ *faultClient) {
	for _, c := range p.Conns() {
		c.Stall(time.Hour, false)
	}
}

func dropAll(t *testing.T, p *faultproxy.Proxy, _ *faultClient) {
	if p.DropAll() == 0 {
		t.Fatal("no connection to drop")
	}
}

// joinThrough joins "/" through p over transport and returns the client
// and the server's socket. A polling client is left with a GET pending.
func joinThrough(t *testing.T, h *harness, p *faultproxy.Proxy, transport string) (*faultClient, *socketio.Socket) {
	t.Helper()
	c := &faultClient{}
	var sid string
	if transport == engineio.TransportWebSocket {
		c.ws = testutil.MustDial(t, "ws://"+p.Addr()+"/socket.io/?EIO=4&transport=websocket", &testutil.DialOptions{AutoPong: true})
		parseOpen(t, string(c.ws.Next().Data))
		sid = (&sioClient{c.ws, t}).join("/", "")
	} else {
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		c.poll = testutil.NewEndpoint(t, &http.Client{Transport: tr}, "http://"+p.Addr()+"/socket.io/")
		c.sid = parseOpen(t, c.poll.Get("EIO=4&transport=polling").Body).SID
		testutil.ExpectResponse(t, "CONNECT", c.poll.Post(pollQuery(c.sid), "40"), http.StatusOK, "ok")
		r := c.poll.Get(pollQuery(c.sid))
		sid = wantConnectAnswer(t, testutil.Frame{Data: []byte(r.Body)}, "40")
		c.next = c.poll.GetAsync(pollQuery(c.sid))
		eventually(t, "GET pending", h.srv.Engine().Session(c.sid).Writable)
	}
	s, ok := h.srv.Of("/").Socket(sid)
	if !ok {
		t.Fatalf("socket %s not found", sid)
	}
	return c, s
}

// gatedAttach is the in-memory adapter whose Attach waits for release: a
// slow Attach, as one reading missed packets from Redis may be.
type gatedAttach struct {
	adapter.Adapter
	entered, release, attached chan struct{}
}

func (a gatedAttach) Attach(from *string, rooms []adapter.Room, fn func(missed []*parser.Packet)) {
	a.entered <- struct{}{}
	<-a.release
	a.Adapter.Attach(from, rooms, fn)
	close(a.attached)
}

// TestConnectionClosedDuringAttach: a connection that closes while its
// socket is being attached (after the namespace checked that it is open)
// leaves no socket behind, and the connection handler does not run. The
// soak found such sockets, "connected" forever with their session closed.
func TestConnectionClosedDuringAttach(t *testing.T) {
	gate := gatedAttach{entered: make(chan struct{}, 1), release: make(chan struct{}), attached: make(chan struct{})}
	var handled atomic.Bool
	h := startServer(t, &socketio.ServerOptions{
		ConnectionStateRecovery: &socketio.RecoveryOptions{},
		Adapter: func(n adapter.Namespace) adapter.Adapter {
			g := gate
			g.Adapter = adapter.NewMemory(n)
			return g
		},
	}, func(srv *socketio.Server) {
		srv.OnConnection(func(*socketio.Socket) { handled.Store(true) })
	})
	c, _ := h.openWS(true)
	c.SendText("40")
	receive(t, "the Attach", gate.entered)
	c.Close()
	eventually(t, "the Engine.IO session closed", func() bool { return h.srv.Engine().ClientsCount() == 0 })
	close(gate.release)
	receive(t, "the end of the Attach", gate.attached)
	eventually(t, "no socket left in /", func() bool { return h.srv.Of("/").SocketsCount() == 0 })
	if handled.Load() {
		t.Error("the connection handler ran for a socket whose connection had closed")
	}
}
