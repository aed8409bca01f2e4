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
)

// pendingDelay is how long a test lets a GET it just started become
// pending on the server before sending the request that must follow it.
const pendingDelay = 50 * time.Millisecond

// timerSlack is what a test allows a server timer beyond its deadline.
const timerSlack = 50 * time.Millisecond

// The error bodies of Node's engine.io for the refusals the suite checks.
const (
	bodyTransportUnknown    = `{"code":0,"message":"Transport unknown"}`
	bodySessionIDUnknown    = `{"code":1,"message":"Session ID unknown"}`
	bodyBadHandshakeMethod  = `{"code":2,"message":"Bad handshake method"}`
	bodyBadRequest          = `{"code":3,"message":"Bad request"}`
	bodyUnsupportedProtocol = `{"code":5,"message":"Unsupported protocol version"}`
)

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

// wantRefusedWS fails the test unless a WebSocket to url is refused: the
// handshake fails (with status 400 when there is an HTTP answer), or the
// connection closes before any frame.
func wantRefusedWS(t *testing.T, url string) {
	t.Helper()
	c, resp, err := dial(t, url, false)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("refused WebSocket to %s: status %d, want 400", url, resp.StatusCode)
		}
		return
	}
	if frames := c.expectClosed(); len(frames) > 0 {
		t.Fatalf("WebSocket to %s got %v before it closed, want nothing", url, frames)
	}
}

// wantSessionGone fails the test unless a poll of sid is refused as Node
// refuses an unknown session.
func wantSessionGone(t *testing.T, h *harness, sid string) {
	t.Helper()
	wantReply(t, "GET of a closed session", h.get(pollQuery(sid)), http.StatusBadRequest, bodySessionIDUnknown)
}

// initSocketIO opens a WebSocket session, joins "/" and consumes the
// CONNECT answer and the "auth" event, as the suite's helper does.
func initSocketIO(h *harness) *wsConn {
	h.t.Helper()
	c, _ := h.openWS(false)
	c.join("/", "")
	c.expect(`42["auth",{}]`)
	return c
}

// ===== Engine.IO protocol, at /socket.io/ ====================================

func TestConformanceEnginePollingHandshake(t *testing.T) {
	h := startSuiteServer(t)
	r := h.get("EIO=4&transport=polling")
	if r.status != http.StatusOK {
		t.Fatalf("status %d (body %q), want 200", r.status, r.body)
	}
	checkSuiteOpen(t, parseOpen(t, r.body), []string{"websocket"})
}

func TestConformanceEnginePollingRejectsBadEIO(t *testing.T) {
	h := startSuiteServer(t)
	for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
		wantReply(t, "GET ?"+q, h.get(q), http.StatusBadRequest, bodyUnsupportedProtocol)
	}
}

func TestConformanceEnginePollingRejectsBadTransport(t *testing.T) {
	h := startSuiteServer(t)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		wantReply(t, "GET ?"+q, h.get(q), http.StatusBadRequest, bodyTransportUnknown)
	}
}

func TestConformanceEnginePollingRejectsBadMethod(t *testing.T) {
	h := startSuiteServer(t)
	for _, m := range []string{http.MethodPost, http.MethodPut} {
		r := h.request(m, h.url("EIO=4&transport=polling"), "", nil)
		if r.err != nil {
			t.Fatalf("%s: %v", m, r.err)
		}
		wantReply(t, m+" handshake", r, http.StatusBadRequest, bodyBadHandshakeMethod)
	}
}

func TestConformanceEngineWebSocketHandshake(t *testing.T) {
	h := startSuiteServer(t)
	_, o := h.openWS(false)
	checkSuiteOpen(t, o, []string{})
}

func TestConformanceEngineWebSocketRejectsBadEIO(t *testing.T) {
	h := startSuiteServer(t)
	wantRefusedWS(t, h.wsURL("transport=websocket"))
	wantRefusedWS(t, h.wsURL("EIO=abc&transport=websocket"))
}

func TestConformanceEngineWebSocketRejectsBadTransport(t *testing.T) {
	h := startSuiteServer(t)
	wantRefusedWS(t, h.wsURL("EIO=4"))
	wantRefusedWS(t, h.wsURL("EIO=4&transport=abc"))
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
		wantReply(t, "GET"+round, h.get(pollQuery(sid)), http.StatusOK, "2")
		wantReply(t, "POST pong"+round, h.post(pollQuery(sid), "3"), http.StatusOK, "ok")
	}
}

// joinPolling joins "/" on polling session sid and reads the CONNECT
// answer and the "auth" event, which may come in one poll or two.
func (h *harness) joinPolling(sid string) {
	h.t.Helper()
	wantReply(h.t, "POST CONNECT", h.post(pollQuery(sid), "40"), http.StatusOK, "ok")
	var got []string
	for len(got) < 2 {
		r := h.get(pollQuery(sid))
		if r.status != http.StatusOK {
			h.t.Fatalf("GET after CONNECT: %d %q", r.status, r.body)
		}
		got = append(got, strings.Split(r.body, "\x1e")...)
	}
	if len(got) != 2 || got[1] != `42["auth",{}]` {
		h.t.Fatalf("packets after CONNECT: %q, want the CONNECT answer and the auth event", got)
	}
	wantConnectAnswer(h.t, frame{data: []byte(got[0])}, "40")
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
		c.expect("2")
		c.send("3")
	}
}

func TestConformanceEngineWebSocketPingTimeout(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	start := time.Now()
	frames := c.expectClosed()
	if rest := withoutPings(frames); len(rest) > 0 {
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
	poll := h.getLater(pollQuery(sid))
	time.Sleep(pendingDelay) // the GET is pending
	wantReply(t, "POST close", h.post(pollQuery(sid), "1"), http.StatusOK, "ok")
	wantReply(t, "pending GET", awaitReply(t, "pending GET", poll), http.StatusOK, "6")
	wantSessionGone(t, h, sid)
}

func TestConformanceEngineWebSocketClose(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.send("1")
	if frames := c.expectClosed(); len(frames) > 0 {
		t.Errorf("got %v before the close, want nothing", frames)
	}
}

// upgrade upgrades polling session sid to a WebSocket and proves the
// upgrade done: a CONNECT sent on the WebSocket is answered there.
func upgrade(h *harness, sid string) *wsConn {
	h.t.Helper()
	c := mustDial(h.t, h.wsURL("EIO=4&transport=websocket&sid="+sid), false)
	c.send("2probe")
	c.expect("3probe")
	c.send("5")
	c.join("/", "")
	c.expectData(`42["auth",{}]`)
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
	wantReply(t, "GET after the upgrade", h.get(pollQuery(sid)), http.StatusBadRequest, bodyBadRequest)
	c.send(`42["message","still there"]`)
	c.expectData(`42["message-back","still there"]`)
}

func TestConformanceEngineUpgradeIgnoresSecondWebSocket(t *testing.T) {
	h := startSuiteServer(t)
	sid := h.openPolling()
	c := upgrade(h, sid)
	wantRefusedWS(t, h.wsURL("EIO=4&transport=websocket&sid="+sid))
	c.send(`42["message","still there"]`)
	c.expectData(`42["message-back","still there"]`)
}

// ===== Socket.IO protocol: connect ==========================================

func TestConformanceConnectMain(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.join("/", "")
	c.expect(`42["auth",{}]`)
}

func TestConformanceConnectMainWithAuth(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.join("/", `{"token":"123"}`)
	c.expect(`42["auth",{"token":"123"}]`)
}

func TestConformanceConnectCustom(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.join("/custom", "") // sends "40/custom,"
	c.expect(`42/custom,["auth",{}]`)
}

func TestConformanceConnectCustomWithAuth(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.join("/custom", `{"token":"abc"}`)
	c.expect(`42/custom,["auth",{"token":"abc"}]`)
}

func TestConformanceConnectUnknownNamespace(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.send("40/random")
	c.expect(`44/random,{"message":"Invalid namespace"}`)
}

func TestConformanceConnectInvalidHandshake(t *testing.T) {
	h := startSuiteServer(t)
	c, _ := h.openWS(false)
	c.send("4abc")
	if rest := withoutPings(c.expectClosed()); len(rest) > 0 {
		t.Errorf("got %v before the close, want nothing", rest)
	}
}

func TestConformanceConnectTimeout(t *testing.T) {
	h := startSuiteServer(t)
	// The client answers pings, so that only the connect timeout can end
	// the session.
	c, _ := h.openWS(true)
	start := time.Now()
	if frames := c.expectClosed(); len(frames) > 0 {
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
	c.send("41")
	// Nothing answers the DISCONNECT and the connection stays open: the
	// next frame is the server's ping.
	c.expect("2")
}

func TestConformanceConnectThenDisconnectCustom(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.expect("2")
	c.send("3") // not in the suite; keeps the session alive on a slow machine
	c.send("40/custom")
	wantConnectAnswer(t, c.next(), "40/custom,")
	c.expect(`42/custom,["auth",{}]`)
	c.send("41/custom")
	c.send(`42["message","message to main namespace"]`)
	c.expectData(`42["message-back","message to main namespace"]`)
}

// ===== Socket.IO protocol: message ==========================================

func TestConformanceMessagePlain(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.send(`42["message",1,"2",{"3":[true]}]`)
	c.expectData(`42["message-back",1,"2",{"3":[true]}]`)
}

func TestConformanceMessageBinary(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.send(`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4, 5, 6})
	c.expectData(`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{4, 5, 6})
}

func TestConformanceMessagePlainWithAck(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	c.expectData(`43456[1,"2",{"3":[false]}]`)
}

func TestConformanceMessageBinaryWithAck(t *testing.T) {
	h := startSuiteServer(t)
	c := initSocketIO(h)
	c.send(`452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4, 5, 6})
	c.expectData(`462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{4, 5, 6})
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
			c.send(tc.packet)
			if rest := withoutPings(c.expectClosed()); len(rest) > 0 {
				t.Errorf("got %v before the close, want nothing", rest)
			}
		})
	}
}
