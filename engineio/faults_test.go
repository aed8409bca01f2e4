package engineio_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/faultproxy"
	"github.com/go-sio/socketio/internal/testutil"
)

// Faults of the network between a client and the server, injected with
// internal/faultproxy (or a raw TCP client): each is detected within the
// heartbeat, with the reason Node gives, leaves nothing behind (no
// request left in the server; goleak checks goroutines at the end of the
// package) and never disturbs another client. The heartbeat is short
// (100 ms + 100 ms); the bounds of the waits are hang guards only.

const (
	fltInterval = 100 * time.Millisecond
	fltTimeout  = 100 * time.Millisecond
	// fltDetect bounds the wait for a fault to be detected: ten times
	// pingInterval + pingTimeout, a hang guard for a loaded machine, not
	// a measure.
	fltDetect = 10 * (fltInterval + fltTimeout)
)

// newFaultProxy starts a proxy to hs; it is closed at cleanup (before the
// clients' own cleanups, registered earlier, run).
func newFaultProxy(t *testing.T, hs *hardServer) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(hs.http.Listener.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// proxyEndpoint is the engine path of hs reached through p, with an HTTP
// client of its own whose connections are closed at cleanup.
func proxyEndpoint(t *testing.T, p *faultproxy.Proxy) *testutil.Endpoint {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return testutil.NewEndpoint(t, &http.Client{Transport: tr}, "http://"+p.Addr()+"/engine.io/")
}

// onlyConn returns the one connection of p.
func onlyConn(t *testing.T, p *faultproxy.Proxy) *faultproxy.Conn {
	t.Helper()
	var conns []*faultproxy.Conn
	hdEventually(t, "one proxied connection", func() bool { conns = p.Conns(); return len(conns) == 1 })
	return conns[0]
}

// expectReason waits until session sid closes and checks its reason.
func expectReason(t *testing.T, hs *hardServer, sid string, want ...string) {
	t.Helper()
	got := hs.waitClosed(sid, fltDetect)
	for _, w := range want {
		if got.reason == w {
			return
		}
	}
	t.Fatalf("session closed with %q (%v), want %q", got.reason, got.cause, want)
}

// waitActive waits until n requests are being served, WebSocket read
// loops included (the bystanders').
func (hs *hardServer) waitActive(n int64) {
	hs.t.Helper()
	hdEventually(hs.t, fmt.Sprintf("%d requests left in the server", n), func() bool {
		return hs.active.Load()+engineio.ReadLoops(hs.eio) == n
	})
}

// echoCheck checks that a bystander WebSocket client is still served.
func echoCheck(c *testutil.WSConn, msg string) {
	c.SendText("4" + msg)
	c.ExpectTextSkippingPings("4" + msg)
}

// TestFaultDeadWebSocketPeer: the proxy blackholes a WebSocket session
// (nothing passes either way, nothing is closed). The server's ping goes
// unanswered: the session closes with "ping timeout", its read loop ends.
func TestFaultDeadWebSocketPeer(t *testing.T) {
	hs := newHardServer(t, hdOptions(fltInterval, fltTimeout))
	bystander, _ := hs.openWS()
	p := newFaultProxy(t, hs)
	c := testutil.MustDial(t, "ws://"+p.Addr()+"/engine.io/?EIO=4&transport=websocket", &testutil.DialOptions{AutoPong: true})
	sid := sidOf(t, string(c.Next().Data))
	echoCheck(c, "before")

	onlyConn(t, p).Stall(time.Hour, false)
	expectReason(t, hs, sid, engineio.ReasonPingTimeout)
	hs.waitActive(1) // the bystander's read loop only
	echoCheck(bystander, "still served")
	_ = p.Close() // lets the client's read loop end
}

// TestFaultDeadPollingPeer: the proxy blackholes the connections of a
// polling session while its GET waits. The ping it carries never arrives:
// the session closes with "ping timeout" and its requests end.
func TestFaultDeadPollingPeer(t *testing.T) {
	hs := newHardServer(t, hdOptions(fltInterval, fltTimeout))
	bystander, _ := hs.openWS()
	p := newFaultProxy(t, hs)
	ep := proxyEndpoint(t, p)
	r := ep.Get("EIO=4&transport=polling")
	sid := sidOf(t, r.Body)
	testutil.ExpectResponse(t, "POST", ep.Post(sidQuery(sid), "4before"), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "GET", ep.Get(sidQuery(sid)), http.StatusOK, "4before")

	pending := ep.GetAsync(sidQuery(sid))
	hs.waitPollPending(sid)
	for _, c := range p.Conns() {
		c.Stall(time.Hour, false)
	}
	expectReason(t, hs, sid, engineio.ReasonPingTimeout)
	hs.waitActive(1)
	echoCheck(bystander, "still served")
	_ = p.Close()
	<-pending // ends with the proxy's connections
}

// TestFaultHalfWrittenFrame: the proxy forwards the first half of a frame
// from the client, then stalls. The server's read loop waits in the middle
// of the frame; the heartbeat still runs and closes the session with "ping
// timeout", which ends the read loop.
func TestFaultHalfWrittenFrame(t *testing.T) {
	hs := newHardServer(t, hdOptions(fltInterval, fltTimeout))
	bystander, _ := hs.openWS()
	p := newFaultProxy(t, hs)
	raw := hdDialRaw(t, p.Addr(), "EIO=4&transport=websocket")
	sid := raw.openSession()
	conn := onlyConn(t, p)

	f := hdFrame(hdOpText, []byte("4"+strings.Repeat("half", 40)))
	sent := conn.BytesUp()
	raw.write(f[:len(f)/2])
	hdEventually(t, "half a frame forwarded", func() bool { return conn.BytesUp() == sent+int64(len(f)/2) })
	conn.Stall(time.Hour, false)
	raw.write(f[len(f)/2:]) // held by the proxy

	expectReason(t, hs, sid, engineio.ReasonPingTimeout)
	hs.waitActive(1)
	echoCheck(bystander, "still served")
}

// TestFaultHalfWrittenPost: the polling form of a half-written frame. A
// POST announces its body, the proxy forwards half of it and stalls. The
// session closes with "ping timeout", and the POST, whose body will never
// be complete, is aborted (as Node destroys it) instead of holding its
// connection and goroutine for as long as the peer keeps it open.
func TestFaultHalfWrittenPost(t *testing.T) {
	hs := newHardServer(t, hdOptions(fltInterval, fltTimeout))
	bystander, _ := hs.openWS()
	sid := hs.openPolling()
	p := newFaultProxy(t, hs)
	raw := hdDialRaw(t, p.Addr(), "")
	body := "4" + strings.Repeat("half", 40)
	head := fmt.Sprintf("POST /engine.io/?%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n\r\n", sidQuery(sid), len(body))
	raw.write([]byte(head + body[:len(body)/2]))
	conn := onlyConn(t, p)
	hs.waitBodyRead(sid)
	hdEventually(t, "half the body forwarded", func() bool { return conn.BytesUp() == int64(len(head)+len(body)/2) })
	conn.Stall(time.Hour, false)
	raw.write([]byte(body[len(body)/2:])) // held by the proxy

	expectReason(t, hs, sid, engineio.ReasonPingTimeout)
	hs.waitActive(1) // the POST's request has ended; the bystander's remains
	echoCheck(bystander, "still served")
}

// TestFaultStalledWrite: the other direction. The server writes a message
// bigger than the socket buffers to a client whose proxy stalls: the
// frame is half written and the writer blocks. The heartbeat closes the
// session with "ping timeout" all the same, and the blocked write is cut
// short, so the writer and the read loop end.
func TestFaultStalledWrite(t *testing.T) {
	opts := hdOptions(fltInterval, fltTimeout)
	opts.MaxBufferedBytes = 64 << 20
	hs := newHardServer(t, opts)
	bystander, _ := hs.openWS()
	p := newFaultProxy(t, hs)
	raw := hdDialRaw(t, p.Addr(), "EIO=4&transport=websocket")
	sid := raw.openSession()
	conn := onlyConn(t, p)
	conn.Stall(time.Hour, false)

	if err := hs.session(sid).Send(make([]byte, 32<<20), true); err != nil {
		t.Fatal(err)
	}
	expectReason(t, hs, sid, engineio.ReasonPingTimeout)
	hs.waitActive(1)
	echoCheck(bystander, "still served")
}

// TestFaultUpgradeDropped: a polling session probes a WebSocket upgrade
// ("2probe", "3probe") and the TCP connection of the probe is then cut
// (RST). The upgrade is abandoned at once: the session goes on over
// polling, its heartbeat resumed, and the probe's request ends.
func TestFaultUpgradeDropped(t *testing.T) {
	opts := hdOptions(fltInterval, time.Second)
	opts.UpgradeTimeout = time.Minute // the drop, not the timeout, must end the upgrade
	hs := newHardServer(t, opts)
	sid := hs.openPolling()
	p := newFaultProxy(t, hs)
	c := testutil.MustDial(t, "ws://"+p.Addr()+"/engine.io/?EIO=4&transport=websocket&sid="+sid, nil)
	c.SendText("2probe")
	c.ExpectText("3probe")
	onlyConn(t, p).Drop()
	c.ExpectClosed()
	hs.waitActive(0)

	// Pings keep coming over polling, and are answered there. (While the
	// upgrade would still be under way, a GET would get a noop instead.)
	for gets, pings := 0, 0; pings < 3; gets++ {
		if gets == 20 {
			t.Fatalf("%d GETs after the drop brought %d pings: the heartbeat did not resume", gets, pings)
		}
		r := hs.Get(sidQuery(sid))
		switch {
		case r.Status == http.StatusOK && r.Body == "2":
			pings++
			testutil.ExpectResponse(t, "pong", hs.Post(sidQuery(sid), "3"), http.StatusOK, "ok")
		case r.Status == http.StatusOK && r.Body == "6":
		default:
			t.Fatalf("GET after the drop: %d %q, want a ping", r.Status, r.Body)
		}
	}
	testutil.ExpectResponse(t, "POST", hs.Post(sidQuery(sid), "4polling"), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "GET", hs.Get(sidQuery(sid)), http.StatusOK, "4polling")
	if tr := hs.session(sid).Transport(); tr != engineio.TransportPolling || hs.isClosed(sid) {
		t.Fatalf("transport %q, closed %v: want an open polling session", tr, hs.isClosed(sid))
	}
}

// TestFaultConcurrentPolling: a burst of concurrent GETs and POSTs on one
// session. Every request is answered (200, or 400 for an overlap or a
// session already closed), the session closes once, with "transport
// error", no request is left in the server, and another session is
// untouched.
func TestFaultConcurrentPolling(t *testing.T) {
	const n = 16
	hs := newHardServer(t, hdOptions(time.Minute, time.Minute))
	other := hs.openPolling()
	sid := hs.openPolling()
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 2 * n}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make(chan testutil.Response, 2*n)
	for i := range 2 * n {
		wg.Go(func() {
			<-start
			if i%2 == 0 {
				results <- testutil.Request(client, http.MethodGet, hs.URL(sidQuery(sid)), "", nil)
			} else {
				results <- testutil.Request(client, http.MethodPost, hs.URL(sidQuery(sid)), "4burst", nil)
			}
		})
	}
	close(start)
	wg.Wait()
	close(results)
	for r := range results {
		if r.Err != nil {
			t.Fatalf("request failed: %v", r.Err)
		}
		if r.Status != http.StatusOK && r.Status != http.StatusBadRequest {
			t.Fatalf("answer %d %q, want 200 or 400", r.Status, r.Body)
		}
	}
	expectReason(t, hs, sid, engineio.ReasonTransportError)
	hs.waitIdle()
	testutil.ExpectResponse(t, "other session POST", hs.Post(sidQuery(other), "4fine"), http.StatusOK, "ok")
	testutil.ExpectResponse(t, "other session GET", hs.Get(sidQuery(other)), http.StatusOK, "4fine")
}

// TestFaultResetDuringHandshake: clients send a WebSocket upgrade request
// and reset the connection (RST) at once, many times, so that the reset
// lands at every step of the handshake. No session stays open or counted,
// every session that opened was closed, no request is left in the server,
// and the server serves the next client.
func TestFaultResetDuringHandshake(t *testing.T) {
	const n = 100
	hs := newHardServer(t, hdOptions(time.Minute, time.Minute))
	addr := hs.http.Listener.Addr().String()
	for i := range n {
		raw := hdDialRaw(t, addr, "")
		raw.write(hdUpgradeRequest("EIO=4&transport=websocket"))
		// From no wait to about a millisecond: the reset lands before
		// the request is read, while the 101 is written, after.
		time.Sleep(time.Duration(i%25) * 40 * time.Microsecond)
		raw.reset()
	}
	hdEventually(t, "no client counted", func() bool { return hs.eio.ClientsCount() == 0 })
	hs.waitIdle()
	hs.mu.Lock()
	opened, closed := hs.opened.Load(), int64(len(hs.closes))
	hs.mu.Unlock()
	if opened != closed {
		t.Fatalf("%d sessions opened, %d closed", opened, closed)
	}
	t.Logf("%d of %d handshakes opened a session before the reset", opened, n)
	c, _ := hs.openWS()
	echoCheck(c, "served")
}

// TestFaultManyClientsDisconnect: 5000 WebSocket clients connect, then
// all vanish at once (TCP reset, as when a network or a process dies).
// Goroutines, file descriptors and the heap in use come back to their
// level before the clients came. The clients are raw connections: they
// cost the test no goroutine.
func TestFaultManyClientsDisconnect(t *testing.T) {
	const n = 5000
	eio := engineio.NewServer(engineio.HandlerFunc(func(*engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{}
	}), hdOptions(time.Minute, time.Minute))
	srv := httptest.NewServer(eio)
	defer srv.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		defer cancel()
		_ = eio.Shutdown(ctx)
	}()
	addr := srv.Listener.Addr().String()
	dial := func() (net.Conn, error) {
		conn, err := net.DialTimeout("tcp", addr, testutil.WaitTimeout)
		if err != nil {
			return nil, err
		}
		_ = conn.SetDeadline(time.Now().Add(4 * testutil.WaitTimeout))
		if _, err := conn.Write(hdUpgradeRequest("EIO=4&transport=websocket")); err != nil {
			conn.Close()
			return nil, err
		}
		br := bufio.NewReaderSize(conn, 512)
		resp, err := http.ReadResponse(br, nil)
		if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
			err = fmt.Errorf("handshake status %d", resp.StatusCode)
		}
		if err == nil {
			var p []byte
			if _, p, err = hdReadFrame(br); err == nil && !strings.HasPrefix(string(p), `0{"sid":"`) {
				err = fmt.Errorf("first frame %q", p)
			}
		}
		if err != nil {
			conn.Close()
			return nil, err
		}
		_ = conn.SetDeadline(time.Time{})
		return conn, nil
	}
	drop := func(c net.Conn) {
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}

	// round connects n clients, then drops them all at once, and returns
	// what the process held with the n clients connected.
	round := func() resources {
		t.Helper()
		conns := make([]net.Conn, n)
		defer func() {
			for _, c := range conns {
				if c != nil {
					drop(c)
				}
			}
		}()
		var failed atomic.Value
		var wg sync.WaitGroup
		var next atomic.Int64
		for range 8 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= n || failed.Load() != nil {
						return
					}
					c, err := dial()
					if err != nil {
						failed.Store(fmt.Errorf("client %d: %w", i, err))
						return
					}
					conns[i] = c
				}
			})
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			t.Fatal(err)
		}
		if got := eio.ClientsCount(); got != n {
			t.Fatalf("ClientsCount %d, want %d", got, n)
		}
		peak := measure()
		for i, c := range conns {
			drop(c)
			conns[i] = nil
		}
		deadline := time.Now().Add(4 * testutil.WaitTimeout)
		for eio.ClientsCount() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("ClientsCount %d after every client vanished", eio.ClientsCount())
			}
			time.Sleep(10 * time.Millisecond)
		}
		return peak
	}

	// The baseline is measured after a first round: the runtime keeps the
	// descriptors of ended goroutines for reuse and maps keep their
	// capacity, which is no leak (about 3 MiB for 5000 clients).
	before := measure()
	round()
	base := measure()
	peak := round()

	// Back to the baseline, within a small tolerance: a leak of one
	// goroutine, one descriptor or 200 bytes per client would exceed it.
	const slackG, slackFD, slackHeap = 20, 20, 1 << 20
	deadline := time.Now().Add(4 * testutil.WaitTimeout)
	var now resources
	for {
		now = measure()
		if now.goroutines <= base.goroutines+slackG && now.fds <= base.fds+slackFD && now.heap <= base.heap+slackHeap {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not back to the baseline:\nbaseline %v\npeak     %v\nnow      %v", base, peak, now)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("before   %v\nbaseline %v\npeak     %v\nafter    %v", before, base, peak, now)
}

// resources are what a process holds.
type resources struct {
	goroutines int
	fds        int
	heap       uint64 // HeapInuse after a GC
}

func (r resources) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, %.1f MiB heap in use", r.goroutines, r.fds, float64(r.heap)/(1<<20))
}

func measure() resources {
	runtime.GC()
	runtime.GC() // the second frees what the first found in sync.Pools
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds := -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fds = len(ents)
	}
	return resources{goroutines: runtime.NumGoroutine(), fds: fds, heap: ms.HeapInuse}
}
