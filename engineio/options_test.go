package engineio_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/go-sio/socketio/engineio"
)

func TestJSONPPolling(t *testing.T) {
	ts := newEchoServer(t, nil)
	hs := ts.get("EIO=4&transport=polling&j=3")
	if hs.status != 200 || !strings.HasPrefix(hs.body, `___eio[3]("0{\"sid\":\"`) || !strings.HasSuffix(hs.body, `");`) {
		t.Fatalf("JSONP handshake: %d %q", hs.status, hs.body)
	}
	sid := hs.body[len(`___eio[3]("0{\"sid\":\"`):][:20]

	// The form body carries the payload in "d"; "\n" escapes become newlines.
	form := url.Values{"d": {`4line1\nline2`}}.Encode()
	r := ts.do(http.MethodPost, sidQuery(sid)+"&j=3", form, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	expectResponse(t, "JSONP POST", r, 200, "ok")
	expectResponse(t, "JSONP GET", ts.get(sidQuery(sid)+"&j=3"), 200, `___eio[3]("4line1\nline2");`)
}

func TestPollingCompression(t *testing.T) {
	big := "4" + strings.Repeat("a", 2000)
	for _, tc := range []struct {
		name, accept, wantEnc string
		opts                  *engineio.HTTPCompressionOptions
	}{
		{"gzip", "gzip, deflate", "gzip", nil},
		{"deflate", "deflate", "deflate", nil},
		{"not accepted", "identity", "", nil},
		{"gzip refused", "gzip;q=0, deflate", "deflate", nil},
		{"disabled", "gzip", "", &engineio.HTTPCompressionOptions{Disabled: true}},
		{"above threshold", "gzip", "", &engineio.HTTPCompressionOptions{Threshold: 4096}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := suiteOptions()
			opts.HTTPCompression = tc.opts
			ts := newEchoServer(t, opts)
			sid := openPolling(t, ts)
			expectResponse(t, "POST", ts.post(sidQuery(sid), big), 200, "ok")
			r := ts.do(http.MethodGet, sidQuery(sid), "", http.Header{"Accept-Encoding": {tc.accept}})
			if r.err != nil || r.status != 200 {
				t.Fatalf("GET: %d %v", r.status, r.err)
			}
			if enc := r.header.Get("Content-Encoding"); enc != tc.wantEnc {
				t.Fatalf("Content-Encoding %q, want %q", enc, tc.wantEnc)
			}
			var body io.Reader = strings.NewReader(r.body)
			switch tc.wantEnc {
			case "gzip":
				body, _ = gzip.NewReader(body)
			case "deflate":
				body, _ = zlib.NewReader(body)
			}
			got, err := io.ReadAll(body)
			if err != nil || string(got) != big {
				t.Fatalf("decoded body: %d bytes, err %v", len(got), err)
			}
		})
	}
}

func TestCORSOriginList(t *testing.T) {
	opts := suiteOptions()
	opts.CORS = &engineio.CORSOptions{Origins: []string{"https://a.example"}, Credentials: true, MaxAge: time.Minute}
	ts := newEchoServer(t, opts)

	r := ts.do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://a.example"}})
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://a.example" {
		t.Errorf("allowed origin: ACAO %q", got)
	}
	if got := r.header.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("ACAC %q", got)
	}
	r = ts.do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://evil.example"}})
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("other origin: ACAO %q, want none", got)
	}
	pre := ts.do(http.MethodOptions, "EIO=4&transport=polling", "", http.Header{
		"Origin": {"https://a.example"}, "Access-Control-Request-Headers": {"x-token"},
	})
	if pre.status != http.StatusNoContent {
		t.Fatalf("preflight status %d", pre.status)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "https://a.example",
		"Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
		"Access-Control-Allow-Headers": "x-token",
		"Access-Control-Max-Age":       "60",
	} {
		if got := pre.header.Get(k); got != want {
			t.Errorf("preflight %s = %q, want %q", k, got, want)
		}
	}
}

func TestCORSWildcardNeverWithCredentials(t *testing.T) {
	opts := suiteOptions()
	opts.CORS = &engineio.CORSOptions{Origins: []string{"*"}, Credentials: true}
	ts := newEchoServer(t, opts)
	r := ts.do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://b.example"}})
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://b.example" {
		t.Fatalf("ACAO %q, want the request origin echoed", got)
	}
}

func TestNoCORSByDefault(t *testing.T) {
	opts := suiteOptions()
	opts.CORS = nil
	ts := newEchoServer(t, opts)
	r := ts.do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://b.example"}})
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("got %d, ACAO %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
}

func TestCookie(t *testing.T) {
	opts := suiteOptions()
	opts.Cookie = &engineio.CookieOptions{}
	ts := newEchoServer(t, opts)
	r := ts.get("EIO=4&transport=polling")
	sid := checkOpenPacket(t, r.body, []string{"websocket"})
	if got, want := r.header.Get("Set-Cookie"), "io="+sid+"; Path=/; HttpOnly; SameSite=Lax"; got != want {
		t.Fatalf("Set-Cookie %q, want %q", got, want)
	}
	// Off by default.
	if got := newEchoServer(t, nil).get("EIO=4&transport=polling").header.Get("Set-Cookie"); got != "" {
		t.Fatalf("default Set-Cookie %q", got)
	}
}

func TestAllowRequest(t *testing.T) {
	opts := suiteOptions()
	opts.AllowRequest = func(r *http.Request) error {
		if r.Header.Get("X-Token") != "ok" {
			return errors.New("no token")
		}
		return nil
	}
	ts := newEchoServer(t, opts)
	expectEngineError(t, "refused", ts.get("EIO=4&transport=polling"), 403, `{"code":4,"message":"no token"}`)
	r := ts.do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"X-Token": {"ok"}})
	checkOpenPacket(t, r.body, []string{"websocket"})
	if _, resp, err := dialWS(t, ts.wsURL("EIO=4&transport=websocket")); err == nil {
		t.Fatal("WebSocket handshake without token accepted")
	} else if resp != nil && resp.StatusCode != 400 {
		t.Fatalf("WebSocket refusal status %d", resp.StatusCode)
	}
}

func TestMaxHTTPBufferSizePost(t *testing.T) {
	opts := suiteOptions()
	opts.MaxHTTPBufferSize = 100
	ts := newEchoServer(t, opts)
	sid := sidOf(t, ts.get("EIO=4&transport=polling").body)
	if r := ts.post(sidQuery(sid), "4"+strings.Repeat("x", 100)); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized POST: %d", r.status)
	}
	// A body at the limit passes.
	expectResponse(t, "POST at limit", ts.post(sidQuery(sid), "4"+strings.Repeat("x", 99)), 200, "ok")
	expectResponse(t, "echo", ts.get(sidQuery(sid)), 200, "4"+strings.Repeat("x", 99))
}

func TestMaxHTTPBufferSizeWebSocketFrame(t *testing.T) {
	opts := suiteOptions()
	opts.MaxHTTPBufferSize = 100
	closed := make(chan string, 1)
	opts.Hooks.Close = func(_ *engineio.Session, reason string, _ error) { closed <- reason }
	ts := newEchoServer(t, opts)
	c := mustDialWS(t, ts.wsURL("EIO=4&transport=websocket"))
	sidOf(t, string(c.next().data))
	c.sendText("4" + strings.Repeat("x", 200))
	c.expectClosed()
	select {
	case reason := <-closed:
		if reason != "transport error" {
			t.Fatalf("close reason %q, want %q", reason, "transport error")
		}
	case <-time.After(waitTimeout):
		t.Fatal("session not closed")
	}
}

func TestTransportsOption(t *testing.T) {
	opts := suiteOptions()
	opts.Transports = []string{"websocket"}
	ts := newEchoServer(t, opts)
	expectEngineError(t, "polling disabled", ts.get("EIO=4&transport=polling"), 400, errTransportUnknown)
	c, _ := openWebSocket(t, ts)
	c.sendText("4hi")
	c.expectTextSkippingPings("4hi")

	opts = suiteOptions()
	opts.Transports = []string{"polling"}
	ts = newEchoServer(t, opts)
	sid := checkOpenPacket(t, ts.get("EIO=4&transport=polling").body, []string{})
	_ = sid
	expectWSRefused(t, ts.wsURL("EIO=4&transport=websocket"))
}

func TestAllowUpgradesFalse(t *testing.T) {
	opts := suiteOptions()
	opts.AllowUpgrades = engineio.Bool(false)
	ts := newEchoServer(t, opts)
	sid := checkOpenPacket(t, ts.get("EIO=4&transport=polling").body, []string{})
	c := mustDialWS(t, ts.wsURL("EIO=4&transport=websocket&sid="+sid))
	c.sendText("2probe")
	c.expectClosed()
	if got := ts.session(sid).Transport(); got != "polling" {
		t.Fatalf("transport %q after refused upgrade", got)
	}
}

func TestInitialPacket(t *testing.T) {
	opts := suiteOptions()
	opts.InitialPacket = []byte("welcome")
	ts := newEchoServer(t, opts)
	r := ts.get("EIO=4&transport=polling")
	parts := strings.Split(r.body, "\x1e")
	if len(parts) != 2 || parts[1] != "4welcome" {
		t.Fatalf("handshake payload %q", r.body)
	}
}

// A client that stops reading is cut off once its queue passes
// MaxBufferedBytes; other sessions are unaffected.
func TestSlowConsumer(t *testing.T) {
	opts := suiteOptions()
	opts.MaxBufferedBytes = 1000
	reasons := make(chan error, 2)
	opts.Hooks.Close = func(_ *engineio.Session, _ string, cause error) { reasons <- cause }
	ts := newEchoServer(t, opts)
	sid := openPolling(t, ts)
	other := openPolling(t, ts)
	s := ts.session(sid)
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = s.Send(bytes.Repeat([]byte("y"), 100), false)
	}
	if !errors.Is(err, engineio.ErrSlowConsumer) {
		t.Fatalf("Send error %v, want ErrSlowConsumer", err)
	}
	select {
	case cause := <-reasons:
		if !errors.Is(cause, engineio.ErrSlowConsumer) {
			t.Fatalf("close cause %v", cause)
		}
	case <-time.After(waitTimeout):
		t.Fatal("slow session not closed")
	}
	expectResponse(t, "other session", ts.post(sidQuery(other), "4still"), 200, "ok")
	expectResponse(t, "other session echo", ts.get(sidQuery(other)), 200, "4still")
}

func TestServerCloseFlushesThenCloses(t *testing.T) {
	ts := newEchoServer(t, nil)
	// Polling: queued messages, then the close packet, on the next GET.
	sid := openPolling(t, ts)
	s := ts.session(sid)
	if err := s.Send([]byte("bye"), false); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send([]byte("late"), false); !errors.Is(err, engineio.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	// As Node: the queued packets first, the close packet in the next poll.
	expectResponse(t, "GET after Close", ts.get(sidQuery(sid)), 200, "4bye")
	expectResponse(t, "next GET", ts.get(sidQuery(sid)), 200, "1")
	expectSessionGone(t, ts, sid)

	// WebSocket: queued messages, then the connection closes.
	c, wsid := openWebSocket(t, ts)
	ws := ts.session(wsid)
	_ = ws.Send([]byte("bye"), false)
	_ = ws.Close()
	frames := c.expectClosed()
	if len(frames) == 0 || string(frames[len(frames)-1].data) != "4bye" {
		t.Fatalf("frames before close: %v", frames)
	}
}

func TestHooksAndCloseReasons(t *testing.T) {
	opts := suiteOptions()
	var mu sync.Mutex
	var events []string
	record := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	opts.Hooks = engineio.Hooks{
		Connection: func(s *engineio.Session) { record("connection " + s.Transport()) },
		Close:      func(_ *engineio.Session, reason string, _ error) { record("close " + reason) },
		PacketIn:   func(_ *engineio.Session, typ engineio.PacketType, n int) { record("in " + typ.String()) },
		Upgrade:    func(_ *engineio.Session, tr string) { record("upgrade " + tr) },
		ConnectionError: func(_ *http.Request, code int, msg string) {
			record("error " + msg)
		},
	}
	ts := newEchoServer(t, opts)
	ts.get("EIO=4&transport=abc")
	sid := openPolling(t, ts)
	ts.post(sidQuery(sid), "4x")
	ts.get(sidQuery(sid))
	c := mustDialWS(t, ts.wsURL("EIO=4&transport=websocket&sid="+sid))
	c.sendText("2probe")
	c.expectText("3probe")
	c.sendText("5")
	ts.waitTransport(sid, "websocket")
	c.sendText("1")
	c.expectClosed()
	deadline := time.Now().Add(waitTimeout)
	want := []string{"error Transport unknown", "connection polling", "in message", "upgrade websocket", "in close", "close transport close"}
	for {
		mu.Lock()
		got := strings.Join(events, "|")
		mu.Unlock()
		if got == strings.Join(want, "|") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hooks saw\n%s\nwant\n%s", got, strings.Join(want, "|"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestShutdown(t *testing.T) {
	closed := make(chan string, 4)
	eio := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{Close: func(reason string, _ error) { closed <- reason }}
	}), suiteOptions())
	ts := &testServer{t: t, eio: eio}
	ts.http = newHTTPTestServer(eio)
	ts.client = ts.http.Client()
	defer ts.http.Close()

	sid := openPolling(t, ts)
	pending := ts.getAsync(sidQuery(sid))
	time.Sleep(50 * time.Millisecond) // the GET is pending
	c, _ := openWebSocket(t, ts)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := eio.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	expectResponse(t, "pending GET", await(t, "pending GET", pending), 200, "1")
	c.expectClosed()
	for i := 0; i < 2; i++ {
		if r := <-closed; r != "forced close" {
			t.Fatalf("reason %q", r)
		}
	}
	if n := eio.ClientsCount(); n != 0 {
		t.Fatalf("ClientsCount %d after Shutdown", n)
	}
	if r := ts.get("EIO=4&transport=polling"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("handshake after Shutdown: %d", r.status)
	}
	if err := eio.Shutdown(ctx); !errors.Is(err, engineio.ErrServerClosed) {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func newHTTPTestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

// sidOf returns the session id of an open packet, whatever its other fields.
func sidOf(t *testing.T, open string) string {
	t.Helper()
	const prefix = `0{"sid":"`
	if !strings.HasPrefix(open, prefix) || len(open) < len(prefix)+20 {
		t.Fatalf("not an open packet: %q", open)
	}
	return open[len(prefix) : len(prefix)+20]
}

func TestPerMessageDeflate(t *testing.T) {
	big := "4" + strings.Repeat("compress me ", 400)
	for _, tc := range []struct {
		name string
		pmd  *engineio.PerMessageDeflateOptions
		want bool
	}{{"off by default", nil, false}, {"on", &engineio.PerMessageDeflateOptions{}, true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := suiteOptions()
			opts.PerMessageDeflate = tc.pmd
			ts := newEchoServer(t, opts)
			c, resp, err := dialWSWith(t, &gws.ClientOption{
				Addr:              ts.wsURL("EIO=4&transport=websocket"),
				PermessageDeflate: gws.PermessageDeflate{Enabled: true, ServerContextTakeover: true, ClientContextTakeover: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if got := strings.Contains(ext, "permessage-deflate"); got != tc.want {
				t.Fatalf("Sec-WebSocket-Extensions %q, negotiated %v, want %v", ext, got, tc.want)
			}
			c.next() // open packet
			c.sendText(big)
			c.expectTextSkippingPings(big)
		})
	}
}

func TestUpgradeTimeout(t *testing.T) {
	opts := suiteOptions()
	opts.UpgradeTimeout = 150 * time.Millisecond
	ts := newEchoServer(t, opts)
	sid := openPolling(t, ts)
	c := mustDialWS(t, ts.wsURL("EIO=4&transport=websocket&sid="+sid))
	c.sendText("2probe")
	c.expectText("3probe")
	// No "5": the candidate is dropped and the session goes on polling.
	c.expectClosed()
	expectResponse(t, "POST after abandoned upgrade", ts.post(sidQuery(sid), "4still polling"), 200, "ok")
	r := ts.get(sidQuery(sid))
	if r.status != 200 || !strings.Contains(r.body, "4still polling") {
		t.Fatalf("GET after abandoned upgrade: %d %q", r.status, r.body)
	}
	if got := ts.session(sid).Transport(); got != "polling" {
		t.Fatalf("transport %q", got)
	}
}
