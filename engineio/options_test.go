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

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/testutil"
)

func TestJSONPPolling(t *testing.T) {
	ts := newEchoServer(t, nil)
	hs := ts.Get("EIO=4&transport=polling&j=3")
	if hs.Status != 200 || !strings.HasPrefix(hs.Body, `___eio[3]("0{\"sid\":\"`) || !strings.HasSuffix(hs.Body, `");`) {
		t.Fatalf("JSONP handshake: %d %q", hs.Status, hs.Body)
	}
	sid := hs.Body[len(`___eio[3]("0{\"sid\":\"`):][:20]

	// The form body carries the payload in "d"; "\n" escapes become newlines.
	form := url.Values{"d": {`4line1\nline2`}}.Encode()
	r := ts.Do(http.MethodPost, sidQuery(sid)+"&j=3", form, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	testutil.ExpectResponse(t, "JSONP POST", r, 200, "ok")
	testutil.ExpectResponse(t, "JSONP GET", ts.Get(sidQuery(sid)+"&j=3"), 200, `___eio[3]("4line1\nline2");`)
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
			testutil.ExpectResponse(t, "POST", ts.Post(sidQuery(sid), big), 200, "ok")
			r := ts.Do(http.MethodGet, sidQuery(sid), "", http.Header{"Accept-Encoding": {tc.accept}})
			if r.Err != nil || r.Status != 200 {
				t.Fatalf("GET: %d %v", r.Status, r.Err)
			}
			if enc := r.Header.Get("Content-Encoding"); enc != tc.wantEnc {
				t.Fatalf("Content-Encoding %q, want %q", enc, tc.wantEnc)
			}
			var body io.Reader = strings.NewReader(r.Body)
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

	r := ts.Do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://a.example"}})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://a.example" {
		t.Errorf("allowed origin: ACAO %q", got)
	}
	if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("ACAC %q", got)
	}
	r = ts.Do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://evil.example"}})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("other origin: ACAO %q, want none", got)
	}
	pre := ts.Do(http.MethodOptions, "EIO=4&transport=polling", "", http.Header{
		"Origin": {"https://a.example"}, "Access-Control-Request-Headers": {"x-token"},
	})
	if pre.Status != http.StatusNoContent {
		t.Fatalf("preflight status %d", pre.Status)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "https://a.example",
		"Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
		"Access-Control-Allow-Headers": "x-token",
		"Access-Control-Max-Age":       "60",
	} {
		if got := pre.Header.Get(k); got != want {
			t.Errorf("preflight %s = %q, want %q", k, got, want)
		}
	}
}

func TestCORSWildcardNeverWithCredentials(t *testing.T) {
	opts := suiteOptions()
	opts.CORS = &engineio.CORSOptions{Origins: []string{"*"}, Credentials: true}
	ts := newEchoServer(t, opts)
	r := ts.Do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://b.example"}})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://b.example" {
		t.Fatalf("ACAO %q, want the request origin echoed", got)
	}
}

func TestNoCORSByDefault(t *testing.T) {
	opts := suiteOptions()
	opts.CORS = nil
	ts := newEchoServer(t, opts)
	r := ts.Do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://b.example"}})
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("got %d, ACAO %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestCookie(t *testing.T) {
	opts := suiteOptions()
	opts.Cookie = &engineio.CookieOptions{}
	ts := newEchoServer(t, opts)
	r := ts.Get("EIO=4&transport=polling")
	sid := checkOpenPacket(t, r.Body, []string{"websocket"})
	if got, want := r.Header.Get("Set-Cookie"), "io="+sid+"; Path=/; HttpOnly; SameSite=Lax"; got != want {
		t.Fatalf("Set-Cookie %q, want %q", got, want)
	}
	// Off by default.
	if got := newEchoServer(t, nil).Get("EIO=4&transport=polling").Header.Get("Set-Cookie"); got != "" {
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
	testutil.ExpectEngineError(t, "refused", ts.Get("EIO=4&transport=polling"), 403, `{"code":4,"message":"no token"}`)
	r := ts.Do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"X-Token": {"ok"}})
	checkOpenPacket(t, r.Body, []string{"websocket"})
	if _, resp, err := testutil.Dial(t, ts.WSURL("EIO=4&transport=websocket"), nil); err == nil {
		t.Fatal("WebSocket handshake without token accepted")
	} else if resp != nil && resp.StatusCode != 400 {
		t.Fatalf("WebSocket refusal status %d", resp.StatusCode)
	}
}

func TestMaxHTTPBufferSizePost(t *testing.T) {
	opts := suiteOptions()
	opts.MaxHTTPBufferSize = 100
	ts := newEchoServer(t, opts)
	sid := sidOf(t, ts.Get("EIO=4&transport=polling").Body)
	if r := ts.Post(sidQuery(sid), "4"+strings.Repeat("x", 100)); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized POST: %d", r.Status)
	}
	// A body at the limit passes.
	testutil.ExpectResponse(t, "POST at limit", ts.Post(sidQuery(sid), "4"+strings.Repeat("x", 99)), 200, "ok")
	testutil.ExpectResponse(t, "echo", ts.Get(sidQuery(sid)), 200, "4"+strings.Repeat("x", 99))
}

func TestMaxHTTPBufferSizeWebSocketFrame(t *testing.T) {
	opts := suiteOptions()
	opts.MaxHTTPBufferSize = 100
	closed := make(chan string, 1)
	opts.Hooks.Close = func(_ *engineio.Session, reason string, _ error) { closed <- reason }
	ts := newEchoServer(t, opts)
	c := testutil.MustDial(t, ts.WSURL("EIO=4&transport=websocket"), nil)
	sidOf(t, string(c.Next().Data))
	c.SendText("4" + strings.Repeat("x", 200))
	c.ExpectClosed()
	select {
	case reason := <-closed:
		if reason != "transport error" {
			t.Fatalf("close reason %q, want %q", reason, "transport error")
		}
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("session not closed")
	}
}

func TestTransportsOption(t *testing.T) {
	opts := suiteOptions()
	opts.Transports = []string{"websocket"}
	ts := newEchoServer(t, opts)
	testutil.ExpectEngineError(t, "polling disabled", ts.Get("EIO=4&transport=polling"), 400, testutil.BodyTransportUnknown)
	c, _ := openWebSocket(t, ts)
	c.SendText("4hi")
	c.ExpectTextSkippingPings("4hi")

	opts = suiteOptions()
	opts.Transports = []string{"polling"}
	ts = newEchoServer(t, opts)
	sid := checkOpenPacket(t, ts.Get("EIO=4&transport=polling").Body, []string{})
	_ = sid
	testutil.ExpectWSRefused(t, ts.WSURL("EIO=4&transport=websocket"))
}

func TestAllowUpgradesFalse(t *testing.T) {
	opts := suiteOptions()
	opts.AllowUpgrades = engineio.Bool(false)
	ts := newEchoServer(t, opts)
	sid := checkOpenPacket(t, ts.Get("EIO=4&transport=polling").Body, []string{})
	c := testutil.MustDial(t, ts.WSURL("EIO=4&transport=websocket&sid="+sid), nil)
	// The server closes a refused upgrade at once, so the probe may find
	// the connection closed already.
	c.SendTextUnlessClosed("2probe")
	c.ExpectClosed()
	if got := ts.session(sid).Transport(); got != "polling" {
		t.Fatalf("transport %q after refused upgrade", got)
	}
}

func TestInitialPacket(t *testing.T) {
	opts := suiteOptions()
	opts.InitialPacket = []byte("welcome")
	ts := newEchoServer(t, opts)
	r := ts.Get("EIO=4&transport=polling")
	parts := strings.Split(r.Body, "\x1e")
	if len(parts) != 2 || parts[1] != "4welcome" {
		t.Fatalf("handshake payload %q", r.Body)
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
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("slow session not closed")
	}
	testutil.ExpectResponse(t, "other session", ts.Post(sidQuery(other), "4still"), 200, "ok")
	testutil.ExpectResponse(t, "other session echo", ts.Get(sidQuery(other)), 200, "4still")
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
	testutil.ExpectResponse(t, "GET after Close", ts.Get(sidQuery(sid)), 200, "4bye")
	testutil.ExpectResponse(t, "next GET", ts.Get(sidQuery(sid)), 200, "1")
	expectSessionGone(t, ts, sid)

	// WebSocket: queued messages, then the connection closes.
	c, wsid := openWebSocket(t, ts)
	ws := ts.session(wsid)
	_ = ws.Send([]byte("bye"), false)
	_ = ws.Close()
	frames := c.ExpectClosed()
	if len(frames) == 0 || string(frames[len(frames)-1].Data) != "4bye" {
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
	ts.Get("EIO=4&transport=abc")
	sid := openPolling(t, ts)
	ts.Post(sidQuery(sid), "4x")
	ts.Get(sidQuery(sid))
	c := testutil.MustDial(t, ts.WSURL("EIO=4&transport=websocket&sid="+sid), nil)
	c.SendText("2probe")
	c.ExpectText("3probe")
	c.SendText("5")
	ts.waitTransport(sid, "websocket")
	c.SendText("1")
	c.ExpectClosed()
	deadline := time.Now().Add(testutil.WaitTimeout)
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
	ts.Endpoint = engineEndpoint(t, ts.http)
	defer ts.http.Close()

	sid := openPolling(t, ts)
	pending := ts.GetAsync(sidQuery(sid))
	time.Sleep(50 * time.Millisecond) // the GET is pending
	c, _ := openWebSocket(t, ts)

	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	if err := eio.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.ExpectResponse(t, "pending GET", testutil.Await(t, "pending GET", pending), 200, "1")
	c.ExpectClosed()
	for i := 0; i < 2; i++ {
		if r := <-closed; r != "forced close" {
			t.Fatalf("reason %q", r)
		}
	}
	if n := eio.ClientsCount(); n != 0 {
		t.Fatalf("ClientsCount %d after Shutdown", n)
	}
	if r := ts.Get("EIO=4&transport=polling"); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("handshake after Shutdown: %d", r.Status)
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
			c, resp, err := testutil.Dial(t, ts.WSURL("EIO=4&transport=websocket"), &testutil.DialOptions{PerMessageDeflate: true})
			if err != nil {
				t.Fatal(err)
			}
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if got := strings.Contains(ext, "permessage-deflate"); got != tc.want {
				t.Fatalf("Sec-WebSocket-Extensions %q, negotiated %v, want %v", ext, got, tc.want)
			}
			c.Next() // open packet
			c.SendText(big)
			c.ExpectTextSkippingPings(big)
		})
	}
}

func TestUpgradeTimeout(t *testing.T) {
	opts := suiteOptions()
	opts.UpgradeTimeout = 150 * time.Millisecond
	ts := newEchoServer(t, opts)
	sid := openPolling(t, ts)
	c := testutil.MustDial(t, ts.WSURL("EIO=4&transport=websocket&sid="+sid), nil)
	c.SendText("2probe")
	c.ExpectText("3probe")
	// No "5": the candidate is dropped and the session goes on polling.
	c.ExpectClosed()
	testutil.ExpectResponse(t, "POST after abandoned upgrade", ts.Post(sidQuery(sid), "4still polling"), 200, "ok")
	r := ts.Get(sidQuery(sid))
	if r.Status != 200 || !strings.Contains(r.Body, "4still polling") {
		t.Fatalf("GET after abandoned upgrade: %d %q", r.Status, r.Body)
	}
	if got := ts.session(sid).Transport(); got != "polling" {
		t.Fatalf("transport %q", got)
	}
}
