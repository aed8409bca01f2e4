package testutil_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lxzan/gws"
	"go.uber.org/goleak"

	"github.com/go-sio/socketio/internal/testutil"
)

// TestMain fails the run when a test client outlives its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pinger is a WebSocket server that sends an Engine.IO ping on open and
// then echoes every frame; the text frame "close" makes it close.
type pinger struct{ pongs chan string }

func (p *pinger) OnOpen(c *gws.Conn)           { _ = c.WriteString("2") }
func (p *pinger) OnClose(*gws.Conn, error)     {}
func (p *pinger) OnPing(c *gws.Conn, b []byte) { _ = c.WritePong(b) }
func (p *pinger) OnPong(*gws.Conn, []byte)     {}
func (p *pinger) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	switch s := m.Data.String(); {
	case m.Opcode == gws.OpcodeText && s == "3":
		p.pongs <- s
	case m.Opcode == gws.OpcodeText && s == "close":
		_ = c.WriteString("bye")
		_ = c.WriteClose(1000, nil)
	default:
		_ = c.WriteMessage(m.Opcode, m.Bytes())
	}
}

func startPinger(t *testing.T) (*pinger, *testutil.Endpoint) {
	p := &pinger{pongs: make(chan string, 1)}
	up := gws.NewUpgrader(p, &gws.ServerOption{PermessageDeflate: gws.PermessageDeflate{Enabled: true}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ws") == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(testutil.BodyBadRequest))
			return
		}
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		c.ReadLoop()
	}))
	t.Cleanup(srv.Close)
	return p, testutil.NewEndpoint(t, srv.Client(), srv.URL+"/")
}

func TestWSConnSeesPingsAndFrames(t *testing.T) {
	_, ep := startPinger(t)
	c := testutil.MustDial(t, ep.WSURL("ws=1"), &testutil.DialOptions{PerMessageDeflate: true})
	c.ExpectText("2")
	c.SendText("hello")
	c.SendBinary([]byte{1, 2})
	c.ExpectTextSkippingPings("hello")
	c.ExpectBinarySkippingPings([]byte{1, 2})
	c.SendText("close")
	if got := c.ExpectClosed(); len(got) != 1 || got[0].String() != `text "bye"` {
		t.Fatalf("frames before the close: %v, want text \"bye\"", got)
	}
}

func TestWSConnAutoPong(t *testing.T) {
	p, ep := startPinger(t)
	c := testutil.MustDial(t, ep.WSURL("ws=1"), &testutil.DialOptions{AutoPong: true})
	if got := <-p.pongs; got != "3" {
		t.Fatalf("pong %q", got)
	}
	c.SendText("x")
	c.ExpectText("x") // the ping never reached the test
}

func TestWithoutPings(t *testing.T) {
	in := []testutil.Frame{{Data: []byte("2")}, {Data: []byte("4a")}, {Binary: true, Data: []byte("2")}}
	if got := testutil.WithoutPings(in); len(got) != 2 || string(got[0].Data) != "4a" || !got[1].Binary {
		t.Fatalf("WithoutPings: %v", got)
	}
}

func TestEndpointRequests(t *testing.T) {
	_, ep := startPinger(t)
	testutil.ExpectEngineError(t, "GET", ep.Get("x=1"), http.StatusBadRequest, testutil.BodyBadRequest)
	testutil.ExpectResponse(t, "POST", ep.Post("x=1", "body"), http.StatusBadRequest, testutil.BodyBadRequest)
	testutil.ExpectResponse(t, "async GET", testutil.Await(t, "async GET", ep.GetAsync("x=1")), http.StatusBadRequest, testutil.BodyBadRequest)
	testutil.ExpectWSRefused(t, ep.WSURL("x=1"))
}
