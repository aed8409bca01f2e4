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

	"github.com/go-sio/socketio/internal/testutil"
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
	r := ts.Get("EIO=4&transport=polling")
	if r.Status != http.StatusOK {
		t.Fatalf("polling handshake: status %d, body %q", r.Status, r.Body)
	}
	return checkOpenPacket(t, r.Body, []string{"websocket"})
}

// openWebSocket performs a WebSocket handshake and returns the client and
// the session id.
func openWebSocket(t *testing.T, ts *testServer) (*testutil.WSConn, string) {
	t.Helper()
	c := testutil.MustDial(t, ts.WSURL("EIO=4&transport=websocket"), nil)
	f := c.Next()
	if f.Binary {
		t.Fatalf("first frame is %v, want the text open packet", f)
	}
	return c, checkOpenPacket(t, string(f.Data), []string{})
}

// expectSessionGone fails the test unless a poll of sid is refused as
// Node refuses a session that no longer exists.
func expectSessionGone(t *testing.T, ts *testServer, sid string) {
	t.Helper()
	testutil.ExpectEngineError(t, "GET of a closed session", ts.Get(sidQuery(sid)), http.StatusBadRequest, testutil.BodySessionIDUnknown)
}

// --- handshake, HTTP long-polling ---

func TestConformancePollingHandshake(t *testing.T) {
	ts := newEchoServer(t, nil)
	r := ts.Get("EIO=4&transport=polling")
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200 (body %q)", r.Status, r.Body)
	}
	checkOpenPacket(t, r.Body, []string{"websocket"})
}

func TestConformancePollingHandshakeRejectsBadEIO(t *testing.T) {
	ts := newEchoServer(t, nil)
	for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
		testutil.ExpectEngineError(t, "GET ?"+q, ts.Get(q), http.StatusBadRequest, testutil.BodyUnsupportedProtocol)
	}
}

func TestConformancePollingHandshakeRejectsBadTransport(t *testing.T) {
	ts := newEchoServer(t, nil)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		testutil.ExpectEngineError(t, "GET ?"+q, ts.Get(q), http.StatusBadRequest, testutil.BodyTransportUnknown)
	}
}

func TestConformancePollingHandshakeRejectsBadMethod(t *testing.T) {
	ts := newEchoServer(t, nil)
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		r := ts.Do(method, "EIO=4&transport=polling", "", nil)
		if r.Err != nil {
			t.Fatalf("%s handshake: %v", method, r.Err)
		}
		testutil.ExpectEngineError(t, method+" handshake", r, http.StatusBadRequest, testutil.BodyBadHandshakeMethod)
	}
}

func TestConformancePollingRejectsUnknownSession(t *testing.T) {
	ts := newEchoServer(t, nil)
	for _, sid := range []string{"AAAAAAAAAAAAAAAAAAAA", "not-a-session"} {
		testutil.ExpectEngineError(t, "GET with sid "+sid, ts.Get(sidQuery(sid)), http.StatusBadRequest, testutil.BodySessionIDUnknown)
		testutil.ExpectEngineError(t, "POST with sid "+sid, ts.Post(sidQuery(sid), "4hello"), http.StatusBadRequest, testutil.BodySessionIDUnknown)
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
			r := ts.Do(http.MethodGet, c.q, "", c.header)
			if r.Err != nil {
				t.Fatalf("%s: %v", c.what, r.Err)
			}
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", c.what, got, "*")
			}
		}
	})
	t.Run("not configured", func(t *testing.T) {
		opts := suiteOptions()
		opts.CORS = nil
		ts := newEchoServer(t, opts)
		r := ts.Do(http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://example.com"}})
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if got, ok := r.Header["Access-Control-Allow-Origin"]; ok {
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
	testutil.ExpectWSRefused(t, ts.WSURL("transport=websocket"))
	testutil.ExpectWSRefused(t, ts.WSURL("EIO=abc&transport=websocket"))
}

func TestConformanceWebSocketHandshakeRejectsBadTransport(t *testing.T) {
	ts := newEchoServer(t, nil)
	testutil.ExpectWSRefused(t, ts.WSURL("EIO=4"))
	testutil.ExpectWSRefused(t, ts.WSURL("EIO=4&transport=abc"))
}

// --- messages, HTTP long-polling ---

// pollEcho posts payload to a new polling session and checks that the next
// poll returns it unchanged.
func pollEcho(t *testing.T, payload string) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	testutil.ExpectResponse(t, "POST", ts.Post(sidQuery(sid), payload), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "GET", ts.Get(sidQuery(sid)), http.StatusOK, payload)
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
	if r := ts.Do(http.MethodPost, sidQuery(sid), "abc", nil); r.Err == nil && r.Status != http.StatusBadRequest {
		t.Errorf("POST of an invalid packet: got %d %q, want 400 or a failed request", r.Status, r.Body)
	}
	expectSessionGone(t, ts, sid)
}

func TestConformancePollingDuplicateGetClosesSession(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	first := ts.GetAsync(sidQuery(sid))
	time.Sleep(pollDelay) // the first GET is now pending
	second := ts.Do(http.MethodGet, sidQuery(sid)+"&t=burst", "", nil)
	if second.Err != nil {
		t.Fatalf("second GET: %v", second.Err)
	}
	if second.Status != http.StatusBadRequest && second.Status != http.StatusInternalServerError {
		t.Errorf("second GET: status %d (body %q), want 400 or 500", second.Status, second.Body)
	}
	testutil.ExpectResponse(t, "first GET", testutil.Await(t, "first GET", first), http.StatusOK, "1")
	expectSessionGone(t, ts, sid)
}

// --- messages, WebSocket ---

func TestConformanceWebSocketEchoText(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	c.SendText("4hello")
	c.ExpectTextSkippingPings("4hello")
}

func TestConformanceWebSocketEchoBinary(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	c.SendBinary([]byte{1, 2, 3, 4})
	if f := c.NextSkippingPings(); !f.Binary || string(f.Data) != "\x01\x02\x03\x04" {
		t.Fatalf("got %v, want binary [01 02 03 04]", f)
	}
}

func TestConformanceWebSocketInvalidPacketClosesSession(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	c.SendText("abc")
	if frames := c.ExpectClosed(); len(frames) > 0 {
		t.Errorf("received %v before the close, want nothing", frames)
	}
}

// --- heartbeat ---

func TestConformancePollingHeartbeat(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	for i := range 3 {
		testutil.ExpectResponse(t, "GET, round "+strconv.Itoa(i+1), ts.Get(sidQuery(sid)), http.StatusOK, "2")
		testutil.ExpectResponse(t, "POST pong, round "+strconv.Itoa(i+1), ts.Post(sidQuery(sid), "3"), http.StatusOK, "ok")
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
		c.ExpectText("2")
		c.SendText("3")
	}
}

func TestConformanceWebSocketPingTimeout(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	frames := c.ExpectClosed()
	if len(frames) != 1 || frames[0].Binary || string(frames[0].Data) != "2" {
		t.Errorf("received %v before the close, want one ping (text \"2\")", frames)
	}
}

// --- close ---

func TestConformancePollingClosePacket(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	poll := ts.GetAsync(sidQuery(sid))
	time.Sleep(pollDelay) // the GET is now pending
	testutil.ExpectResponse(t, "POST close", ts.Post(sidQuery(sid), "1"), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "pending GET", testutil.Await(t, "pending GET", poll), http.StatusOK, "6")
	expectSessionGone(t, ts, sid)
}

func TestConformanceWebSocketClosePacket(t *testing.T) {
	ts := newEchoServer(t, nil)
	c, _ := openWebSocket(t, ts)
	c.SendText("1")
	if frames := c.ExpectClosed(); len(frames) > 0 {
		t.Errorf("received %v before the close, want nothing", frames)
	}
}

// --- upgrade ---

func TestConformanceUpgrade(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	c := testutil.MustDial(t, ts.WSURL("EIO=4&transport=websocket&sid="+sid), nil)
	c.SendText("2probe")
	c.ExpectText("3probe")
	// A poll during the upgrade is ended with a noop.
	testutil.ExpectResponse(t, "GET during upgrade", ts.Get(sidQuery(sid)), http.StatusOK, "6")
	c.SendText("5")
	c.SendText("4hello")
	c.ExpectTextSkippingPings("4hello")
}

func TestConformanceUpgradeRefusesPollingAfterwards(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	c := testutil.MustDial(t, ts.WSURL("EIO=4&transport=websocket&sid="+sid), nil)
	c.SendText("2probe")
	c.SendText("5")
	ts.waitTransport(sid, "websocket")
	testutil.ExpectEngineError(t, "GET after upgrade", ts.Get(sidQuery(sid)), http.StatusBadRequest, testutil.BodyBadRequest)
	c.SendText("4hello")
	c.ExpectTextSkippingPings("3probe")
	c.ExpectTextSkippingPings("4hello")
}

func TestConformanceUpgradeRefusesSecondWebSocket(t *testing.T) {
	ts := newEchoServer(t, nil)
	sid := openPolling(t, ts)
	c := testutil.MustDial(t, ts.WSURL("EIO=4&transport=websocket&sid="+sid), nil)
	c.SendText("2probe")
	c.SendText("5")
	ts.waitTransport(sid, "websocket")
	testutil.ExpectWSRefused(t, ts.WSURL("EIO=4&transport=websocket&sid="+sid))
	c.SendText("4hello")
	c.ExpectTextSkippingPings("3probe")
	c.ExpectTextSkippingPings("4hello")
}
