package engineio_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/testutil"
)

// The limits of SECURITY.md, each at its boundary (exactly the limit is
// accepted, one past it refused), and the security defaults of the same
// file. The fault tests (faults_test.go) share the harness at the end of
// this file. No test measures time: every wait is a hang guard.

// --- maxHttpBufferSize -------------------------------------------------------

// TestLimitPostBody: a polling POST body of exactly MaxHTTPBufferSize bytes
// is accepted, one byte more is refused with 413, whether the size is
// announced (Content-Length) or only found while reading (chunked). As in
// Node, the refusal leaves the session open.
func TestLimitPostBody(t *testing.T) {
	const limit = 64
	for _, tc := range []struct {
		name    string
		chunked bool
	}{{"content-length", false}, {"chunked", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := hdOptions(time.Minute, time.Minute)
			opts.MaxHTTPBufferSize = limit
			hs := newHardServer(t, opts)
			sid := hs.openPolling()
			atLimit := "4" + strings.Repeat("a", limit-1)
			pastLimit := "4" + strings.Repeat("b", limit)

			r := hs.post(sid, atLimit, tc.chunked)
			testutil.ExpectResponse(t, "POST of exactly the limit", r, http.StatusOK, "ok")
			testutil.ExpectResponse(t, "echo", hs.Get(sidQuery(sid)), http.StatusOK, atLimit)

			if r := hs.post(sid, pastLimit, tc.chunked); r.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("POST of limit+1 bytes: %d %q, want 413", r.Status, r.Body)
			}
			// The session goes on.
			testutil.ExpectResponse(t, "POST after the refusal", hs.post(sid, "4again", tc.chunked), http.StatusOK, "ok")
			testutil.ExpectResponse(t, "echo after the refusal", hs.Get(sidQuery(sid)), http.StatusOK, "4again")
		})
	}
}

// TestLimitWebSocketFrame: a WebSocket frame whose payload is exactly
// MaxHTTPBufferSize bytes is delivered; one byte more closes that session
// with "transport error" (close code 1009, as ws's maxPayload), and no
// other.
func TestLimitWebSocketFrame(t *testing.T) {
	const limit = 64
	opts := hdOptions(time.Minute, time.Minute)
	opts.MaxHTTPBufferSize = limit
	hs := newHardServer(t, opts)
	bystander, _ := hs.openWS()

	c, sid := hs.openWS()
	atLimit := "4" + strings.Repeat("a", limit-1)
	c.SendText(atLimit)
	c.ExpectTextSkippingPings(atLimit)
	c.SendTextUnlessClosed("4" + strings.Repeat("b", limit))
	c.ExpectClosed()
	if got := hs.waitClosed(sid, testutil.WaitTimeout); got.reason != engineio.ReasonTransportError {
		t.Fatalf("close reason %q (%v), want %q", got.reason, got.cause, engineio.ReasonTransportError)
	}

	bystander.SendText(atLimit)
	bystander.ExpectTextSkippingPings(atLimit)

	// The close code, on a raw connection.
	raw := hs.dialRaw(hs.http.Listener.Addr().String(), "EIO=4&transport=websocket")
	raw.openSession()
	raw.write(hdFrame(hdOpText, []byte("4"+strings.Repeat("c", limit))))
	if code := raw.closeCode(); code != 1009 {
		t.Fatalf("close code %d, want 1009 (message too big)", code)
	}
}

// --- pending polling requests -------------------------------------------------

// TestLimitPendingGET: one GET may wait per session. A second concurrent
// GET is answered 400 and closes the session with "transport error", as in
// Node; the pending GET gets the close packet.
func TestLimitPendingGET(t *testing.T) {
	hs := newHardServer(t, hdOptions(time.Minute, time.Minute))
	other := hs.openPolling()
	sid := hs.openPolling()
	first := hs.GetAsync(sidQuery(sid))
	hs.waitPollPending(sid)

	second := hs.Get(sidQuery(sid))
	if second.Status != http.StatusBadRequest {
		t.Fatalf("second concurrent GET: %d %q, want 400", second.Status, second.Body)
	}
	got := hs.waitClosed(sid, testutil.WaitTimeout)
	if got.reason != engineio.ReasonTransportError {
		t.Fatalf("close reason %q (%v), want %q", got.reason, got.cause, engineio.ReasonTransportError)
	}
	testutil.ExpectResponse(t, "first GET", testutil.Await(t, "first GET", first), http.StatusOK, "1")
	expectSessionGone(t, hs.ts(), sid)

	testutil.ExpectResponse(t, "other session POST", hs.Post(sidQuery(other), "4fine"), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "other session GET", hs.Get(sidQuery(other)), http.StatusOK, "4fine")
}

// TestLimitPendingPOST: one POST may be read per session. A second POST
// while the first one's body is still arriving is answered 400 and closes
// the session with "transport error", as in Node; the first POST, whose
// body will never be complete, is aborted (Node destroys it) rather than
// left holding its connection and goroutine.
func TestLimitPendingPOST(t *testing.T) {
	hs := newHardServer(t, hdOptions(time.Minute, time.Minute))
	other := hs.openPolling()
	sid := hs.openPolling()

	// The first POST announces 100 bytes and sends 10.
	first := hs.dialRaw(hs.http.Listener.Addr().String(), "")
	first.write(fmt.Appendf(nil, "POST /engine.io/?%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 100\r\n\r\n4012345678", sidQuery(sid)))
	hs.waitBodyRead(sid)

	second := hs.Post(sidQuery(sid), "4second")
	if second.Status != http.StatusBadRequest {
		t.Fatalf("second concurrent POST: %d %q, want 400", second.Status, second.Body)
	}
	got := hs.waitClosed(sid, testutil.WaitTimeout)
	if got.reason != engineio.ReasonTransportError {
		t.Fatalf("close reason %q (%v), want %q", got.reason, got.cause, engineio.ReasonTransportError)
	}
	// The first POST ends: the server closes its connection, after a 400
	// at most (never a 200: its body was not taken).
	if status := first.awaitResponseOrEnd(); status != 0 && status != http.StatusBadRequest {
		t.Fatalf("first POST answered %d, want 400 or its connection closed", status)
	}
	hs.waitIdle()

	testutil.ExpectResponse(t, "other session POST", hs.Post(sidQuery(other), "4fine"), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "other session GET", hs.Get(sidQuery(other)), http.StatusOK, "4fine")
}

// --- send buffer ---------------------------------------------------------------

// TestLimitMaxBufferedBytes: a session may have exactly MaxBufferedBytes
// (encoded) queued for its client; one byte more is refused with
// ErrSlowConsumer and closes the session with "transport error", cause
// ErrSlowConsumer. Other sessions are unaffected.
func TestLimitMaxBufferedBytes(t *testing.T) {
	const limit = 1000
	opts := hdOptions(time.Minute, time.Minute)
	opts.MaxBufferedBytes = limit
	hs := newHardServer(t, opts)
	other := hs.openPolling()
	sid := hs.openPolling() // the handshake GET took the open packet: the queue is empty
	s := hs.session(sid)

	msg := []byte(strings.Repeat("m", 99)) // 100 bytes encoded ("4" + data)
	for i := range limit / 100 {
		if err := s.Send(msg, false); err != nil {
			t.Fatalf("Send %d (%d bytes queued): %v", i, (i+1)*100, err)
		}
	}
	if err := s.Send([]byte{}, false); !errors.Is(err, engineio.ErrSlowConsumer) {
		t.Fatalf("Send past the limit: %v, want ErrSlowConsumer", err)
	}
	got := hs.waitClosed(sid, testutil.WaitTimeout)
	if got.reason != engineio.ReasonTransportError || !errors.Is(got.cause, engineio.ErrSlowConsumer) {
		t.Fatalf("closed with %q (%v), want %q (ErrSlowConsumer)", got.reason, got.cause, engineio.ReasonTransportError)
	}
	testutil.ExpectResponse(t, "other session POST", hs.Post(sidQuery(other), "4fine"), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "other session GET", hs.Get(sidQuery(other)), http.StatusOK, "4fine")
}

// --- behind an http.Server -----------------------------------------------------

// TestHTTPServerSettings checks what SECURITY.md ("Behind your
// http.Server") says, scaled down: with ReadHeaderTimeout, ReadTimeout,
// IdleTimeout and MaxHeaderBytes all shorter than the heartbeat, polling
// and WebSocket sessions live on across several ping cycles (net/http
// lifts the read deadline of a long-polling GET once its headers are read,
// and every deadline of a hijacked WebSocket connection); a client that
// sends its headers slowly is cut off, and oversized headers are refused.
// A WriteTimeout shorter than PingInterval, though, cuts the long-polling
// GET that carries the next ping, and the session dies: the reason for the
// rule "no WriteTimeout shorter than PingInterval + PingTimeout".
func TestHTTPServerSettings(t *testing.T) {
	const interval, timeout = 300 * time.Millisecond, 200 * time.Millisecond
	serve := func(t *testing.T, hs *http.Server) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = hs.Serve(ln) }()
		t.Cleanup(func() { _ = hs.Close() })
		return ln.Addr().String()
	}
	newEngine := func(t *testing.T) (*engineio.Server, chan string) {
		closed := make(chan string, 4)
		eio := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
			return engineio.SessionFuncs{
				Message: func(data []byte, binary bool) { _ = s.Send(data, binary) },
				Close:   func(reason string, _ error) { closed <- reason },
			}
		}), hdOptions(interval, timeout))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
			defer cancel()
			_ = eio.Shutdown(ctx)
		})
		return eio, closed
	}
	// pings dials a client and waits for n pings from the server, then
	// checks an echo.
	pings := func(t *testing.T, addr, transport string, n int) {
		pinged := make(chan struct{}, 16)
		got := make(chan string, 1)
		c, err := engineio.Dial(context.Background(), "http://"+addr, &engineio.DialOptions{Transports: []string{transport}, Timeout: testutil.WaitTimeout},
			engineio.ClientFuncs{
				Ping:    func() { pinged <- struct{}{} },
				Message: func(data []byte, _ bool) { got <- string(data) },
			})
		if err != nil {
			t.Fatalf("%s: dial: %v", transport, err)
		}
		defer func() { _ = c.Close(); <-c.Done() }()
		for i := range n {
			select {
			case <-pinged:
			case <-c.Done():
				t.Fatalf("%s: connection closed after %d pings", transport, i)
			case <-time.After(testutil.WaitTimeout):
				t.Fatalf("%s: no ping %d within %v", transport, i+1, testutil.WaitTimeout)
			}
		}
		_ = c.Send([]byte("still here"), false)
		select {
		case m := <-got:
			if m != "still here" {
				t.Fatalf("%s: echo %q", transport, m)
			}
		case <-time.After(testutil.WaitTimeout):
			t.Fatalf("%s: no echo", transport)
		}
	}

	t.Run("recommended", func(t *testing.T) {
		eio, _ := newEngine(t)
		addr := serve(t, &http.Server{
			Handler:           eio,
			ReadHeaderTimeout: 100 * time.Millisecond,
			ReadTimeout:       150 * time.Millisecond,
			IdleTimeout:       150 * time.Millisecond,
			WriteTimeout:      2 * (interval + timeout),
			MaxHeaderBytes:    4 << 10,
		})
		pings(t, addr, engineio.TransportPolling, 3)
		pings(t, addr, engineio.TransportWebSocket, 3)

		// Slow headers: the connection is closed after ReadHeaderTimeout.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
		if _, err := io.ReadAll(conn); err != nil {
			t.Fatalf("slow-header client: %v, want its connection closed by the server", err)
		}

		// Oversized headers.
		big := http.Header{"X-Big": {strings.Repeat("h", 8<<10)}}
		r := testutil.Request(http.DefaultClient, http.MethodGet, "http://"+addr+"/engine.io/?EIO=4&transport=polling", "", big)
		if r.Err != nil || r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("oversized headers: %d %v, want 431", r.Status, r.Err)
		}
		http.DefaultClient.CloseIdleConnections()
	})

	t.Run("WriteTimeout below PingInterval", func(t *testing.T) {
		eio, closed := newEngine(t)
		addr := serve(t, &http.Server{Handler: eio, WriteTimeout: interval / 2})
		c, err := engineio.Dial(context.Background(), "http://"+addr, &engineio.DialOptions{Transports: []string{"polling"}, Timeout: testutil.WaitTimeout}, engineio.ClientFuncs{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close(); <-c.Done() }()
		// The client sees its poll fail (and says so with a close packet),
		// or the server misses the pong of the ping it never delivered:
		// either way the session dies.
		select {
		case reason := <-closed:
			t.Logf("session closed with %q", reason)
		case <-time.After(testutil.WaitTimeout):
			t.Fatal("session still open: a WriteTimeout shorter than PingInterval no longer breaks polling; update SECURITY.md")
		}
	})
}

// --- security defaults -----------------------------------------------------------

// TestSecurityCORS: with no CORS option no CORS header is ever sent (not on
// a handshake, not on a preflight); with credentials, "*" is never sent,
// whatever the configuration: the request's origin is echoed, and a
// request without one gets no Access-Control-Allow-Origin at all.
func TestSecurityCORS(t *testing.T) {
	origin := http.Header{"Origin": {"https://evil.example"}}
	preflight := http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"x-token"}}
	noCORS := func(t *testing.T, what string, r testutil.Response) {
		t.Helper()
		for k := range r.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: %s: %q, want no CORS header", what, k, r.Header.Get(k))
			}
		}
	}

	t.Run("closed by default", func(t *testing.T) {
		hs := newHardServer(t, hdOptions(time.Minute, time.Minute))
		r := hs.Do(http.MethodGet, "EIO=4&transport=polling", "", origin)
		if r.Status != http.StatusOK {
			t.Fatalf("handshake: %d", r.Status)
		}
		noCORS(t, "handshake", r)
		sid := sidOf(t, r.Body)
		noCORS(t, "POST", hs.Do(http.MethodPost, sidQuery(sid), "4x", origin))
		pre := hs.Do(http.MethodOptions, "EIO=4&transport=polling", "", preflight)
		if pre.Status == http.StatusNoContent || pre.Status == http.StatusOK {
			t.Errorf("preflight answered %d, want a refusal", pre.Status)
		}
		noCORS(t, "preflight", pre)
	})

	for _, tc := range []struct {
		name string
		cors *engineio.CORSOptions
	}{
		{"wildcard", &engineio.CORSOptions{Origins: []string{"*"}, Credentials: true}},
		{"wildcard among others", &engineio.CORSOptions{Origins: []string{"https://a.example", "*"}, Credentials: true}},
		{"AllowOrigin", &engineio.CORSOptions{AllowOrigin: func(string, *http.Request) bool { return true }, Credentials: true}},
	} {
		t.Run("credentials/"+tc.name, func(t *testing.T) {
			opts := hdOptions(time.Minute, time.Minute)
			opts.CORS = tc.cors
			hs := newHardServer(t, opts)
			for _, req := range []struct {
				what, method string
				header       http.Header
			}{
				{"handshake", http.MethodGet, origin},
				{"preflight", http.MethodOptions, preflight},
			} {
				r := hs.Do(req.method, "EIO=4&transport=polling", "", req.header)
				if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://evil.example" {
					t.Errorf("%s: Access-Control-Allow-Origin %q, want the origin echoed", req.what, got)
				}
				if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
					t.Errorf("%s: Access-Control-Allow-Credentials %q", req.what, got)
				}
			}
			r := hs.Do(http.MethodGet, "EIO=4&transport=polling", "", nil)
			if got := r.Header.Values("Access-Control-Allow-Origin"); len(got) != 0 {
				t.Errorf("no Origin: Access-Control-Allow-Origin %q, want none", got)
			}
		})
	}
}

// TestSecurityCookie: the session cookie, when on, is HttpOnly and
// SameSite=Lax unless configured otherwise, keeps Secure and SameSite as
// configured, and is off by default.
func TestSecurityCookie(t *testing.T) {
	for _, tc := range []struct {
		name string
		co   *engineio.CookieOptions
		want string // with <sid>
	}{
		{"off", nil, ""},
		{"defaults", &engineio.CookieOptions{}, "io=<sid>; Path=/; HttpOnly; SameSite=Lax"},
		{"strict secure", &engineio.CookieOptions{Name: "sticky", Secure: true, SameSite: http.SameSiteStrictMode}, "sticky=<sid>; Path=/; HttpOnly; Secure; SameSite=Strict"},
		{"none secure", &engineio.CookieOptions{Secure: true, SameSite: http.SameSiteNoneMode}, "io=<sid>; Path=/; HttpOnly; Secure; SameSite=None"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := hdOptions(time.Minute, time.Minute)
			opts.Cookie = tc.co
			hs := newHardServer(t, opts)
			r := hs.Get("EIO=4&transport=polling")
			sid := sidOf(t, r.Body)
			if got, want := r.Header.Get("Set-Cookie"), strings.ReplaceAll(tc.want, "<sid>", sid); got != want {
				t.Fatalf("Set-Cookie %q, want %q", got, want)
			}
		})
	}
}

// TestSecuritySessionIDs: session ids are 20 characters of URL-safe
// base64, that is 15 bytes, 120 bits, with no padding and no fixed part:
// distinct over many sessions, and every character position takes many
// values (a counter or a clock would leave positions fixed).
func TestSecuritySessionIDs(t *testing.T) {
	const n = 1000
	hs := newHardServer(t, hdOptions(time.Minute, time.Minute))
	seen := make(map[string]bool, n)
	var perPos [20]map[byte]bool
	for i := range perPos {
		perPos[i] = make(map[byte]bool)
	}
	for i := range n {
		r := hs.Get("EIO=4&transport=polling")
		if r.Status != http.StatusOK {
			t.Fatalf("handshake %d: %d", i, r.Status)
		}
		sid := sidOf(t, r.Body)
		b, err := base64.RawURLEncoding.DecodeString(sid)
		if len(sid) != 20 || err != nil || len(b) != 15 {
			t.Fatalf("sid %q: not 20 characters of URL-safe base64 (15 bytes): %v", sid, err)
		}
		if seen[sid] {
			t.Fatalf("sid %q given twice in %d sessions", sid, i+1)
		}
		seen[sid] = true
		for p := range 20 {
			perPos[p][sid[p]] = true
		}
		_ = hs.session(sid).Close()
	}
	for p, vals := range perPos {
		// 1000 draws of 64 values: all 64 appear but with a probability
		// of about 1e-5 per position; fewer than 48 is impossible in
		// practice.
		if len(vals) < 48 {
			t.Errorf("position %d of the ids takes only %d values over %d ids", p, len(vals), n)
		}
	}
}

// TestSecurityAllowRequest: AllowRequest refuses a handshake before any
// session exists, on both transports: Node's 403 {"code":4,...} (a plain
// 400 for a WebSocket), no Connection hook, no client counted, no session
// registered.
func TestSecurityAllowRequest(t *testing.T) {
	opts := hdOptions(time.Minute, time.Minute)
	var asked atomic.Int64
	opts.AllowRequest = func(r *http.Request) error {
		asked.Add(1)
		if r.Header.Get("X-Token") != "ok" {
			return errors.New("no token")
		}
		return nil
	}
	var refusals atomic.Int64
	opts.Hooks.ConnectionError = func(_ *http.Request, code int, _ string) {
		if code == engineio.CodeForbidden {
			refusals.Add(1)
		}
	}
	hs := newHardServer(t, opts)

	testutil.ExpectEngineError(t, "polling without token", hs.Get("EIO=4&transport=polling"), http.StatusForbidden, `{"code":4,"message":"no token"}`)
	testutil.ExpectWSRefused(t, hs.WSURL("EIO=4&transport=websocket"))
	if n := hs.opened.Load(); n != 0 {
		t.Fatalf("Connection hook called %d times for refused requests", n)
	}
	if n := hs.eio.ClientsCount(); n != 0 {
		t.Fatalf("ClientsCount %d after refused requests", n)
	}
	if a, r := asked.Load(), refusals.Load(); a != 2 || r != 2 {
		t.Fatalf("AllowRequest asked %d times, %d refusals, want 2 and 2", a, r)
	}

	r := hs.Do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"X-Token": {"ok"}})
	if r.Status != http.StatusOK {
		t.Fatalf("handshake with token: %d %q", r.Status, r.Body)
	}
	if n := hs.opened.Load(); n != 1 {
		t.Fatalf("Connection hook called %d times, want 1", n)
	}
	// Requests of an existing session are not asked again (as Node).
	sid := sidOf(t, r.Body)
	testutil.ExpectResponse(t, "POST of the session", hs.Post(sidQuery(sid), "4x"), http.StatusOK, "ok")
	if a := asked.Load(); a != 3 {
		t.Fatalf("AllowRequest asked %d times, want 3 (handshakes only)", a)
	}
}

// --- harness shared with faults_test.go ----------------------------------------

// hdOptions are server options with the given heartbeat and Node's other
// defaults.
func hdOptions(interval, timeout time.Duration) *engineio.ServerOptions {
	return &engineio.ServerOptions{PingInterval: interval, PingTimeout: timeout}
}

// hdClose is how a session closed.
type hdClose struct {
	reason string
	cause  error
}

// hardServer is an echo server that records its sessions and how each
// closed, counts handshakes (the Connection hook) and the requests being
// served, and lets a test see when a POST body starts being read.
type hardServer struct {
	*testutil.Endpoint
	t      *testing.T
	eio    *engineio.Server
	http   *httptest.Server
	opened atomic.Int64
	active atomic.Int64 // requests inside the engine's ServeHTTP

	mu       sync.Mutex
	sessions map[string]*engineio.Session
	closes   map[string]hdClose
	reading  map[string]bool // sid: a POST of it has started reading its body
}

// newHardServer starts an echo server with opts (hooks Connection and Close
// are the harness's) and shuts it down at cleanup.
func newHardServer(t *testing.T, opts *engineio.ServerOptions) *hardServer {
	t.Helper()
	hs := &hardServer{t: t, sessions: map[string]*engineio.Session{}, closes: map[string]hdClose{}, reading: map[string]bool{}}
	o := *opts
	o.Hooks.Connection = func(*engineio.Session) { hs.opened.Add(1) }
	o.Hooks.Close = func(s *engineio.Session, reason string, cause error) {
		hs.mu.Lock()
		hs.closes[s.ID()] = hdClose{reason, cause}
		hs.mu.Unlock()
	}
	hs.eio = engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		hs.mu.Lock()
		hs.sessions[s.ID()] = s
		hs.mu.Unlock()
		return engineio.SessionFuncs{Message: func(data []byte, binary bool) { _ = s.Send(data, binary) }}
	}), &o)
	hs.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.active.Add(1)
		defer hs.active.Add(-1)
		if r.Method == http.MethodPost {
			sid := r.URL.Query().Get("sid")
			r.Body = &hdSignalBody{ReadCloser: r.Body, first: func() {
				hs.mu.Lock()
				hs.reading[sid] = true
				hs.mu.Unlock()
			}}
		}
		hs.eio.ServeHTTP(w, r)
	}))
	hs.Endpoint = engineEndpoint(t, hs.http)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		defer cancel()
		if err := hs.eio.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.http.Close()
	})
	return hs
}

// hdSignalBody calls first at the first Read of a request body.
type hdSignalBody struct {
	io.ReadCloser
	once  sync.Once
	first func()
}

func (b *hdSignalBody) Read(p []byte) (int, error) {
	b.once.Do(b.first)
	return b.ReadCloser.Read(p)
}

// ts is the server as the conformance helpers know it.
func (hs *hardServer) ts() *testServer {
	return &testServer{Endpoint: hs.Endpoint, t: hs.t, eio: hs.eio, http: hs.http}
}

// session returns the server side of session sid.
func (hs *hardServer) session(sid string) *engineio.Session {
	hs.t.Helper()
	hs.mu.Lock()
	defer hs.mu.Unlock()
	s := hs.sessions[sid]
	if s == nil {
		hs.t.Fatalf("no session %q", sid)
	}
	return s
}

// openPolling opens a polling session and returns its id.
func (hs *hardServer) openPolling() string {
	hs.t.Helper()
	r := hs.Get("EIO=4&transport=polling")
	if r.Status != http.StatusOK {
		hs.t.Fatalf("polling handshake: %d %q", r.Status, r.Body)
	}
	return sidOf(hs.t, r.Body)
}

// openWS opens a WebSocket session whose client answers pings itself.
func (hs *hardServer) openWS() (*testutil.WSConn, string) {
	hs.t.Helper()
	c := testutil.MustDial(hs.t, hs.WSURL("EIO=4&transport=websocket"), &testutil.DialOptions{AutoPong: true})
	f := c.Next()
	return c, sidOf(hs.t, string(f.Data))
}

// post sends a POST, with a Content-Length or chunked.
func (hs *hardServer) post(sid, body string, chunked bool) testutil.Response {
	hs.t.Helper()
	if !chunked {
		return hs.Post(sidQuery(sid), body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	// A reader of unknown length: the request is sent chunked.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL(sidQuery(sid)), struct{ io.Reader }{strings.NewReader(body)})
	if err != nil {
		hs.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := hs.http.Client().Do(req)
	if err != nil {
		hs.t.Fatalf("chunked POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return testutil.Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// waitClosed waits until session sid has closed and returns how.
func (hs *hardServer) waitClosed(sid string, bound time.Duration) hdClose {
	hs.t.Helper()
	deadline := time.Now().Add(bound)
	for {
		hs.mu.Lock()
		c, ok := hs.closes[sid]
		hs.mu.Unlock()
		if ok {
			return c
		}
		if time.Now().After(deadline) {
			hs.t.Fatalf("session %s still open after %v (hang guard)", sid, bound)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// isClosed reports whether session sid has closed.
func (hs *hardServer) isClosed(sid string) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	_, ok := hs.closes[sid]
	return ok
}

// waitPollPending waits until a GET of sid is pending on the server.
func (hs *hardServer) waitPollPending(sid string) {
	hs.t.Helper()
	s := hs.session(sid)
	hdEventually(hs.t, "GET pending", s.Writable)
}

// waitBodyRead waits until a POST of sid has started reading its body.
func (hs *hardServer) waitBodyRead(sid string) {
	hs.t.Helper()
	hdEventually(hs.t, "POST body being read", func() bool {
		hs.mu.Lock()
		defer hs.mu.Unlock()
		return hs.reading[sid]
	})
}

// waitIdle waits until no request is being served.
func (hs *hardServer) waitIdle() {
	hs.t.Helper()
	hdEventually(hs.t, "no request left in the server", func() bool { return hs.active.Load()+engineio.ReadLoops(hs.eio) == 0 })
}

// hdEventually polls cond until it holds, failing the test after
// testutil.WaitTimeout (a hang guard).
func hdEventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testutil.WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %v", what, testutil.WaitTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// --- a raw TCP client, for requests and frames no library sends ---------------

// hdRaw is a raw client connection; it is closed at cleanup.
type hdRaw struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// dialRaw connects to addr and, when query is not empty, performs a
// WebSocket handshake to the engine path with it.
func (hs *hardServer) dialRaw(addr, query string) *hdRaw {
	return hdDialRaw(hs.t, addr, query)
}

func hdDialRaw(t *testing.T, addr, query string) *hdRaw {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, testutil.WaitTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &hdRaw{t: t, conn: conn, br: bufio.NewReader(conn)}
	if query != "" {
		c.handshake(query)
	}
	return c
}

// handshake sends a WebSocket upgrade request and reads the 101.
func (c *hdRaw) handshake(query string) {
	c.t.Helper()
	c.write(hdUpgradeRequest(query))
	_ = c.conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("handshake response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.t.Fatalf("handshake: status %d", resp.StatusCode)
	}
}

// hdUpgradeRequest is a WebSocket handshake request to the engine path.
func hdUpgradeRequest(query string) []byte {
	return []byte("GET /engine.io/?" + query + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
}

func (c *hdRaw) write(b []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(testutil.WaitTimeout))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one server frame (unmasked) within WaitTimeout.
func (c *hdRaw) readFrame() (opcode byte, payload []byte, err error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	return hdReadFrame(c.br)
}

// openSession reads the open packet and returns the session id.
func (c *hdRaw) openSession() string {
	c.t.Helper()
	op, p, err := c.readFrame()
	if err != nil || op != hdOpText || len(p) == 0 || p[0] != '0' {
		c.t.Fatalf("open packet: opcode %d %q %v", op, p, err)
	}
	return sidOf(c.t, string(p))
}

// closeCode reads frames until a close frame and returns its code; -1 when
// the connection ends without one.
func (c *hdRaw) closeCode() int {
	for {
		op, p, err := c.readFrame()
		if err != nil {
			return -1
		}
		if op == hdOpClose {
			if len(p) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

// awaitEnd reads until the server closes the connection; it fails only
// when nothing ends it within WaitTimeout.
func (c *hdRaw) awaitEnd() error {
	_ = c.conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	_, err := io.Copy(io.Discard, c.br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("connection still open after %v (hang guard)", testutil.WaitTimeout)
	}
	return nil
}

// awaitResponseOrEnd reads the server's answer to a request and then
// until the connection ends. It returns the status of the answer, 0 when
// the connection ended without one; it fails the test when the connection
// is still open after WaitTimeout.
func (c *hdRaw) awaitResponseOrEnd() int {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	status := 0
	if resp, err := http.ReadResponse(c.br, nil); err == nil {
		status = resp.StatusCode
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	if err := c.awaitEnd(); err != nil {
		c.t.Fatal(err)
	}
	return status
}

// reset closes the connection with a TCP RST.
func (c *hdRaw) reset() {
	if tc, ok := c.conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.conn.Close()
}

// WebSocket opcodes.
const (
	hdOpText  = 0x1
	hdOpClose = 0x8
)

// hdFrame is a masked client frame with FIN set.
func hdFrame(opcode byte, payload []byte) []byte {
	out := []byte{0x80 | opcode}
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
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, key[:]...)
	for i, b := range payload {
		out = append(out, b^key[i%4])
	}
	return out
}

// hdReadFrame reads one unmasked, unfragmented server frame.
func hdReadFrame(br *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > 64<<20 {
		return 0, nil, fmt.Errorf("server frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, p, nil
}
