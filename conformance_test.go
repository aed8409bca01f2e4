package socketio_test

// These tests hold the Socket.IO server to every behaviour that the official
// socket.io-protocol conformance suite (socketio/socket.io-protocol,
// test-suite/) checks, its Engine.IO part included, so that CI guards them
// without Node. Each test starts its own server configured as the suite
// expects (pingInterval 300ms, pingTimeout 200ms, maxPayload 1e6, CORS "*",
// connectTimeout 1s; "auth" echoed on "/" and "/custom", "message" answered
// with "message-back", "message-with-ack" acknowledged with its arguments)
// and talks to it with raw Engine.IO frames, byte for byte.
//
// Where the suite fires two requests together and relies on Node's event
// loop to order them, these tests order them explicitly.

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/internal/testutil"
)

// pendingDelay is how long a test lets a GET it just started become
// pending on the server before sending the request that must follow it.
const pendingDelay = 50 * time.Millisecond

// timerSlack is what a test allows a server timer beyond its deadline.
const timerSlack = 50 * time.Millisecond

// checkSuiteOpen checks the values of an open packet against the suite's
// configuration.
func checkSuiteOpen(t *testing.T, o openPacket, upgrades []string) {
	t.Helper()
	if !idPattern.MatchString(o.SID) {
		t.Errorf("sid %q is not 20 characters of URL-safe base64", o.SID)
	}
	if o.Upgrades == nil || !slices.Equal(o.Upgrades, upgrades) {
		t.Errorf("upgrades %q, want %q", o.Upgrades, upgrades)
	}
	if o.PingInterval != 300 || o.PingTimeout != 200 || o.MaxPayload != 1000000 {
		t.Errorf("pingInterval %d, pingTimeout %d, maxPayload %d; want 300, 200, 1000000",
			o.PingInterval, o.PingTimeout, o.MaxPayload)
	}
}

// wantSessionGone fails the test unless a poll of sid is refused as Node
// refuses an unknown session.
func wantSessionGone(t *testing.T, h *harness, sid string) {
	t.Helper()
	testutil.ExpectResponse(t, "GET of a closed session", h.Get(pollQuery(sid)), http.StatusBadRequest, testutil.BodySessionIDUnknown)
}

// initSocketIO opens a WebSocket session, joins "/" and consumes the
// CONNECT answer and the "auth" event, as the suite's helper does.
func initSocketIO(h *harness) *sioClient {
	h.t.Helper()
	c, _ := h.openWS(false)
	c.join("/", "")
	c.ExpectText(`42["auth",{}]`)
	return c
}

// ===== Engine.IO protocol, at /socket.io/ ====================================

func TestConformanceEnginePollingHandshake(t *testing.T) {
	h := startSuiteServer(t)
	r := h.Get("EIO=4&transport=polling")
	if r.Status != http.StatusOK {
		t.Fatalf("status %d (body %q), want 200", r.Status, r.Body)
	}
	checkSuiteOpen(t, parseOpen(t, r.Body), []string{"websocket"})
}

func TestConformanceEnginePollingRejectsBadEIO(t *testing.T) {
	h := startSuiteServer(t)
	for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
		testutil.ExpectResponse(t, "GET ?"+q, h.Get(q), http.StatusBadRequest, testutil.BodyUnsupportedProtocol)
	}
}

func TestConformanceEnginePollingRejectsBadTransport(t *testing.T) {
	h := startSuiteServer(t)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		testutil.ExpectResponse(t, "GET ?"+q, h.Get(q), http.StatusBadRequest, testutil.BodyTransportUnknown)
	}
}

func TestConformanceEnginePollingRejectsBadMethod(t *testing.T) {
	h := startSuiteServer(t)
	for _, m := range []string{http.MethodPost, http.MethodPut} {
		r := h.Do(m, "EIO=4&transport=polling", "", nil)
		if r.Err != nil {
			t.Fatalf("%s: %v", m, r.Err)
		}
		testutil.ExpectResponse(t, m+" handshake", r, http.StatusBadRequest, testutil.BodyBadHandshakeMethod)
	}
}

func TestConformanceEngineWebSocketHandshake(t *testing.T) {
	h := startSuiteServer(t)
	_, o := h.openWS(false)
	checkSuiteOpen(t, o, []string{})
}

func TestConformanceEngineWebSocketRejectsBadEIO(t *testing.T) {
	h := startSuiteServer(t)
	testutil.ExpectWSRefused(t, h.WSURL("transport=websocket"))
	testutil.ExpectWSRefused(t, h.WSURL("EIO=abc&transport=websocket"))
}

func TestConformanceEngineWebSocketRejectsBadTransport(t *testing.T) {
	h := startSuiteServer(t)
	testutil.ExpectWSRefused(t, h.WSURL("EIO=4"))
	testutil.ExpectWSRefused(t, h.WSURL("EIO=4&transport=abc"))
}

// The heartbeat tests join "/" first. Three rounds of the heartbeat take
// 3×pingInterval plus three round trips, about 900ms, and the suite's
// connectTimeout of 1s closes a session that joined no namespace: the
// suite only wins that race by its client's speed. The namespace keeps the
// unrelated timer out of the way; the heartbeat checked is the same.

func TestConformanceEnginePollingHeartbeat(t *testing.T) {
	h := startSuiteServer(t)
	sid := h.openPolling()
	h.joinPolling(sid)
	for i := 1; i <= 3; i++ {
		round := " (round " + strconv.Itoa(i) + ")"
		testutil.ExpectResponse(t, "GET"+round, h.Get(pollQuery(sid)), http.StatusOK, "2")
		testutil.ExpectResponse(t, "POST pong"+round, h.Post(pollQuery(sid), "3"), http.StatusOK, "ok")
	}
}

// joinPolling joins "/" on polling session sid and reads the CONNECT
// answer and the "auth" event, which may come in one poll or two.
func (h *harness) joinPolling(sid string) {
	h.t.Helper()
	testutil.ExpectResponse(h.t, "POST CONNECT", h.Post(pollQuery(sid), "40"), http.StatusOK, "ok")
	var got []string
	for len(got) < 2 {
		r := h.Get(pollQuery(sid))
		if r.Status != http.StatusOK {
			h.t.Fatalf("GET after CONNECT: %d %q", r.Status, r.Body)
		}
		got = append(got, strings.Split(r.Body, "\x1e")...)
	}
	if len(got) != 2 || got[1] != `42["auth",{}]` {
		h.t.Fatalf("packets after CONNECT: %q, want the CONNECT answer and the auth event", got)
	}
	wantConnectAnswer(h.t, testutil.Frame{Data: []byte(got[0])}, "40")
}

func TestConformanceEnginePollingPingTimeout(t *testing.T) {
	h := startSuiteServer(t)
	sid := h.openPolling()
	// The suite sleeps pingInterval+pingTimeout; a Node client then takes
	// a few milliseconds to reach the server, which the slack stands for.
	time.Sleep(suitePingInterval + suitePingTimeout + timerSlack)
	wantSessionGone(t, h, sid)
}

func TestConformanceEngineWebSocketHeartbeat(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	for range 3 {
		c.ExpectText("2")
		c.SendText("3")
	}
}

func TestConformanceEngineWebSocketPingTimeout(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	start := time.Now()
	frames := c.ExpectClosed()
	if rest := testutil.WithoutPings(frames); len(rest) > 0 {
		t.Errorf("got %v before the close, want pings only", rest)
	}
	// The ping timeout (500ms) must close it, before the connect timeout.
	if d := time.Since(start); d >= suiteConnectTimeout {
		t.Errorf("closed after %v, want the ping timeout (~%v)", d, suitePingInterval+suitePingTimeout)
	}
}

func TestConformanceEnginePollingClose(t *testing.T) {
	h := startSuiteServer(t)
	sid := h.openPolling()
	poll := h.GetAsync(pollQuery(sid))
	time.Sleep(pendingDelay) // the GET is pending
	testutil.ExpectResponse(t, "POST close", h.Post(pollQuery(sid), "1"), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "pending GET", testutil.Await(t, "pending GET", poll), http.StatusOK, "6")
	wantSessionGone(t, h, sid)
}

func TestConformanceEngineWebSocketClose(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.SendText("1")
	if frames := c.ExpectClosed(); len(frames) > 0 {
		t.Errorf("got %v before the close, want nothing", frames)
	}
}

// upgrade upgrades polling session sid to a WebSocket and proves the
// upgrade done: a CONNECT sent on the WebSocket is answered there.
func upgrade(h *harness, sid string) *sioClient {
	h.t.Helper()
	c := h.dialWS("EIO=4&transport=websocket&sid="+sid, false)
	c.SendText("2probe")
	c.ExpectText("3probe")
	c.SendText("5")
	c.join("/", "")
	c.ExpectTextSkippingPings(`42["auth",{}]`)
	return c
}

func TestConformanceEngineUpgrade(t *testing.T) {
	h := startSuiteServer(t)
	upgrade(h, h.openPolling())
}

func TestConformanceEngineUpgradeIgnoresPollingAfterwards(t *testing.T) {
	h := startSuiteServer(t)
	sid := h.openPolling()
	c := upgrade(h, sid)
	testutil.ExpectResponse(t, "GET after the upgrade", h.Get(pollQuery(sid)), http.StatusBadRequest, testutil.BodyBadRequest)
	c.SendText(`42["message","still there"]`)
	c.ExpectTextSkippingPings(`42["message-back","still there"]`)
}

func TestConformanceEngineUpgradeIgnoresSecondWebSocket(t *testing.T) {
	h := startSuiteServer(t)
	sid := h.openPolling()
	c := upgrade(h, sid)
	testutil.ExpectWSRefused(t, h.WSURL("EIO=4&transport=websocket&sid="+sid))
	c.SendText(`42["message","still there"]`)
	c.ExpectTextSkippingPings(`42["message-back","still there"]`)
}

// ===== Socket.IO protocol: connect ==========================================

func TestConformanceConnectMain(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.join("/", "")
	c.ExpectText(`42["auth",{}]`)
}

func TestConformanceConnectMainWithAuth(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.join("/", `{"token":"123"}`)
	c.ExpectText(`42["auth",{"token":"123"}]`)
}

func TestConformanceConnectCustom(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.join("/custom", "") // sends "40/custom,"
	c.ExpectText(`42/custom,["auth",{}]`)
}

func TestConformanceConnectCustomWithAuth(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.join("/custom", `{"token":"abc"}`)
	c.ExpectText(`42/custom,["auth",{"token":"abc"}]`)
}

func TestConformanceConnectUnknownNamespace(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.SendText("40/random")
	c.ExpectText(`44/random,{"message":"Invalid namespace"}`)
}

func TestConformanceConnectInvalidHandshake(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.SendText("4abc")
	if rest := testutil.WithoutPings(c.ExpectClosed()); len(rest) > 0 {
		t.Errorf("got %v before the close, want nothing", rest)
	}
}

func TestConformanceConnectTimeout(t *testing.T) {
	h := startSuiteServer(t)
	// The client answers pings, so that only the connect timeout can end
	// the session.
	c, _ := h.openWS(true)
	start := time.Now()
	if frames := c.ExpectClosed(); len(frames) > 0 {
		t.Errorf("got %v before the close, want nothing", frames)
	}
	if d := time.Since(start); d < suiteConnectTimeout-timerSlack {
		t.Errorf("closed after %v, want the connect timeout (%v)", d, suiteConnectTimeout)
	}
}

// ===== Socket.IO protocol: disconnect =======================================

func TestConformanceDisconnectMain(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.SendText("41")
	// Nothing answers the DISCONNECT and the connection stays open: the
	// next frame is the server's ping.
	c.ExpectText("2")
}

func TestConformanceConnectThenDisconnectCustom(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.ExpectText("2")
	c.SendText("3") // not in the suite; keeps the session alive on a slow machine
	c.SendText("40/custom")
	wantConnectAnswer(t, c.Next(), "40/custom,")
	c.ExpectText(`42/custom,["auth",{}]`)
	c.SendText("41/custom")
	c.SendText(`42["message","message to main namespace"]`)
	c.ExpectTextSkippingPings(`42["message-back","message to main namespace"]`)
}

// ===== Socket.IO protocol: message ==========================================

func TestConformanceMessagePlain(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.SendText(`42["message",1,"2",{"3":[true]}]`)
	c.ExpectTextSkippingPings(`42["message-back",1,"2",{"3":[true]}]`)
}

func TestConformanceMessageBinary(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.SendText(`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.SendBinary([]byte{1, 2, 3})
	c.SendBinary([]byte{4, 5, 6})
	c.ExpectTextSkippingPings(`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.ExpectBinarySkippingPings([]byte{1, 2, 3})
	c.ExpectBinarySkippingPings([]byte{4, 5, 6})
}

func TestConformanceMessagePlainWithAck(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.SendText(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	c.ExpectTextSkippingPings(`43456[1,"2",{"3":[false]}]`)
}

func TestConformanceMessageBinaryWithAck(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.SendText(`452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.SendBinary([]byte{1, 2, 3})
	c.SendBinary([]byte{4, 5, 6})
	c.ExpectTextSkippingPings(`462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.ExpectBinarySkippingPings([]byte{1, 2, 3})
	c.ExpectBinarySkippingPings([]byte{4, 5, 6})
}

func TestConformanceMessageInvalidFormatCloses(t *testing.T) {
	for _, tc := range []struct{ name, packet string }{
		{"unknown packet type", "4abc"},
		{"invalid payload format", "42{}"},
		{"invalid ack id", `42abc["message-with-ack",1,"2",{"3":[false]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startSuiteServer(t)
			c := initSocketIO(h)
			c.SendText(tc.packet)
			if rest := testutil.WithoutPings(c.ExpectClosed()); len(rest) > 0 {
				t.Errorf("got %v before the close, want nothing", rest)
			}
		})
	}
}
