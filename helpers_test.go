package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/testutil"
)

// The server configuration the official socket.io-protocol test suite
// assumes (its Readme, "Test suite"; e2e/conformance/server implements it).
const (
	suitePingInterval   = 300 * time.Millisecond
	suitePingTimeout    = 200 * time.Millisecond
	suiteMaxPayload     = 1000000
	suiteConnectTimeout = time.Second
)

// idPattern matches an Engine.IO session id or a Socket.IO socket id:
// 20 characters of URL-safe base64.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)

// suiteOptions returns the options of the conformance server.
func suiteOptions() *socketio.ServerOptions {
	return &socketio.ServerOptions{
		ServerOptions: engineio.ServerOptions{
			PingInterval:      suitePingInterval,
			PingTimeout:       suitePingTimeout,
			MaxHTTPBufferSize: suiteMaxPayload,
			CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
		},
		ConnectTimeout: suiteConnectTimeout,
	}
}

// suiteHandlers installs what the suite expects of the server: the auth
// payload echoed as an "auth" event on "/" and "/custom", "message"
// answered with "message-back" and "message-with-ack" acknowledged with
// its own arguments.
func suiteHandlers(srv *socketio.Server) {
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message", func(e *socketio.Event) {
			_ = s.Emit("message-back", e.Args.Values()...)
		})
		s.On("message-with-ack", func(e *socketio.Event) {
			_ = e.Ack().Send(e.Args.Values()...)
		})
	})
	srv.Of("/custom").OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
	})
}

// harness is a Socket.IO server on an httptest server. Its Endpoint sends
// requests to the Socket.IO path, /socket.io/.
type harness struct {
	*testutil.Endpoint
	t    *testing.T
	srv  *socketio.Server
	http *httptest.Server
}

// startServer builds a server with opts (nil: defaults), lets setup
// register its handlers, and serves it until the test ends.
func startServer(t *testing.T, opts *socketio.ServerOptions, setup func(*socketio.Server)) *harness {
	t.Helper()
	srv := socketio.NewServer(opts)
	if setup != nil {
		setup(srv)
	}
	h := &harness{t: t, srv: srv, http: httptest.NewServer(srv)}
	h.Endpoint = testutil.NewEndpoint(t, h.http.Client(), h.http.URL+"/socket.io/")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, socketio.ErrServerClosed) {
			t.Errorf("Shutdown: %v", err)
		}
		h.http.Close()
	})
	return h
}

// startSuiteServer starts a server configured as the conformance server.
func startSuiteServer(t *testing.T) *harness {
	t.Helper()
	return startServer(t, suiteOptions(), suiteHandlers)
}

// --- Engine.IO and Socket.IO handshakes ------------------------------------

// pollQuery is the query of a polling request of Engine.IO session sid.
func pollQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

// sioClient is a raw WebSocket client that sees every Engine.IO frame and
// speaks Socket.IO with them, byte for byte.
type sioClient struct {
	*testutil.WSConn
	t *testing.T
}

// openPacket is the JSON of an Engine.IO open packet.
type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// parseOpen checks that packet is an Engine.IO open packet with exactly
// the five keys of the protocol, and decodes it.
func parseOpen(t *testing.T, packet string) openPacket {
	t.Helper()
	body, ok := strings.CutPrefix(packet, "0")
	if !ok {
		t.Fatalf("open packet %q does not start with \"0\"", packet)
	}
	if keys := jsonKeys(t, body); strings.Join(keys, ",") != "maxPayload,pingInterval,pingTimeout,sid,upgrades" {
		t.Fatalf("open packet %q has keys %v, want exactly maxPayload, pingInterval, pingTimeout, sid, upgrades", packet, keys)
	}
	var o openPacket
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	return o
}

// jsonKeys returns the sorted keys of the JSON object s.
func jsonKeys(t *testing.T, s string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%q is not a JSON object: %v", s, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// openWS opens an Engine.IO session over WebSocket and returns the client
// and the open packet. With autoPong the client answers pings itself and
// never shows them.
func (h *harness) openWS(autoPong bool) (*sioClient, openPacket) {
	h.t.Helper()
	c := h.dialWS("EIO=4&transport=websocket", autoPong)
	f := c.Next()
	if f.Binary {
		h.t.Fatalf("first frame %v, want the text open packet", f)
	}
	return c, parseOpen(h.t, string(f.Data))
}

// dialWS opens a WebSocket to the Socket.IO path with query q, or fails
// the test.
func (h *harness) dialWS(q string, autoPong bool) *sioClient {
	h.t.Helper()
	return &sioClient{testutil.MustDial(h.t, h.WSURL(q), &testutil.DialOptions{AutoPong: autoPong}), h.t}
}

// openPolling opens an Engine.IO session over polling and returns its id.
func (h *harness) openPolling() string {
	h.t.Helper()
	r := h.Get("EIO=4&transport=polling")
	if r.Status != http.StatusOK {
		h.t.Fatalf("polling handshake: %d %q", r.Status, r.Body)
	}
	return parseOpen(h.t, r.Body).SID
}

// nspPrefix is how a packet names namespace nsp: nothing for "/",
// "/name," otherwise.
func nspPrefix(nsp string) string {
	if nsp == "/" {
		return ""
	}
	return nsp + ","
}

// join sends a CONNECT for nsp (auth: raw JSON object, or "") and returns
// the socket id of the answer, which must be exactly
// 40<nsp,>{"sid":"<20 characters>"}.
func (c *sioClient) join(nsp, auth string) string {
	c.t.Helper()
	c.SendText("40" + nspPrefix(nsp) + auth)
	return wantConnectAnswer(c.t, c.NextSkippingPings(), "40"+nspPrefix(nsp))
}

// wantConnectAnswer checks that f is exactly the CONNECT answer
// head{"sid":"<20 characters>"} and returns the sid.
func wantConnectAnswer(t *testing.T, f testutil.Frame, head string) string {
	t.Helper()
	const open, end = `{"sid":"`, `"}`
	s := string(f.Data)
	if f.Binary || len(s) != len(head)+len(open)+20+len(end) || s[:len(head)+len(open)] != head+open {
		t.Fatalf("got %v, want text %s%s<20 chars>%s", f, head, open, end)
	}
	sid := s[len(head)+len(open) : len(s)-len(end)]
	if !idPattern.MatchString(sid) {
		t.Fatalf("socket id %q is not 20 characters of URL-safe base64", sid)
	}
	return sid
}

// connect opens a WebSocket session that answers pings by itself, joins
// "/" and returns the client and the server-side socket.
func (h *harness) connect() (*sioClient, *socketio.Socket) {
	h.t.Helper()
	c, _ := h.openWS(true)
	sid := c.join("/", "")
	s, ok := h.srv.Of("/").Socket(sid)
	if !ok {
		h.t.Fatalf("socket %s not found on the server after its CONNECT answer", sid)
	}
	return c, s
}

// ackID splits an EVENT or ACK frame "<head><id>[...]" into its id and
// JSON array; it fails the test when the frame has no id.
func ackID(t *testing.T, f testutil.Frame, head string) (uint64, string) {
	t.Helper()
	rest, ok := strings.CutPrefix(string(f.Data), head)
	if f.Binary || !ok {
		t.Fatalf("got %v, want text starting %q", f, head)
	}
	i := strings.IndexByte(rest, '[')
	if i <= 0 {
		t.Fatalf("frame %v has no acknowledgement id", f)
	}
	id, err := strconv.ParseUint(rest[:i], 10, 64)
	if err != nil {
		t.Fatalf("frame %v: ack id: %v", f, err)
	}
	return id, rest[i:]
}

// --- waiting ---------------------------------------------------------------

// receive returns the next value of ch, failing the test after
// testutil.WaitTimeout.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testutil.WaitTimeout):
		t.Fatalf("%s: nothing within %v", what, testutil.WaitTimeout)
		var zero T
		return zero
	}
}

// eventually polls cond until it holds, failing the test after
// testutil.WaitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testutil.WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still false after %v", what, testutil.WaitTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
