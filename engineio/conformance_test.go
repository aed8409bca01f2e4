package engineio_test

// These tests hold our server to every behaviour the official Engine.IO
// protocol conformance suite (socketio/engine.io-protocol, test-suite/)
// checks, so CI guards them without Node. Each test starts its own echo
// server configured as the suite expects: pingInterval 300ms, pingTimeout
// 200ms, maxPayload 1e6, CORS origin "*".
//
// Where the suite fires two requests "together" and relies on Node's event
// loop to order them, these tests order them explicitly: a long-poll is
// given time to become pending, and an upgrade is awaited on the server
// side, before the request that must follow it.

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// pollDelay is how long a test waits for a GET it just started to be
// pending on the server before it sends the next request.
const pollDelay = 50 * time.Millisecond

// timerSlack is the time a test allows a server timer beyond its nominal
// deadline before it looks for the timer's effect.
const timerSlack = 50 * time.Millisecond

// sidPattern is what a session id looks like: 20 characters of URL-safe
// base64, as Node's engine.io generates them.
var sidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)

// checkOpenPacket checks an open packet ("0" + JSON) against the suite's
// configuration and returns the session id it announces.
func checkOpenPacket(t *testing.T, packet string, wantUpgrades []string) string {
	t.Helper()
	if len(packet) == 0 || packet[0] != '0' {
		t.Fatalf("open packet %q does not start with \"0\"", packet)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(packet[1:]), &fields); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(keys, want) {
		t.Fatalf("open packet keys %v, want exactly %v", keys, want)
	}
	var v struct {
		SID          *string
		Upgrades     []string
		PingInterval *float64
		PingTimeout  *float64
		MaxPayload   *float64
	}
	if err := json.Unmarshal([]byte(packet[1:]), &v); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	if v.SID == nil || !sidPattern.MatchString(*v.SID) {
		t.Errorf("sid %s is not 20 characters of URL-safe base64", fields["sid"])
	}
	if v.Upgrades == nil || !slices.Equal(v.Upgrades, wantUpgrades) {
		t.Errorf("upgrades %s, want %q", fields["upgrades"], wantUpgrades)
	}
	if v.PingInterval == nil || *v.PingInterval != 300 {
		t.Errorf("pingInterval %s, want 300", fields["pingInterval"])
	}
	if v.PingTimeout == nil || *v.PingTimeout != 200 {
		t.Errorf("pingTimeout %s, want 200", fields["pingTimeout"])
	}
	if v.MaxPayload == nil || *v.MaxPayload != 1000000 {
		t.Errorf("maxPayload %s, want 1000000", fields["maxPayload"])
	}
	if t.Failed() {
		t.FailNow()
	}
	return *v.SID
}

// openPolling performs a polling handshake and returns the session id.
func openPolling(t *testing.T, ts *testServer) string {
	t.Helper()
	r := ts.get("EIO=4&transport=polling")
	if r.status != http.StatusOK {
		t.Fatalf("polling handshake: status %d, body %q", r.status, r.body)
	}
	return checkOpenPacket(t, r.body, []string{"websocket"})
}

// openWebSocket performs a WebSocket handshake and returns the client and
// the session id.
func openWebSocket(t *testing.T, ts *testServer) (*wsClient, string) {
	t.Helper()
	c := mustDialWS(t, ts.wsURL("EIO=4&transport=websocket"))
	f := c.next()
	if f.binary {
		t.Fatalf("first frame is %v, want the text open packet", f)
	}
	return c, checkOpenPacket(t, string(f.data), []string{})
}

// expectSessionGone fails the test unless a poll of sid is refused as
// Node refuses a session that no longer exists.
func expectSessionGone(t *testing.T, ts *testServer, sid string) {
	t.Helper()
	expectEngineError(t, "GET of a closed session", ts.get(sidQuery(sid)), http.StatusBadRequest, errSessionIDUnknown)
}

// expectWSRefused fails the test unless a WebSocket to url is refused: the
// handshake fails (with HTTP 400 when there is an HTTP answer at all), or
// the connection is closed before any Engine.IO packet is sent on it.
func expectWSRefused(t *testing.T, url string) {
	t.Helper()
	c, resp, err := dialWS(t, url)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("refused handshake to %s: HTTP status %d, want 400", url, resp.StatusCode)
		}
		return
	}
	if frames := c.expectClosed(); len(frames) > 0 {
		t.Fatalf("websocket to %s received %v before it closed, want nothing", url, frames)
	}
}

// --- handshake, HTTP long-polling ---

func TestConformancePollingHandshake(t *testing.T) {
	ts := newEchoServer(t, nil)
	r := ts.get("EIO=4&transport=polling")
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200 (body %q)", r.status, r.body)
	}
	checkOpenPacket(t, r.body, []string{"websocket"})
}

func TestConformancePollingHandshakeRejectsBadEIO(t *testing.T) {
	ts := newEchoServer(t, nil)
	for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
		expectEngineError(t, "GET ?"+q, ts.get(q), http.StatusBadRequest, errUnsupportedProtocol)
	}
}

func TestConformancePollingHandshakeRejectsBadTransport(t *testing.T) {
	ts := newEchoServer(t, nil)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		expectEngineError(t, "GET ?"+q, ts.get(q), http.StatusBadRequest, errTransportUnknown)
	}
}

func TestConformancePollingHandshakeRejectsBadMethod(t *testing.T) {
	ts := newEchoServer(t, nil)
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		r := ts.do(method, "EIO=4&transport=polling", "", nil)
		if r.err != nil {
			t.Fatalf("%s handshake: %v", method, r.err)
		}
		expectEngineError(t, method+" handshake", r, http.StatusBadRequest, errBadHandshakeMethod)
	}
}

func TestConformancePollingRejectsUnknownSession(t *testing.T) {
	ts := newEchoServer(t, nil)
	for _, sid := range []string{"AAAAAAAAAAAAAAAAAAAA", "not-a-session"} {
		expectEngineError(t, "GET with sid "+sid, ts.get(sidQuery(sid)), http.StatusBadRequest, errSessionIDUnknown)
		expectEngineError(t, "POST with sid "+sid, ts.post(sidQuery(sid), "4hello"), http.StatusBadRequest, errSessionIDUnknown)
	}
}

func TestConformancePollingCORS(t *testing.T) {
	t.Run("configured", func(t *testing.T) {
		ts := newEchoServer(t, nil)
		withOrigin := http.Header{"Origin": {"https://example.com"}}
		for _, c := range []struct {
			what   string
			q      string
			header http.Header
		}{
			{"handshake", "EIO=4&transport=polling", nil},
			{"handshake with Origin", "EIO=4&transport=polling", withOrigin},
			{"refused handshake", "EIO=4&transport=abc", nil},
		} {
			r := ts.do(http.MethodGet, c.q, "", c.header)
			if r.err != nil {
				t.Fatalf("%s: %v", c.what, r.err)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", c.what, got, "*")
			}
		}
	})
	t.Run("not configured", func(t *testing.T) {
		opts := suiteOptions()
		opts.CORS = nil
		ts := newEchoServer(t, opts)
		r := ts.do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://example.com"}})
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got, ok := r.header["Access-Control-Allow-Origin"]; ok {
			t.Errorf("Access-Control-Allow-Origin %q without CORS options, want none", got)
		}
	})
}

// --- handshake, WebSocket ---

func TestConformanceWebSocketHandshake(t *testing.T) {
	ts := newEchoServer(t, nil)
	openWebSocket(t, ts)
}

func TestConformanceWebSocketHandshakeRejectsBadEIO(t *testing.T) {
	ts := newEchoServer(t, nil)
	expectWSRefused(t, ts.wsURL("transport=websocket"))
	expectWSRefused(t, ts.wsURL("EIO=abc&transport=websocket"))
}

func TestConformanceWebSocketHandshakeRejectsBadTransport(t *testing.T) {
	ts := newEchoServer(t, nil)
	expectWSRefused(t, ts.wsURL("EIO=4"))
	expectWSRefused(t, ts.wsURL("EIO=4&transport=abc"))
}

// --- messages, HTTP long-polling ---

// pollEcho posts payload to a new polling session and checks that the next
// poll returns it unchanged.
func pollEcho(t *testing.T, payload string) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	expectResponse(t, "POST", ts.post(sidQuery(sid), payload), http.StatusOK, "ok")
	expectResponse(t, "GET", ts.get(sidQuery(sid)), http.StatusOK, payload)
}

func TestConformancePollingEchoOneTextPacket(t *testing.T) {
	pollEcho(t, "4hello")
}

func TestConformancePollingEchoSeveralTextPackets(t *testing.T) {
	pollEcho(t, "4test1\x1e4test2\x1e4test3")
}

func TestConformancePollingEchoTextAndBinaryPackets(t *testing.T) {
	pollEcho(t, "4hello\x1ebAQIDBA==")
}

func TestConformancePollingInvalidPacketClosesSession(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	// The POST either fails at the HTTP level or is answered 400.
	if r := ts.do(http.MethodPost, sidQuery(sid), "abc", nil); r.err == nil && r.status != http.StatusBadRequest {
		t.Errorf("POST of an invalid packet: got %d %q, want 400 or a failed request", r.status, r.body)
	}
	expectSessionGone(t, ts, sid)
}

func TestConformancePollingDuplicateGetClosesSession(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	first := ts.getAsync(sidQuery(sid))
	time.Sleep(pollDelay) // the first GET is now pending
	second := ts.do(http.MethodGet, sidQuery(sid)+"&t=burst", "", nil)
	if second.err != nil {
		t.Fatalf("second GET: %v", second.err)
	}
	if second.status != http.StatusBadRequest && second.status != http.StatusInternalServerError {
		t.Errorf("second GET: status %d (body %q), want 400 or 500", second.status, second.body)
	}
	expectResponse(t, "first GET", await(t, "first GET", first), http.StatusOK, "1")
	expectSessionGone(t, ts, sid)
}

// --- messages, WebSocket ---

func TestConformanceWebSocketEchoText(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	c.sendText("4hello")
	c.expectTextSkippingPings("4hello")
}

func TestConformanceWebSocketEchoBinary(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	c.sendBinary([]byte{1, 2, 3, 4})
	if f := c.nextSkippingPings(); !f.binary || string(f.data) != "\x01\x02\x03\x04" {
		t.Fatalf("got %v, want binary [01 02 03 04]", f)
	}
}

func TestConformanceWebSocketInvalidPacketClosesSession(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	c.sendText("abc")
	if frames := c.expectClosed(); len(frames) > 0 {
		t.Errorf("received %v before the close, want nothing", frames)
	}
}

// --- heartbeat ---

func TestConformancePollingHeartbeat(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	for i := range 3 {
		expectResponse(t, "GET, round "+strconv.Itoa(i+1), ts.get(sidQuery(sid)), http.StatusOK, "2")
		expectResponse(t, "POST pong, round "+strconv.Itoa(i+1), ts.post(sidQuery(sid), "3"), http.StatusOK, "ok")
	}
}

func TestConformancePollingPingTimeout(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	// The suite sleeps exactly pingInterval+pingTimeout. Its Node client
	// then needs several milliseconds before the GET reaches the server, by
	// which time the server's ping-timeout timer has fired; a Go client gets
	// there within a millisecond, in a dead heat with that timer. The slack
	// restores the suite's effective margin without racing the timer.
	time.Sleep(suitePingInterval + suitePingTimeout + timerSlack)
	expectSessionGone(t, ts, sid)
}

func TestConformanceWebSocketHeartbeat(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	for range 3 {
		c.expectText("2")
		c.sendText("3")
	}
}

func TestConformanceWebSocketPingTimeout(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	frames := c.expectClosed()
	if len(frames) != 1 || frames[0].binary || string(frames[0].data) != "2" {
		t.Errorf("received %v before the close, want one ping (text \"2\")", frames)
	}
}

// --- close ---

func TestConformancePollingClosePacket(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	poll := ts.getAsync(sidQuery(sid))
	time.Sleep(pollDelay) // the GET is now pending
	expectResponse(t, "POST close", ts.post(sidQuery(sid), "1"), http.StatusOK, "ok")
	expectResponse(t, "pending GET", await(t, "pending GET", poll), http.StatusOK, "6")
	expectSessionGone(t, ts, sid)
}

func TestConformanceWebSocketClosePacket(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	c.sendText("1")
	if frames := c.expectClosed(); len(frames) > 0 {
		t.Errorf("received %v before the close, want nothing", frames)
	}
}

// --- upgrade ---

func TestConformanceUpgrade(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	c := mustDialWS(t, ts.wsURL("EIO=4&transport=websocket&sid="+sid))
	c.sendText("2probe")
	c.expectText("3probe")
	// A poll during the upgrade is ended with a noop.
	expectResponse(t, "GET during upgrade", ts.get(sidQuery(sid)), http.StatusOK, "6")
	c.sendText("5")
	c.sendText("4hello")
	c.expectTextSkippingPings("4hello")
}

func TestConformanceUpgradeRefusesPollingAfterwards(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	c := mustDialWS(t, ts.wsURL("EIO=4&transport=websocket&sid="+sid))
	c.sendText("2probe")
	c.sendText("5")
	ts.waitTransport(sid, "websocket")
	expectEngineError(t, "GET after upgrade", ts.get(sidQuery(sid)), http.StatusBadRequest, errBadRequest)
	c.sendText("4hello")
	c.expectTextSkippingPings("3probe")
	c.expectTextSkippingPings("4hello")
}

func TestConformanceUpgradeRefusesSecondWebSocket(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	c := mustDialWS(t, ts.wsURL("EIO=4&transport=websocket&sid="+sid))
	c.sendText("2probe")
	c.sendText("5")
	ts.waitTransport(sid, "websocket")
	expectWSRefused(t, ts.wsURL("EIO=4&transport=websocket&sid="+sid))
	c.sendText("4hello")
	c.expectTextSkippingPings("3probe")
	c.expectTextSkippingPings("4hello")
}
