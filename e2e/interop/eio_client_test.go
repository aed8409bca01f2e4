package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
)

// Interop of our Engine.IO client (engineio.Dial) with the official Node.js
// engine.io server (the version pinned in e2e/node/package.json), run by
// e2e/node/eio-server/echo-server.mjs. Every scenario runs in three modes:
// polling only, WebSocket only, and polling upgraded to WebSocket.

const nodeEIOWait = 5 * time.Second // how long one side may lag behind the other

type goEIOMode struct {
	name       string
	transports []string
	first      string // transport of the handshake
	final      string // transport once settled
}

var goEIOModes = []goEIOMode{
	{name: "polling", transports: []string{"polling"}, first: "polling", final: "polling"},
	{name: "websocket", transports: []string{"websocket"}, first: "websocket", final: "websocket"},
	{name: "upgrade", first: "polling", final: "websocket"},
}

// nodeEIOLine is one JSON line printed by echo-server.mjs.
type nodeEIOLine struct {
	Event      string            `json:"event"`
	Port       int               `json:"port"`
	ID         string            `json:"id"`
	Transport  string            `json:"transport"`
	Query      map[string]string `json:"query"`
	XTest      *string           `json:"xtest"`
	Reason     string            `json:"reason"`
	Requests   int               `json:"requests"`
	WithCookie int               `json:"withCookie"`
	WithHeader int               `json:"withHeader"`
}

// nodeEIOServer is a running echo-server.mjs.
type nodeEIOServer struct {
	URL string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer // read only after the process has exited
	ended  chan struct{}

	mu     sync.Mutex
	lines  []nodeEIOLine
	notify chan struct{}
}

// startNodeEIOServer starts the Node.js engine.io echo server and stops it
// (by closing its standard input, or killing it) when the test ends.
func startNodeEIOServer(t *testing.T) *nodeEIOServer {
	t.Helper()
	env := requireNode(t, "engine.io")
	ns := &nodeEIOServer{ended: make(chan struct{}), notify: make(chan struct{}, 1)}
	ns.cmd = exec.Command(env.Node, "eio-server/echo-server.mjs", "0")
	ns.cmd.Dir = env.Dir
	ns.cmd.Stderr = &ns.stderr
	var err error
	if ns.stdin, err = ns.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := ns.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.cmd.Start(); err != nil {
		t.Fatalf("start node echo-server.mjs: %v", err)
	}
	go func() {
		defer close(ns.ended)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l nodeEIOLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = nodeEIOLine{Event: "bad-line", Reason: sc.Text()}
			}
			ns.mu.Lock()
			ns.lines = append(ns.lines, l)
			ns.mu.Unlock()
			select {
			case ns.notify <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = ns.stdin.Close()
		select {
		case <-ns.ended:
		case <-time.After(5 * time.Second):
			_ = ns.cmd.Process.Kill()
			<-ns.ended
		}
		err := ns.cmd.Wait()
		if err != nil || t.Failed() {
			t.Logf("node echo-server.mjs: exit %v\n--- lines: %+v\n--- stderr:\n%s", err, ns.all(), ns.stderr.String())
		}
	})
	l := ns.wait(t, "listening", func(l nodeEIOLine) bool { return l.Event == "listening" })
	ns.URL = "http://127.0.0.1:" + strconv.Itoa(l.Port)
	return ns
}

func (ns *nodeEIOServer) all() []nodeEIOLine {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return append([]nodeEIOLine(nil), ns.lines...)
}

// wait returns the first line that match accepts, waiting for it.
func (ns *nodeEIOServer) wait(t *testing.T, what string, match func(nodeEIOLine) bool) nodeEIOLine {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for {
		for _, l := range ns.all() {
			if match(l) {
				return l
			}
		}
		select {
		case <-ns.notify:
		case <-ns.ended:
			for _, l := range ns.all() {
				if match(l) {
					return l
				}
			}
			t.Fatalf("node server exited before %s\n--- lines: %+v", what, ns.all())
		case <-timer.C:
			t.Fatalf("node server: no %s line within 10s\n--- lines: %+v", what, ns.all())
		}
	}
}

// event waits for the line of session id with the given event.
func (ns *nodeEIOServer) event(t *testing.T, id, event string) nodeEIOLine {
	t.Helper()
	return ns.wait(t, event+" of "+id, func(l nodeEIOLine) bool { return l.Event == event && l.ID == id })
}

// goEIOMsg is a message our client received.
type goEIOMsg struct {
	Data   string
	Binary bool
}

func (m goEIOMsg) String() string {
	if m.Binary {
		return fmt.Sprintf("binary [% x]", m.Data)
	}
	return fmt.Sprintf("text %q", m.Data)
}

// goEIORec is the ClientHandler of the tests: it records what it is called
// with.
type goEIORec struct {
	t        *testing.T
	msgs     chan goEIOMsg
	upgrades chan string
	closed   chan [2]string // reason, cause

	mu    sync.Mutex
	pings int
}

func newGoEIORec(t *testing.T) *goEIORec {
	return &goEIORec{t: t, msgs: make(chan goEIOMsg, 4096), upgrades: make(chan string, 2), closed: make(chan [2]string, 1)}
}

func (r *goEIORec) OnOpen(*engineio.ClientConn) {}
func (r *goEIORec) OnMessage(data []byte, binary bool) {
	r.msgs <- goEIOMsg{string(data), binary}
}
func (r *goEIORec) OnPing() {
	r.mu.Lock()
	r.pings++
	r.mu.Unlock()
}
func (r *goEIORec) OnUpgrade(transport string) { r.upgrades <- transport }
func (r *goEIORec) OnClose(reason string, cause error) {
	c := ""
	if cause != nil {
		c = cause.Error()
	}
	r.closed <- [2]string{reason, c}
}

func (r *goEIORec) expect(want goEIOMsg) {
	r.t.Helper()
	select {
	case got := <-r.msgs:
		if got != want {
			r.t.Fatalf("client got %v, want %v", got, want)
		}
	case c := <-r.closed:
		r.t.Fatalf("client closed (%q, %q) while %v was awaited", c[0], c[1], want)
	case <-time.After(nodeEIOWait):
		r.t.Fatalf("client: no message within %v, want %v", nodeEIOWait, want)
	}
}

func (r *goEIORec) expectClose(reason string) {
	r.t.Helper()
	select {
	case c := <-r.closed:
		if c[0] != reason {
			r.t.Fatalf("client OnClose(%q, %q), want %q", c[0], c[1], reason)
		}
	case <-time.After(nodeEIOWait):
		r.t.Fatalf("client: OnClose not called within %v", nodeEIOWait)
	}
}

func (r *goEIORec) waitUpgrade() {
	r.t.Helper()
	select {
	case tr := <-r.upgrades:
		if tr != "websocket" {
			r.t.Fatalf("OnUpgrade(%q), want websocket", tr)
		}
	case c := <-r.closed:
		r.t.Fatalf("client closed (%q, %q) while the upgrade was awaited", c[0], c[1])
	case <-time.After(nodeEIOWait):
		r.t.Fatalf("client: no upgrade within %v", nodeEIOWait)
	}
}

// dialNodeEIO connects our client to ns in mode, with a cookie jar, an
// extra header and an extra query parameter. In upgrade mode it waits for
// the upgrade. At cleanup the connection is closed and its goroutines
// awaited.
func dialNodeEIO(t *testing.T, ns *nodeEIOServer, mode goEIOMode) (*engineio.ClientConn, *goEIORec) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	rec := newGoEIORec(t)
	ctx, cancel := context.WithTimeout(context.Background(), nodeEIOWait)
	defer cancel()
	c, err := engineio.Dial(ctx, ns.URL, &engineio.DialOptions{
		Transports:   mode.transports,
		HTTPClient:   &http.Client{Transport: tr, Jar: jar},
		ExtraHeaders: http.Header{"X-Test": {"go"}},
		Query:        map[string][]string{"who": {"go-client"}},
	}, rec)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		select {
		case <-c.Done():
		case <-time.After(nodeEIOWait):
			t.Errorf("client goroutines still running %v after close", nodeEIOWait)
		}
	})
	conn := ns.event(t, c.ID(), "connection")
	if conn.Transport != mode.first {
		t.Errorf("server: handshake on %q, want %q", conn.Transport, mode.first)
	}
	if conn.XTest == nil || *conn.XTest != "go" || conn.Query["who"] != "go-client" || conn.Query["EIO"] != "4" {
		t.Errorf("server: handshake without the extra header and query: %+v", conn)
	}
	if mode.name == "upgrade" {
		rec.waitUpgrade()
		if got := ns.event(t, c.ID(), "upgrade").Transport; got != "websocket" {
			t.Errorf("server: upgrade to %q", got)
		}
	}
	if got := c.Transport(); got != mode.final {
		t.Fatalf("client transport %q, want %q", got, mode.final)
	}
	if c.PingInterval() != 300*time.Millisecond || c.PingTimeout() != 200*time.Millisecond || c.MaxPayload() != 1e6 {
		t.Errorf("handshake values %v %v %d", c.PingInterval(), c.PingTimeout(), c.MaxPayload())
	}
	return c, rec
}

func forGoEIOModes(t *testing.T, f func(t *testing.T, mode goEIOMode)) {
	for _, mode := range goEIOModes {
		t.Run(mode.name, func(t *testing.T) { f(t, mode) })
	}
}

// Text and binary messages both ways, and their order.
func TestGoEIOClientNodeEcho(t *testing.T) {
	ns := startNodeEIOServer(t)
	forGoEIOModes(t, func(t *testing.T, mode goEIOMode) {
		c, rec := dialNodeEIO(t, ns, mode)
		msgs := []goEIOMsg{
			{"hello", false},
			{"\x00\x01\x02\xff", true},
			{"", false},
			{"héllo 🌍", false},
			{strings.Repeat("€", 3000), false},
			{string(bytes.Repeat([]byte{0xfe, 0}, 5000)), true},
		}
		for _, m := range msgs {
			if err := c.Send([]byte(m.Data), m.Binary); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		for _, m := range msgs {
			rec.expect(m)
		}
	})
}

func TestGoEIOClientNodeOrder(t *testing.T) {
	const n = 500
	ns := startNodeEIOServer(t)
	forGoEIOModes(t, func(t *testing.T, mode goEIOMode) {
		c, rec := dialNodeEIO(t, ns, mode)
		for i := range n {
			var err error
			if i%5 == 0 {
				err = c.Send([]byte{byte(i), byte(i >> 8)}, true)
			} else {
				err = c.Send([]byte(strconv.Itoa(i)), false)
			}
			if err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		for i := range n {
			if i%5 == 0 {
				rec.expect(goEIOMsg{string([]byte{byte(i), byte(i >> 8)}), true})
			} else {
				rec.expect(goEIOMsg{strconv.Itoa(i), false})
			}
		}
		if err := c.Send([]byte("burst:"+strconv.Itoa(n)), false); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			rec.expect(goEIOMsg{strconv.Itoa(i), false})
		}
	})
}

// The client answers the pings of the Node server (300 ms + 200 ms) for
// several intervals.
func TestGoEIOClientNodeHeartbeat(t *testing.T) {
	ns := startNodeEIOServer(t)
	forGoEIOModes(t, func(t *testing.T, mode goEIOMode) {
		c, rec := dialNodeEIO(t, ns, mode)
		time.Sleep(1300 * time.Millisecond)
		select {
		case cl := <-rec.closed:
			t.Fatalf("client closed: %q %q", cl[0], cl[1])
		default:
		}
		rec.mu.Lock()
		pings := rec.pings
		rec.mu.Unlock()
		if pings < 3 {
			t.Fatalf("%d pings in 1.3 s, want at least 3", pings)
		}
		if err := c.Send([]byte("still here"), false); err != nil {
			t.Fatal(err)
		}
		rec.expect(goEIOMsg{"still here", false})
		for _, l := range ns.all() {
			if l.Event == "close" && l.ID == c.ID() {
				t.Fatalf("server closed the session: %+v", l)
			}
		}
	})
}

// The server closes the socket: "transport close" on the client.
func TestGoEIOClientNodeServerClose(t *testing.T) {
	ns := startNodeEIOServer(t)
	forGoEIOModes(t, func(t *testing.T, mode goEIOMode) {
		c, rec := dialNodeEIO(t, ns, mode)
		if err := c.Send([]byte("close-me"), false); err != nil {
			t.Fatal(err)
		}
		rec.expectClose("transport close")
		if got := ns.event(t, c.ID(), "close").Reason; got != "forced close" {
			t.Errorf("server reason %q, want forced close", got)
		}
		if err := c.Send([]byte("x"), false); !errors.Is(err, engineio.ErrClosed) {
			t.Errorf("Send after close: %v, want ErrClosed", err)
		}
	})
}

// The client closes: "forced close" on the client, "transport close" on
// the server, which received what was sent before. Every request after
// the handshake carried the session cookie and the extra header.
func TestGoEIOClientNodeClientClose(t *testing.T) {
	ns := startNodeEIOServer(t)
	forGoEIOModes(t, func(t *testing.T, mode goEIOMode) {
		c, rec := dialNodeEIO(t, ns, mode)
		if err := c.Send([]byte("before close"), false); err != nil {
			t.Fatal(err)
		}
		rec.expect(goEIOMsg{"before close", false})
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		rec.expectClose("forced close")
		l := ns.event(t, c.ID(), "close")
		if l.Reason != "transport close" {
			t.Errorf("server reason %q, want transport close", l.Reason)
		}
		if mode.name != "websocket" {
			// A WebSocket-only handshake gets no cookie; polling and the
			// upgrade send it back.
			if l.Requests == 0 || l.WithCookie != l.Requests {
				t.Errorf("server: %d of %d requests after the handshake carried the session cookie", l.WithCookie, l.Requests)
			}
		}
		if l.WithHeader != l.Requests {
			t.Errorf("server: %d of %d requests after the handshake carried X-Test", l.WithHeader, l.Requests)
		}
		select {
		case <-c.Done():
		case <-time.After(nodeEIOWait):
			t.Fatalf("client goroutines still running after close")
		}
	})
}
