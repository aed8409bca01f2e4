package engineio_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/testutil"
)

// The malicious inputs of the published advisories of engine.io, ws,
// socket.io, engine.io-client and the other Engine.IO servers
// (docs/advisories.md), sent to our server through the real path: HTTP
// requests to a live server, and crafted WebSocket handshakes and frames
// over a real TCP connection on 127.0.0.1. Each test checks the precise
// refusal (status and Node's error body, close code, the session closed
// with its reason), that no other session is affected, and that the
// server still serves a well-behaved client afterwards. No test measures
// time.

// TestAdvisoryRequests sends the crafted requests of the advisories that a
// server refuses before any session exists.
func TestAdvisoryRequests(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		query    string
		header   http.Header
		status   int
		body     string
		noHeader string // a response header that must be absent
	}{
		// CVE-2023-31125 (engine.io < 6.4.2): a transport named after an
		// Object.prototype property passed the transport check and
		// crashed the server.
		{"CVE-2023-31125", "GET", "EIO=4&transport=__proto__", nil, 400, testutil.BodyTransportUnknown, ""},
		{"CVE-2023-31125-constructor", "GET", "EIO=4&transport=constructor", nil, 400, testutil.BodyTransportUnknown, ""},
		{"CVE-2023-31125-hasOwnProperty", "GET", "EIO=4&transport=hasOwnProperty", nil, 400, testutil.BodyTransportUnknown, ""},
		{"CVE-2023-31125-websocket", "GET", "EIO=4&transport=__proto__",
			http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {wsKey}},
			400, "Transport unknown", ""},
		// socketioxide #739/#741 (no advisory id): malformed protocol v3
		// payloads looped or overflowed. v3 is refused at the handshake.
		{"socketioxide-741-eio3", "GET", "EIO=3&transport=polling", nil, 400, testutil.BodyUnsupportedProtocol, ""},
		{"socketioxide-741-eio3-websocket", "GET", "EIO=3&transport=websocket",
			http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {wsKey}},
			400, "Unsupported protocol version", ""},
		// CVE-2020-28481 (socket.io < 2.4.0): every origin was allowed by
		// default. Without a CORS option no CORS header is sent.
		{"CVE-2020-28481-preflight", "OPTIONS", "EIO=4&transport=polling",
			http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}},
			400, testutil.BodyBadHandshakeMethod, "Access-Control-Allow-Origin"},
		{"CVE-2020-28481-credentials", "OPTIONS", "EIO=4&transport=polling",
			http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}},
			400, testutil.BodyBadHandshakeMethod, "Access-Control-Allow-Credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newAdvServer(t, nil)
			r := testutil.Request(s.http.Client(), tc.method, s.http.URL+"/engine.io/?"+tc.query, "", tc.header)
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Status != tc.status || r.Body != tc.body {
				t.Fatalf("got %d %q, want %d %q", r.Status, r.Body, tc.status, tc.body)
			}
			if tc.noHeader != "" && r.Header.Get(tc.noHeader) != "" {
				t.Fatalf("response has %s: %s", tc.noHeader, r.Header.Get(tc.noHeader))
			}
			waitFor(t, "no client left after a refused request", func() bool { return s.eio.ClientsCount() == 0 })
			s.checkServes()
		})
	}
}

// TestAdvisoryCORSDefault is CVE-2020-28481 on a handshake that succeeds:
// with no CORS option, a foreign origin gets no CORS header.
func TestAdvisoryCORSDefault(t *testing.T) {
	s := newAdvServer(t, nil)
	r := testutil.Request(s.http.Client(), "GET", s.http.URL+"/engine.io/?EIO=4&transport=polling", "",
		http.Header{"Origin": {"https://evil.example"}, "Cookie": {"io=x"}})
	if r.Err != nil || r.Status != http.StatusOK {
		t.Fatalf("handshake: %d %v", r.Status, r.Err)
	}
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("%s: %s sent without a CORS option", h, v)
		}
	}
}

// TestAdvisoryPollingBodies sends the polling bodies of the advisories to a
// live session, with a bystander session that must stay open.
func TestAdvisoryPollingBodies(t *testing.T) {
	const limit = 1e6
	for _, tc := range []struct {
		name        string
		body        string
		contentType string
		chunked     bool // no Content-Length: the limit is checked while reading
		status      int
		respBody    string
		closed      string // the reason the session closes with, "" if it stays open
	}{
		// CVE-2020-36048 (engine.io < 3.6.0): a 100 MB body, or one of
		// millions of tiny packets, exhausted the server. Past
		// MaxHTTPBufferSize: 413, as Node; up to it, decoded in one pass.
		{"CVE-2020-36048", "4" + strings.Repeat("2", limit), "", false, 413, "", ""},
		{"CVE-2020-36048-chunked", "4" + strings.Repeat("2", limit), "", true, 413, "", ""},
		{"CVE-2020-36048-many-packets", strings.Repeat("6\x1e", limit/2-1) + "6", "", false, 200, "ok", ""},
		// The v3 framing of the same attack is no v4 payload.
		{"CVE-2020-36048-v3-framing", "99999991:4" + strings.Repeat("2", 1000), "", false, 400, "", engineio.ReasonParseError},
		// GHSA-r635-g3xr-vw7x (engine.io < 6.6.7): a binary content type
		// raised an error but left the request open.
		{"GHSA-r635-g3xr-vw7x", "\x01\x02\x03", "application/octet-stream", false, 400, "", engineio.ReasonTransportError},
		// GHSA-cgwc-pv48-fhj5 (python-engineio < 4.13.2): every PONG
		// started a heartbeat thread. Unsolicited pongs are ignored
		// (TestAdvisoryPongFlood checks the goroutines).
		{"GHSA-cgwc-pv48-fhj5", strings.Repeat("3\x1e", 999) + "3", "", false, 200, "ok", ""},
		// socketioxide #739 (no advisory id): a v3 payload is one noop
		// packet in v4, ignored as Node does.
		{"socketioxide-739-v3-payload", "6:42[{}]11:4abcdefghij1:2", "", false, 200, "ok", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newAdvServer(t, nil)
			bystander := s.pollingSession()
			sid := s.pollingSession()
			req, err := http.NewRequest(http.MethodPost, s.http.URL+"/engine.io/?"+sidQuery(sid), strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(struct{ io.Reader }{strings.NewReader(tc.body)})
			}
			ct := tc.contentType
			if ct == "" {
				ct = "text/plain;charset=UTF-8"
			}
			req.Header.Set("Content-Type", ct)
			ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
			defer cancel()
			resp, err := s.http.Client().Do(req.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tc.status || (tc.respBody != "" && body != tc.respBody) {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.respBody)
			}
			if tc.closed != "" {
				if reason := s.closeReason(sid); reason != tc.closed {
					t.Fatalf("session closed with %q, want %q", reason, tc.closed)
				}
				// As Node: the session is gone.
				ep := engineEndpoint(t, s.http)
				if r := ep.Get(sidQuery(sid)); r.Status != 400 || r.Body != testutil.BodySessionIDUnknown {
					t.Fatalf("GET after the close: %d %q", r.Status, r.Body)
				}
			} else if !s.isOpen(sid) {
				t.Fatal("the session closed")
			}
			if !s.isOpen(bystander) {
				t.Fatal("the bystander session closed")
			}
			s.checkServes()
		})
	}
}

// TestAdvisoryPongFlood is GHSA-cgwc-pv48-fhj5 (python-engineio < 4.13.2):
// every PONG a client sent started a heartbeat thread. Thousands of
// unsolicited pongs, polling and WebSocket, start no goroutine.
func TestAdvisoryPongFlood(t *testing.T) {
	s := newAdvServer(t, nil)
	c, wsSID := s.wsSession()
	psid := s.pollingSession()
	before := runtime.NumGoroutine()
	for range 5 {
		for range 1000 {
			c.send(textFrame("3"))
		}
		ep := engineEndpoint(t, s.http)
		if r := ep.Post(sidQuery(psid), strings.Repeat("3\x1e", 999)+"3"); r.Status != 200 {
			t.Fatalf("POST: %d %q", r.Status, r.Body)
		}
	}
	c.send(textFrame("4after the pongs"))
	c.expectText("4after the pongs")
	if n := runtime.NumGoroutine(); n > before+5 {
		t.Fatalf("%d goroutines after 10000 pongs, %d before", n, before)
	}
	if !s.isOpen(wsSID) || !s.isOpen(psid) {
		t.Fatal("a session closed")
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// TestAdvisoryInvalidFrames is CVE-2022-21676 (engine.io 4.0.0 to 6.1.0): a
// WebSocket handshake followed by bytes that are no valid frame ("test",
// whose first byte sets RSV2 and RSV3) threw an uncaught RangeError from
// ws. The server answers with a close frame 1002 (protocol error) and
// closes that session only.
func TestAdvisoryInvalidFrames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"CVE-2022-21676", []byte("test")},
		{"CVE-2022-21676-rsv2-rsv3", frame(true, 0b011, opText, []byte("4x"))},
		{"CVE-2022-21676-rsv1", frame(true, 0b100, opText, []byte("4x"))},
		{"CVE-2022-21676-reserved-opcode", frame(true, 0, 0x3, []byte("4x"))},
		{"CVE-2022-21676-reserved-control", frame(true, 0, 0xb, nil)},
		{"CVE-2022-21676-fragmented-control", frame(false, 0, opPing, []byte("x"))},
		{"CVE-2022-21676-unmasked", []byte{0x81, 0x02, '4', 'x'}},
		{"CVE-2022-21676-orphan-continuation", frame(true, 0, opContinuation, []byte("x"))},
		{"CVE-2022-21676-control-too-long", frame(true, 0, opPing, make([]byte, 126))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newAdvServer(t, nil)
			bc, bystander := s.wsSession()
			c, sid := s.wsSession()
			c.send(tc.bytes)
			if code := c.expectClose(); code != 1002 {
				t.Fatalf("close code %d, want 1002 (protocol error)", code)
			}
			if reason := s.closeReason(sid); reason != engineio.ReasonTransportError {
				t.Fatalf("session closed with %q, want %q", reason, engineio.ReasonTransportError)
			}
			bc.send(textFrame("4bystander"))
			bc.expectText("4bystander")
			if !s.isOpen(bystander) {
				t.Fatal("the bystander session closed")
			}
			s.checkServes()
		})
	}
}

// TestAdvisoryInvalidDataInHandshake is CVE-2022-21676 as its fix's tests
// send it: the handshake request carries a body ("test") that arrives with
// the headers. Whatever the library makes of those bytes, the session
// ends when the client goes, and nothing else is affected; and as an
// upgrade of a polling session, the probe fails and the session goes on
// polling.
func TestAdvisoryInvalidDataInHandshake(t *testing.T) {
	s := newAdvServer(t, nil)
	c := dialRaw(t, s.addr)
	c.send(append(upgradeRequest("/engine.io/?EIO=4&transport=websocket", "Content-Length: 4"), "test"...))
	if resp, body := c.response(); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s %q", resp.Status, body)
	}
	sid := c.openSession()
	c.reset()
	s.closeReason(sid)

	psid := s.pollingSession()
	u := dialRaw(t, s.addr)
	u.send(append(upgradeRequest("/engine.io/?EIO=4&transport=websocket&sid="+psid, "Content-Length: 4"), "test"...))
	if resp, body := u.response(); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s %q", resp.Status, body)
	}
	u.send([]byte("test"))
	if code := u.expectClose(); code != 1002 && code != -1 {
		t.Fatalf("probe closed with %d", code)
	}
	waitFor(t, "the probe dropped", func() bool { return s.eio.Session(psid).Transport() == engineio.TransportPolling })
	ep := engineEndpoint(t, s.http)
	if r := ep.Post(sidQuery(psid), "4polling on"); r.Status != 200 {
		t.Fatalf("POST after the failed probe: %d %q", r.Status, r.Body)
	}
	if r := ep.Get(sidQuery(psid)); r.Status != 200 || r.Body != "4polling on" {
		t.Fatalf("GET after the failed probe: %d %q", r.Status, r.Body)
	}
	s.checkServes()
}

// TestAdvisoryResetUpgrade is CVE-2022-41940 (engine.io < 6.2.1): an
// upgrade request the server does not handle (HTTP/2 cleartext, or any
// upgrade outside the engine path), then a TCP reset from the client,
// raised an unhandled ECONNRESET. Here h2c is not an upgrade we know: the
// request is answered as the plain request it also is.
func TestAdvisoryResetUpgrade(t *testing.T) {
	s := newAdvServer(t, nil)
	h2c := func(target string) (*rawWS, *http.Response, string) {
		c := dialRaw(t, s.addr)
		c.send([]byte("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n" +
			"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"))
		resp, body := c.response()
		return c, resp, body
	}
	c, resp, body := h2c("/engine.io/?EIO=4&transport=polling")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("h2c handshake: %s %q", resp.Status, body)
	}
	c.reset()
	c, resp, _ = h2c("/elsewhere")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("h2c outside the engine path: %s", resp.Status)
	}
	c.reset()
	// An upgrade reset before any answer.
	r := dialRaw(t, s.addr)
	r.send([]byte("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"))
	r.reset()
	s.checkServes()
	// The session the h2c request opened ends with its heartbeat; here,
	// with Shutdown at cleanup.
}

// TestAdvisoryHeaders sends the WebSocket handshakes of the ws advisories
// about request headers. Each is served normally, and the server serves
// others afterwards.
func TestAdvisoryHeaders(t *testing.T) {
	many := make([]string, 0, 2100)
	for i := range 2100 {
		many = append(many, "x-"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676))+": x")
	}
	for _, tc := range []struct {
		name  string
		lines []string
		pmd   bool
	}{
		// CVE-2021-32640 (ws < 7.4.6): a Sec-WebSocket-Protocol value of
		// many spaces made ws's split(/ *, */) backtrack for minutes.
		{"CVE-2021-32640", []string{"Sec-WebSocket-Protocol: b" + strings.Repeat(" ", 30000) + "x"}, false},
		{"CVE-2021-32640-commas", []string{"Sec-WebSocket-Protocol: " + strings.Repeat(" ,", 15000) + "x"}, false},
		// CVE-2024-37890 (ws < 8.17.1): more headers than Node's
		// maxHeadersCount (2000) dropped the upgrade headers and crashed
		// ws.
		{"CVE-2024-37890", many, false},
		// GHSA-5v72-xg48-5rpm (ws < 3.3.1): extension and parameter names
		// that are Object.prototype properties crashed the
		// Sec-WebSocket-Extensions parser.
		{"GHSA-5v72-xg48-5rpm", []string{"Sec-WebSocket-Extensions: constructor, hasOwnProperty; __proto__=1; toString, " +
			"permessage-deflate; constructor=1; client_max_window_bits"}, false},
		{"GHSA-5v72-xg48-5rpm-deflate", []string{"Sec-WebSocket-Extensions: constructor, hasOwnProperty; __proto__=1; toString, " +
			"permessage-deflate; constructor=1; __proto__; server_no_context_takeover; client_max_window_bits"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := &engineio.ServerOptions{PingInterval: 20 * time.Second, PingTimeout: 10 * time.Second}
			if tc.pmd {
				opts.PerMessageDeflate = &engineio.PerMessageDeflateOptions{Threshold: 1 << 20}
			}
			s := newAdvServer(t, opts)
			c := dialRaw(t, s.addr)
			c.send(upgradeRequest("/engine.io/?EIO=4&transport=websocket", tc.lines...))
			resp, body := c.response()
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake: %s %q", resp.Status, body)
			}
			if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" {
				t.Fatalf("subprotocol %q selected", p)
			}
			sid := c.openSession()
			c.send(textFrame("4hello"))
			c.expectText("4hello")
			c.send(closeFrame(1000))
			if reason := s.closeReason(sid); reason != engineio.ReasonTransportClose {
				t.Fatalf("closed with %q", reason)
			}
			s.checkServes()
		})
	}
}

// TestAdvisoryBrokenHandshakes is CVE-2024-37890 from the other side: the
// headers ws lost (Upgrade, Sec-WebSocket-Key) missing or wrong. The
// handshake is refused with a 400, no session is left behind, and the
// server serves others.
func TestAdvisoryBrokenHandshakes(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  string
	}{
		{"CVE-2024-37890-no-key", "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
			"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"},
		{"CVE-2024-37890-no-connection", "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
			"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + wsKey + "\r\n\r\n"},
		{"CVE-2024-37890-bad-version", "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
			"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 12\r\nSec-WebSocket-Key: " + wsKey + "\r\n\r\n"},
		{"CVE-2024-37890-no-upgrade", "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
			"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + wsKey + "\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newAdvServer(t, nil)
			c := dialRaw(t, s.addr)
			c.send([]byte(tc.req))
			if resp, body := c.response(); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("got %s %q, want 400", resp.Status, body)
			}
			waitFor(t, "no client left after a refused handshake", func() bool { return s.eio.ClientsCount() == 0 })
			s.checkServes()
			if n := s.eio.ClientsCount(); n != 0 {
				t.Fatalf("ClientsCount %d after the sessions closed", n)
			}
		})
	}
}

// TestAdvisoryLargeMessages is CVE-2016-10542 (ws < 1.1.1, no maxPayload)
// and CVE-2026-48779 (ws < 8.21.0, one retained buffer per tiny fragment):
// a frame announcing more than MaxHTTPBufferSize, and a message whose
// fragments add up to more, close the session with 1009 (message too
// big); a message in tens of thousands of tiny fragments within the limit
// is delivered whole.
func TestAdvisoryLargeMessages(t *testing.T) {
	const limit = 100000
	opts := &engineio.ServerOptions{PingInterval: 20 * time.Second, PingTimeout: 10 * time.Second, MaxHTTPBufferSize: limit}
	huge := []byte{0x81, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4} // 2^62 bytes announced
	var over []byte
	over = append(over, frame(false, 0, opText, []byte("4"))...)
	for range limit / 1000 {
		over = append(over, frame(false, 0, opContinuation, make([]byte, 1000))...)
	}
	over = append(over, frame(true, 0, opContinuation, []byte("x"))...)
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"CVE-2016-10542", huge},
		{"CVE-2016-10542-limit-plus-one", frame(true, 0, opText, make([]byte, limit+1))},
		{"CVE-2026-48779-over-the-limit", over},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newAdvServer(t, opts)
			bc, bystander := s.wsSession()
			c, sid := s.wsSession()
			c.send(tc.bytes)
			if code := c.expectClose(); code != 1009 {
				t.Fatalf("close code %d, want 1009 (message too big)", code)
			}
			if reason := s.closeReason(sid); reason != engineio.ReasonTransportError {
				t.Fatalf("closed with %q", reason)
			}
			bc.send(textFrame("4bystander"))
			bc.expectText("4bystander")
			if !s.isOpen(bystander) {
				t.Fatal("the bystander session closed")
			}
			s.checkServes()
		})
	}

	t.Run("CVE-2026-48779", func(t *testing.T) {
		s := newAdvServer(t, opts)
		c, sid := s.wsSession()
		const parts = 50000
		var msg []byte
		msg = append(msg, frame(false, 0, opText, []byte("4"))...)
		want := []byte{'4'}
		for i := range parts {
			b := byte('a' + i%26)
			msg = append(msg, frame(false, 0, opContinuation, []byte{b})...)
			want = append(want, b)
			if i%1000 == 0 {
				// Empty fragments and control frames between them.
				msg = append(msg, frame(false, 0, opContinuation, nil)...)
				msg = append(msg, frame(true, 0, opPong, nil)...)
			}
		}
		msg = append(msg, frame(true, 0, opContinuation, nil)...)
		go func() { _, _ = c.conn.Write(msg) }() // the echo may come back while we write
		c.expectText(string(want))
		if !s.isOpen(sid) {
			t.Fatal("the session closed")
		}
	})
}

// TestAdvisoryCrossSiteWebSocket is CVE-2019-13611 (python-engineio <
// 3.8.2): WebSocket connections were accepted from any origin (cross-site
// WebSocket hijacking). As Node's engine.io, the server checks no origin
// by itself (browsers enforce no CORS on WebSocket), and AllowRequest is
// where an application refuses one: a WebSocket handshake it refuses gets
// Node's plain-text 400, and no session.
func TestAdvisoryCrossSiteWebSocket(t *testing.T) {
	opts := &engineio.ServerOptions{
		PingInterval: 20 * time.Second, PingTimeout: 10 * time.Second,
		AllowRequest: func(r *http.Request) error {
			if o := r.Header.Get("Origin"); o != "" && o != "https://app.example" {
				return errors.New("origin not allowed")
			}
			return nil
		},
	}
	s := newAdvServer(t, opts)
	c := dialRaw(t, s.addr)
	c.send(upgradeRequest("/engine.io/?EIO=4&transport=websocket", "Origin: https://evil.example"))
	resp, body := c.response()
	if resp.StatusCode != http.StatusBadRequest || body != "origin not allowed" {
		t.Fatalf("foreign origin: %s %q", resp.Status, body)
	}
	waitFor(t, "no client left after a refused handshake", func() bool { return s.eio.ClientsCount() == 0 })
	c = dialRaw(t, s.addr)
	c.send(upgradeRequest("/engine.io/?EIO=4&transport=websocket", "Origin: https://app.example"))
	if resp, body := c.response(); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("own origin: %s %q", resp.Status, body)
	}
	c.openSession()
}

// TestAdvisoryClientTLSDefaults is CVE-2016-10536 (engine.io-client <
// 1.6.9): the client did not verify the server's certificate by default.
// Ours does, on both transports.
func TestAdvisoryClientTLSDefaults(t *testing.T) {
	srv := httptest.NewUnstartedServer(engineio.NewServer(engineio.HandlerFunc(func(*engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{}
	}), nil))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused TLS handshakes
	srv.StartTLS()
	defer srv.Close()
	for _, transport := range []string{engineio.TransportPolling, engineio.TransportWebSocket} {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		c, err := engineio.Dial(ctx, srv.URL, &engineio.DialOptions{Transports: []string{transport}}, nil)
		cancel()
		if err == nil {
			_ = c.Close()
			<-c.Done()
			t.Fatalf("%s: connected to a server whose certificate no authority signed", transport)
		}
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("%s: error %v, want a certificate error", transport, err)
		}
	}
}

// TestShutdownDuringFailedHandshake: a WebSocket handshake that fails
// (here, the client goes before reading the 101) while Shutdown waits for
// every session. The session never opened, so it does not hold Shutdown
// until its deadline, and it is no client. (Found with the handshakes of
// CVE-2024-37890, whose refusal left ClientsCount counting a client.)
func TestShutdownDuringFailedHandshake(t *testing.T) {
	s := newRecordingServer(&engineio.ServerOptions{PingInterval: 20 * time.Second, PingTimeout: 10 * time.Second})
	l := servePipe(t, s)
	c := dialPipe(t, l)
	// The server's write of the 101 blocks: nobody reads the pipe.
	go func() { _, _ = c.conn.Write(upgradeRequest("/engine.io/?EIO=4&transport=websocket")) }()
	waitFor(t, "the handshake under way", func() bool { return s.eio.ClientsCount() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- s.eio.Shutdown(ctx) }()
	// Shutdown has taken its list of sessions once it refuses handshakes.
	waitFor(t, "Shutdown started", func() bool {
		p := dialPipe(t, l)
		go func() {
			_, _ = p.conn.Write([]byte("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"))
		}()
		resp, _ := p.response()
		_ = p.conn.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	_ = c.conn.Close() // the handshake fails
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := s.eio.ClientsCount(); n != 0 {
		t.Fatalf("ClientsCount %d after the failed handshake", n)
	}
}

// TestClientNegativeLength: a server (or a man in the middle of ws://)
// sends the Go client a frame whose 64-bit length has its top bit set. The
// connection closes with "transport error"; before, the library's panic in
// the client's read loop killed the whole process.
func TestClientNegativeLength(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(testutil.WaitTimeout))
		br := bufio.NewReader(conn)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		open := `0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":[],"pingInterval":20000,"pingTimeout":10000,"maxPayload":1000000}`
		var out []byte
		out = append(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			base64.StdEncoding.EncodeToString(h[:])+"\r\n\r\n"...)
		out = append(out, 0x81, byte(len(open)))
		out = append(out, open...)
		out = append(out, 0x82, 127, 0xff, 0, 0, 0, 0, 0, 0, 4) // unmasked, as a server's
		_, _ = conn.Write(out)
		_, _ = io.Copy(io.Discard, br) // until the client goes
	}()

	rec := newRecorder(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	c, err := engineio.Dial(ctx, "ws://"+ln.Addr().String(), &engineio.DialOptions{Transports: []string{engineio.TransportWebSocket}}, rec)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	rec.expectClose(engineio.ReasonTransportError)
	awaitDone(t, c)
	<-served
}

// updateSeeds rewrites the advisory seeds of testdata/fuzz from the tables
// below: go test ./engineio -run Seeds -update-seeds
var updateSeeds = flag.Bool("update-seeds", false, "rewrite the advisory seed files of testdata/fuzz")

// pollingPostAdvisories are FuzzPollingPost seeds (its server allows 4096
// bytes); TestAdvisoryPollingBodies checks their precise outcome at full
// size.
var pollingPostAdvisories = map[string]string{
	"CVE-2020-36048":              "4" + strings.Repeat("2", 5000),
	"CVE-2020-36048-many-packets": strings.Repeat("6\x1e", 2000) + "6",
	"CVE-2020-36048-v3-framing":   "99999991:4" + strings.Repeat("2", 100),
	"GHSA-cgwc-pv48-fhj5":         strings.Repeat("3\x1e", 999) + "3",
	"socketioxide-739-v3-payload": "6:42[{}]11:4abcdefghij1:2",
}

// webSocketAdvisories are FuzzWebSocketFrames seeds (raw bytes, or frames
// as fuzzFrames reads them); TestAdvisoryInvalidFrames and
// TestAdvisoryLargeMessages check their precise outcome.
var webSocketAdvisories = map[string]struct {
	data []byte
	raw  bool
}{
	"CVE-2022-21676":           {[]byte("test"), true},
	"CVE-2022-21676-rsv2-rsv3": {fuzzFrameBytes(fr{0xb1, "4x"}), false},
	"CVE-2016-10542":           {[]byte{0x81, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, true},
	"CVE-2016-10542-frame":     {fuzzFrameBytes(fr{0x81, "4" + strings.Repeat("x", 220)}), false},
	"CVE-2026-48779": {func() []byte {
		frames := []fr{{0x01, "4"}}
		for range 60 {
			frames = append(frames, fr{0x00, "x"}, fr{0x00, ""})
		}
		return fuzzFrameBytes(append(frames, fr{0x80, ""})...)
	}(), false},
	"CVE-2026-48779-over-the-limit": {func() []byte {
		frames := []fr{{0x01, "4"}}
		for range 5 {
			frames = append(frames, fr{0x00, strings.Repeat("x", 50)})
		}
		return fuzzFrameBytes(append(frames, fr{0x80, ""})...)
	}(), false},
}

// TestAdvisorySeeds keeps the advisory seeds of the fuzz corpora equal to
// the tables of this file.
func TestAdvisorySeeds(t *testing.T) {
	check := func(target, name string, want []byte) {
		t.Helper()
		path := filepath.Join("testdata", "fuzz", target, name)
		if *updateSeeds {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("seed %s differs from the table (%v); run with -update-seeds", path, err)
		}
	}
	for name, body := range pollingPostAdvisories {
		check("FuzzPollingPost", name, []byte(fmt.Sprintf("go test fuzz v1\nstring(%q)\n", body)))
	}
	for name, s := range webSocketAdvisories {
		check("FuzzWebSocketFrames", name, []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", s.data, s.raw)))
	}
}
