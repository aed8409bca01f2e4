package socketio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio"
)

// waitTimeout bounds every wait of these tests: a server that misbehaves
// fails a test, it never hangs it.
const waitTimeout = 5 * time.Second

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

// harness is a Socket.IO server on an httptest server.
type harness struct {
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
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

// url is the http URL of the Socket.IO path with query q.
func (h *harness) url(q string) string { return h.http.URL + "/socket.io/?" + q }

// wsURL is the ws URL of the Socket.IO path with query q.
func (h *harness) wsURL(q string) string {
	return "ws" + strings.TrimPrefix(h.http.URL, "http") + "/socket.io/?" + q
}

// --- HTTP -----------------------------------------------------------------

// reply is the outcome of one HTTP request.
type reply struct {
	status int
	header http.Header
	body   string
	err    error
}

// request sends one bounded HTTP request to rawURL and reads the answer.
func (h *harness) request(method, rawURL, body string, header http.Header) reply {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var rd io.Reader
	if body != "" || method == http.MethodPost || method == http.MethodPut {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return reply{err: err}
	}
	if rd != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := h.http.Client().Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
}

// get sends a GET with query q; a failed request fails the test.
func (h *harness) get(q string) reply {
	h.t.Helper()
	r := h.request(http.MethodGet, h.url(q), "", nil)
	if r.err != nil {
		h.t.Fatalf("GET ?%s: %v", q, r.err)
	}
	return r
}

// post sends body with query q; a failed request fails the test.
func (h *harness) post(q, body string) reply {
	h.t.Helper()
	r := h.request(http.MethodPost, h.url(q), body, nil)
	if r.err != nil {
		h.t.Fatalf("POST ?%s: %v", q, r.err)
	}
	return r
}

// getLater starts a GET with query q and returns where its reply arrives.
func (h *harness) getLater(q string) <-chan reply {
	ch := make(chan reply, 1)
	go func() { ch <- h.request(http.MethodGet, h.url(q), "", nil) }()
	return ch
}

// awaitReply waits for a reply started with getLater.
func awaitReply(t *testing.T, what string, ch <-chan reply) reply {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: %v", what, r.err)
		}
		return r
	case <-time.After(waitTimeout + time.Second):
		t.Fatalf("%s: no reply within %v", what, waitTimeout)
		return reply{}
	}
}

// pollQuery is the query of a polling request of Engine.IO session sid.
func pollQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

// wantReply fails the test unless r has the status and body given.
func wantReply(t *testing.T, what string, r reply, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Fatalf("%s: got %d %q, want %d %q", what, r.status, r.body, status, body)
	}
}

// --- raw WebSocket client --------------------------------------------------

// frame is one WebSocket data frame a test client received.
type frame struct {
	binary bool
	data   []byte
}

func (f frame) String() string {
	if f.binary {
		return fmt.Sprintf("binary[% x]", f.data)
	}
	return fmt.Sprintf("text%q", f.data)
}

func (f frame) isPing() bool { return !f.binary && string(f.data) == "2" }

// wsConn is a raw WebSocket client that sees every Engine.IO frame. Frames
// arrive on a channel, in order, from gws's read loop.
type wsConn struct {
	t        *testing.T
	conn     *gws.Conn
	frames   chan frame
	quit     chan struct{} // closed at cleanup, so the read loop never blocks
	ended    chan struct{} // closed when the read loop has returned
	autoPong bool          // answer Engine.IO pings and hide them

	mu     sync.Mutex
	reason error
}

func (c *wsConn) OnOpen(*gws.Conn)                   {}
func (c *wsConn) OnPong(*gws.Conn, []byte)           {}
func (c *wsConn) OnPing(conn *gws.Conn, data []byte) { _ = conn.WritePong(data) }
func (c *wsConn) OnClose(_ *gws.Conn, err error) {
	c.mu.Lock()
	c.reason = err
	c.mu.Unlock()
}

func (c *wsConn) OnMessage(conn *gws.Conn, m *gws.Message) {
	f := frame{binary: m.Opcode == gws.OpcodeBinary, data: bytes.Clone(m.Bytes())}
	_ = m.Close()
	if c.autoPong && f.isPing() {
		_ = conn.WriteString("3")
		return
	}
	select {
	case c.frames <- f:
	case <-c.quit:
	}
}

// dial opens a WebSocket to url. It returns the HTTP response and the
// error of a refused handshake. The connection is closed at cleanup.
func dial(t *testing.T, url string, autoPong bool) (*wsConn, *http.Response, error) {
	t.Helper()
	c := &wsConn{
		t:        t,
		frames:   make(chan frame, 512),
		quit:     make(chan struct{}),
		ended:    make(chan struct{}),
		autoPong: autoPong,
	}
	conn, resp, err := gws.NewClient(c, &gws.ClientOption{Addr: url, HandshakeTimeout: waitTimeout})
	if err != nil {
		return nil, resp, err
	}
	c.conn = conn
	go func() {
		defer close(c.ended)
		conn.ReadLoop()
	}()
	t.Cleanup(func() {
		close(c.quit)
		_ = conn.WriteClose(1000, nil)
		select {
		case <-c.ended:
		case <-time.After(waitTimeout):
			_ = conn.NetConn().Close()
			<-c.ended
			t.Errorf("websocket client: read loop still running %v after close", waitTimeout)
		}
	})
	return c, resp, nil
}

// mustDial opens a WebSocket to url or fails the test.
func mustDial(t *testing.T, url string, autoPong bool) *wsConn {
	t.Helper()
	c, resp, err := dial(t, url, autoPong)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP status %d)", url, err, status)
	}
	return c
}

func (c *wsConn) send(text string) {
	c.t.Helper()
	if err := c.conn.WriteString(text); err != nil {
		c.t.Fatalf("send %q: %v", text, err)
	}
}

func (c *wsConn) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(gws.OpcodeBinary, b); err != nil {
		c.t.Fatalf("send binary % x: %v", b, err)
	}
}

// closeNow closes the client's side of the connection (a WebSocket close
// frame, as a browser tab that goes away).
func (c *wsConn) closeNow() { _ = c.conn.WriteClose(1000, nil) }

func (c *wsConn) closeReason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// next returns the next frame, pings included. It fails the test when the
// connection closes first or nothing arrives within waitTimeout.
func (c *wsConn) next() frame {
	c.t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case f := <-c.frames:
		return f
	case <-c.ended:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("connection closed while a frame was awaited (%v)", c.closeReason())
	case <-timer.C:
		c.t.Fatalf("no frame within %v", waitTimeout)
	}
	return frame{}
}

// nextData is next without Engine.IO pings (which it does not answer).
func (c *wsConn) nextData() frame {
	c.t.Helper()
	for {
		if f := c.next(); !f.isPing() {
			return f
		}
	}
}

// expect fails the test unless the next frame is the text want.
func (c *wsConn) expect(want string) {
	c.t.Helper()
	if f := c.next(); f.binary || string(f.data) != want {
		c.t.Fatalf("got %v, want text%q", f, want)
	}
}

// expectData is expect, skipping pings before the frame.
func (c *wsConn) expectData(want string) {
	c.t.Helper()
	if f := c.nextData(); f.binary || string(f.data) != want {
		c.t.Fatalf("got %v, want text%q", f, want)
	}
}

// expectBinary fails the test unless the next frame other than a ping is
// the binary frame want.
func (c *wsConn) expectBinary(want []byte) {
	c.t.Helper()
	if f := c.nextData(); !f.binary || !bytes.Equal(f.data, want) {
		c.t.Fatalf("got %v, want binary[% x]", f, want)
	}
}

// expectClosed waits until the server closes the connection and returns
// the frames received until then.
func (c *wsConn) expectClosed() []frame {
	c.t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var got []frame
	for {
		select {
		case f := <-c.frames:
			got = append(got, f)
		case <-c.ended:
			for {
				select {
				case f := <-c.frames:
					got = append(got, f)
				default:
					return got
				}
			}
		case <-timer.C:
			c.t.Fatalf("connection still open after %v (frames so far: %v)", waitTimeout, got)
			return got
		}
	}
}

// withoutPings drops Engine.IO pings from frames.
func withoutPings(frames []frame) []frame {
	var out []frame
	for _, f := range frames {
		if !f.isPing() {
			out = append(out, f)
		}
	}
	return out
}

// --- Engine.IO and Socket.IO handshakes ------------------------------------

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
// and the open packet.
func (h *harness) openWS(autoPong bool) (*wsConn, openPacket) {
	h.t.Helper()
	c := mustDial(h.t, h.wsURL("EIO=4&transport=websocket"), autoPong)
	f := c.next()
	if f.binary {
		h.t.Fatalf("first frame %v, want the text open packet", f)
	}
	return c, parseOpen(h.t, string(f.data))
}

// openPolling opens an Engine.IO session over polling and returns its id.
func (h *harness) openPolling() string {
	h.t.Helper()
	r := h.get("EIO=4&transport=polling")
	if r.status != http.StatusOK {
		h.t.Fatalf("polling handshake: %d %q", r.status, r.body)
	}
	return parseOpen(h.t, r.body).SID
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
func (c *wsConn) join(nsp, auth string) string {
	c.t.Helper()
	c.send("40" + nspPrefix(nsp) + auth)
	return wantConnectAnswer(c.t, c.nextData(), "40"+nspPrefix(nsp))
}

// wantConnectAnswer checks that f is exactly the CONNECT answer
// head{"sid":"<20 characters>"} and returns the sid.
func wantConnectAnswer(t *testing.T, f frame, head string) string {
	t.Helper()
	const open, end = `{"sid":"`, `"}`
	s := string(f.data)
	if f.binary || len(s) != len(head)+len(open)+20+len(end) || s[:len(head)+len(open)] != head+open {
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
func (h *harness) connect() (*wsConn, *socketio.Socket) {
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
func ackID(t *testing.T, f frame, head string) (uint64, string) {
	t.Helper()
	rest, ok := strings.CutPrefix(string(f.data), head)
	if f.binary || !ok {
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

// receive returns the next value of ch, failing the test after waitTimeout.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("%s: nothing within %v", what, waitTimeout)
		var zero T
		return zero
	}
}

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still false after %v", what, waitTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
