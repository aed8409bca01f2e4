package engineio_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/testutil"
)

// A WebSocket client written by hand, for the tests that must send what no
// library sends: crafted handshakes, reserved bits, lengths and fragments
// of the attacker's choice.

// wsKey is the Sec-WebSocket-Key of RFC 6455's example.
const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

// upgradeRequest is a WebSocket handshake request for target with the
// standard headers, then header lines (without their CRLF), in order.
func upgradeRequest(target string, lines ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", target)
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + wsKey + "\r\n\r\n")
	return b.Bytes()
}

// frame is one client frame: masked, with the given FIN, RSV bits (0-7)
// and opcode.
func frame(fin bool, rsv, opcode byte, payload []byte) []byte {
	b0 := rsv<<4 | opcode&0x0f
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

// Frame opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

func textFrame(s string) []byte { return frame(true, 0, opText, []byte(s)) }

// closeFrame is a client's close frame with status code.
func closeFrame(code uint16) []byte {
	return frame(true, 0, opClose, binary.BigEndian.AppendUint16(nil, code))
}

// rawWS is a client connection. Every read and write is bounded by
// WaitTimeout from the dial.
type rawWS struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// dialRaw opens a TCP connection to addr; it is closed at cleanup.
func dialRaw(t *testing.T, addr string) *rawWS {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, testutil.WaitTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(testutil.WaitTimeout))
	t.Cleanup(func() { _ = conn.Close() })
	return &rawWS{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func (c *rawWS) send(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// response reads the HTTP response to the handshake, with its whole body
// unless it is a 101.
func (c *rawWS) response() (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("reading the handshake response: %v", err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, ""
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// serverFrame is a frame the server sent.
type serverFrame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// closeCode is the status code of a close frame, 1005 when it has none.
func (f serverFrame) closeCode() int {
	if len(f.payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(f.payload))
}

func (f serverFrame) String() string {
	return fmt.Sprintf("opcode %d fin %v %q", f.opcode, f.fin, f.payload)
}

// readFrame reads one frame of the server.
func (c *rawWS) readFrame() (serverFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return serverFrame{}, err
	}
	f := serverFrame{fin: h[0]&0x80 != 0, opcode: h[0] & 0x0f}
	compressed := h[0]&0x40 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(c.br, l[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(c.br, l[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > 16<<20 {
		return f, fmt.Errorf("server frame of %d bytes", n)
	}
	var key [4]byte
	masked := h[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(c.br, key[:]); err != nil {
			return f, err
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, f.payload); err != nil {
		return f, err
	}
	if masked {
		for i := range f.payload {
			f.payload[i] ^= key[i%4]
		}
	}
	if compressed {
		// permessage-deflate, negotiated without context takeover.
		zr := flate.NewReader(io.MultiReader(bytes.NewReader(f.payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
		b, err := io.ReadAll(zr)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return f, fmt.Errorf("inflate: %w", err)
		}
		f.payload = b
	}
	return f, nil
}

// mustFrame reads one frame, failing the test on error.
func (c *rawWS) mustFrame() serverFrame {
	c.t.Helper()
	f, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// expectText reads frames, skipping Engine.IO pings, until a data frame,
// which must be the text want.
func (c *rawWS) expectText(want string) {
	c.t.Helper()
	for {
		f := c.mustFrame()
		if f.opcode == opText && string(f.payload) == "2" {
			continue
		}
		if f.opcode != opText || string(f.payload) != want {
			c.t.Fatalf("got %v, want text %q", f, want)
		}
		return
	}
}

// openSession reads the open packet that starts a WebSocket session and
// returns the session id.
func (c *rawWS) openSession() string {
	c.t.Helper()
	f := c.mustFrame()
	if f.opcode != opText || len(f.payload) == 0 || f.payload[0] != '0' {
		c.t.Fatalf("first frame %v, want the open packet", f)
	}
	return sidOf(c.t, string(f.payload))
}

// expectClose reads frames until the server's close frame, skipping data
// frames, and returns its status code; -1 when the connection ended
// without one.
func (c *rawWS) expectClose() int {
	c.t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			return -1
		}
		if f.opcode == opClose {
			return f.closeCode()
		}
	}
}

// reset closes the connection with a TCP RST, as a client that crashes.
func (c *rawWS) reset() {
	if tc, ok := c.conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.conn.Close()
}

// advServer is an echo server over a real listener on 127.0.0.1 that
// records, per session, why it closed, and fails the test if the HTTP
// server ever recovered a panic of ours.
type advServer struct {
	t    *testing.T
	eio  *engineio.Server
	http *httptest.Server
	addr string

	mu       sync.Mutex
	closed   map[string]string        // sid -> reason
	received map[string][]receivedMsg // sid -> messages, in order
	logged   []string                 // lines the http.Server logged
}

// receivedMsg is a message a session delivered to the handler.
type receivedMsg struct {
	data   string
	binary bool
}

func newAdvServer(t *testing.T, opts *engineio.ServerOptions) *advServer {
	t.Helper()
	if opts == nil {
		// Pings far apart, so that a test's raw client needs not answer.
		opts = &engineio.ServerOptions{PingInterval: 20 * time.Second, PingTimeout: 10 * time.Second, MaxHTTPBufferSize: 1e6}
	}
	s := newRecordingServer(opts)
	s.t = t
	s.http = httptest.NewUnstartedServer(s.eio)
	s.http.Config.ErrorLog = log.New(logSink{s}, "", 0)
	s.http.Start()
	s.addr = s.http.Listener.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		defer cancel()
		if err := s.eio.Shutdown(ctx); err != nil && !errors.Is(err, engineio.ErrServerClosed) {
			t.Errorf("Shutdown: %v", err)
		}
		s.http.Close()
		for _, l := range s.panics() {
			t.Errorf("the HTTP server recovered a panic: %s", l)
		}
	})
	return s
}

// newRecordingServer is the Engine.IO echo server of an advServer, which
// records the messages and the close of every session.
func newRecordingServer(opts *engineio.ServerOptions) *advServer {
	s := &advServer{closed: make(map[string]string), received: make(map[string][]receivedMsg)}
	s.eio = engineio.NewServer(engineio.HandlerFunc(func(ss *engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{
			Message: func(data []byte, binary bool) {
				s.mu.Lock()
				s.received[ss.ID()] = append(s.received[ss.ID()], receivedMsg{string(data), binary})
				s.mu.Unlock()
				_ = ss.Send(data, binary)
			},
			Close: func(reason string, _ error) {
				s.mu.Lock()
				s.closed[ss.ID()] = reason
				s.mu.Unlock()
			},
		}
	}), opts)
	return s
}

// panics returns the lines the HTTP server logged about recovered panics.
func (s *advServer) panics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.logged {
		if strings.Contains(l, "panic") {
			out = append(out, l)
		}
	}
	return out
}

type logSink struct{ s *advServer }

func (l logSink) Write(p []byte) (int, error) {
	l.s.mu.Lock()
	l.s.logged = append(l.s.logged, string(p))
	l.s.mu.Unlock()
	return len(p), nil
}

// closeReason waits until session sid has closed and returns why.
func (s *advServer) closeReason(sid string) string {
	s.t.Helper()
	return s.closeReasonT(s.t, sid)
}

// closeReasonT is closeReason for test t.
func (s *advServer) closeReasonT(t testing.TB, sid string) string {
	t.Helper()
	var reason string
	waitFor(t, "session "+sid+" closed", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		r, ok := s.closed[sid]
		reason = r
		return ok && s.eio.Session(sid) == nil
	})
	return reason
}

// isOpen reports whether session sid is open.
func (s *advServer) isOpen(sid string) bool { return s.eio.Session(sid) != nil }

// wsSession opens a WebSocket session with a plain handshake and returns
// the connection and the session id.
func (s *advServer) wsSession() (*rawWS, string) {
	s.t.Helper()
	c := dialRaw(s.t, s.addr)
	c.send(upgradeRequest("/engine.io/?EIO=4&transport=websocket"))
	if resp, body := c.response(); resp.StatusCode != http.StatusSwitchingProtocols {
		s.t.Fatalf("handshake: %s %q", resp.Status, body)
	}
	return c, c.openSession()
}

// pollingSession opens a polling session and returns its id.
func (s *advServer) pollingSession() string {
	s.t.Helper()
	r := testutil.Request(s.http.Client(), http.MethodGet, s.http.URL+"/engine.io/?EIO=4&transport=polling", "", nil)
	if r.Err != nil || r.Status != http.StatusOK {
		s.t.Fatalf("polling handshake: %d %q %v", r.Status, r.Body, r.Err)
	}
	return sidOf(s.t, r.Body)
}

// checkServes checks that the server still serves a well-behaved client
// on both transports: a WebSocket session echoes a message, a polling
// session too, and both close cleanly.
func (s *advServer) checkServes() {
	s.t.Helper()
	c, sid := s.wsSession()
	c.send(textFrame("4still there"))
	c.expectText("4still there")
	c.send(closeFrame(1000))
	if reason := s.closeReason(sid); reason != engineio.ReasonTransportClose {
		s.t.Fatalf("well-behaved WebSocket session closed with %q", reason)
	}

	psid := s.pollingSession()
	ep := engineEndpoint(s.t, s.http)
	if r := ep.Post(sidQuery(psid), "4polling too"); r.Status != http.StatusOK || r.Body != "ok" {
		s.t.Fatalf("POST: %d %q", r.Status, r.Body)
	}
	if r := ep.Get(sidQuery(psid)); r.Status != http.StatusOK || r.Body != "4polling too" {
		s.t.Fatalf("GET: %d %q", r.Status, r.Body)
	}
	if r := ep.Post(sidQuery(psid), "1"); r.Status != http.StatusOK {
		s.t.Fatalf("closing POST: %d %q", r.Status, r.Body)
	}
	s.closeReason(psid)
}

// pipeListener is a net.Listener whose connections are in-memory pipes:
// a server on it is reached without the network. net.Pipe is unbuffered,
// so the client side must read what the server writes.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client side of a new connection to the server.
func (l *pipeListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// servePipe serves s.eio on a pipeListener until cleanup.
func servePipe(tb testing.TB, s *advServer) *pipeListener {
	l := newPipeListener()
	hs := &http.Server{Handler: s.eio, ErrorLog: log.New(logSink{s}, "", 0), ReadHeaderTimeout: testutil.WaitTimeout}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(l)
	}()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		defer cancel()
		_ = s.eio.Shutdown(ctx)
		_ = hs.Close()
		<-done
		for _, l := range s.panics() {
			tb.Errorf("the HTTP server recovered a panic: %s", l)
		}
	})
	return l
}

// dialPipe opens a connection to a pipe server, bounded by WaitTimeout.
func dialPipe(t *testing.T, l *pipeListener) *rawWS {
	t.Helper()
	conn, err := l.dial()
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(testutil.WaitTimeout))
	t.Cleanup(func() { _ = conn.Close() })
	return &rawWS{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// TestWebSocketGatheredFrames: a burst of queued messages, which the server
// writes gathered, reaches the client as the same frames one by one, at
// every length boundary of the frame header (7-bit, 16-bit, 64-bit) and
// past the size gathered in one write.
func TestWebSocketGatheredFrames(t *testing.T) {
	s := newAdvServer(t, nil)
	c, sid := s.wsSession()
	var msgs []engineio.Message
	for i, n := range []int{0, 1, 124, 125, 126, 127, 65534, 65535, 65536, 40 << 10, 3, 100 << 10, 7} {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, n)
		msgs = append(msgs, engineio.Message{Data: b}, engineio.Message{Data: b, Binary: true})
	}
	// Twice, so that the second batch queues behind the first's write.
	for range 2 {
		if err := s.eio.Session(sid).SendBatch(msgs); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 2 {
		for i, m := range msgs {
			f := c.mustFrame()
			want := serverFrame{fin: true, opcode: opText, payload: append([]byte{'4'}, m.Data...)}
			if m.Binary {
				want = serverFrame{fin: true, opcode: opBinary, payload: m.Data}
			}
			if f.fin != want.fin || f.opcode != want.opcode || !bytes.Equal(f.payload, want.payload) {
				t.Fatalf("round %d, frame %d: opcode %d fin %v, %d bytes; want opcode %d, %d bytes",
					round, i, f.opcode, f.fin, len(f.payload), want.opcode, len(want.payload))
			}
		}
	}
}
