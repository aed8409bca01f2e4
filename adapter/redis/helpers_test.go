package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
	"github.com/go-sio/socketio/client"
)

// The tests of the three adapters share this harness: Go servers on
// httptest (node), each with its own go-redis client on a common
// redis-server, and Go clients (peer) on them. The classic adapter's
// nodes start with startNode (classic_test.go), those of the sharded and
// streams adapters with startBusNode (sharded_test.go).

// wait bounds every wait of these tests.
const wait = 10 * time.Second

// node is a socketio server on httptest, with its own go-redis client.
type node struct {
	name   string
	srv    *socketio.Server
	url    string
	rdb    *goredis.Client
	states chan bool // OnRedisState

	ready []any         // the arguments of its "ready" event
	poll  time.Duration // how often waitServerCount asks it

	mu      sync.Mutex
	sockets map[string]*socketio.Socket
}

// newNode returns a node named name on rdb, to serve.
func newNode(name string, rdb *goredis.Client, poll time.Duration, ready ...any) *node {
	return &node{name: name, rdb: rdb, states: make(chan bool, 64), ready: ready, poll: poll, sockets: make(map[string]*socketio.Socket)}
}

// onState is the OnRedisState of n's adapter.
func (n *node) onState(up bool, err error) {
	select {
	case n.states <- up:
	default:
	}
}

// serve starts n's server with the options so, on httptest, until the
// end of the test. setup, when set, registers more handlers before the
// server is served.
func (n *node) serve(t *testing.T, so *socketio.ServerOptions, setup func(*node)) {
	t.Helper()
	n.srv = socketio.NewServer(so)
	for _, nsp := range []string{"/", "/chat"} {
		n.srv.Of(nsp).OnConnection(n.onConnection)
	}
	if setup != nil {
		setup(n)
	}
	hs := httptest.NewServer(n.srv)
	n.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := n.srv.Shutdown(ctx); err != nil && !errors.Is(err, socketio.ErrServerClosed) {
			t.Errorf("%s: Shutdown: %v", n.name, err)
		}
		hs.Close()
		_ = n.rdb.Close()
	})
}

// onConnection: the auth's rooms (comma-separated) are joined, the data
// names the node and the client (a recovered socket keeps its own), and
// "ready" tells the client that the socket is set up.
func (n *node) onConnection(s *socketio.Socket) {
	auth := s.Handshake().Auth
	if rooms, _ := auth["rooms"].(string); rooms != "" && !s.Recovered() {
		s.Join(strings.Split(rooms, ",")...)
	}
	if !s.Recovered() {
		s.SetData(map[string]any{"node": n.name, "name": auth["name"]})
	}
	n.mu.Lock()
	n.sockets[s.ID()] = s
	n.mu.Unlock()
	_ = s.Emit("ready", n.ready...)
}

func (n *node) socket(id string) *socketio.Socket {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sockets[id]
}

// startCluster starts Redis and count nodes named A, B, ... with start,
// and waits until each counts them all on "/" and "/chat".
func startCluster(t *testing.T, count int, start func(rs *redistest.Server, name string) *node) (*redistest.Server, []*node) {
	t.Helper()
	rs := redistest.Start(t)
	var nodes []*node
	for i := range count {
		nodes = append(nodes, start(rs, string(rune('A'+i))))
	}
	for _, n := range nodes {
		for _, nsp := range []string{"/", "/chat"} {
			waitServerCount(t, n, nsp, count)
		}
	}
	return rs, nodes
}

// waitServerCount polls ServerCount, every n.poll (Redis has no event for
// it), until n counts want servers on nsp.
func waitServerCount(t *testing.T, n *node, nsp string, want int) {
	t.Helper()
	eventually(t, n.poll, fmt.Sprintf("%s%s counts %d servers", n.name, nsp, want), func() bool {
		got, err := n.srv.Of(nsp).Adapter().ServerCount(context.Background())
		return err == nil && got == want
	})
}

// waitState waits for OnRedisState(up) on each of nodes, in turn.
func waitState(t *testing.T, up bool, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		waitNodeState(t, n, up)
	}
}

func waitNodeState(t *testing.T, n *node, up bool) {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case got := <-n.states:
			if got == up {
				return
			}
		case <-timer.C:
			t.Fatalf("%s: OnRedisState(%v) not called", n.name, up)
		}
	}
}

// eventually polls cond, every interval, for at most wait.
func eventually(t *testing.T, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(interval)
	}
}

// ctxT is a context that ends after wait, or with the test.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// received is an event (or a disconnection, "#disconnect") a peer got.
type received struct {
	name   string
	args   socketio.Args
	reason string
}

// inbox keeps what a peer received, for the test goroutine to take.
type inbox struct {
	mu     sync.Mutex
	events []received
	ch     chan struct{}
}

func (b *inbox) push(r received) {
	b.mu.Lock()
	b.events = append(b.events, r)
	b.mu.Unlock()
	select {
	case b.ch <- struct{}{}:
	default:
	}
}

// take waits for the first event named name and removes it.
func (b *inbox) take(t *testing.T, who, name string) received {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		b.mu.Lock()
		for i, r := range b.events {
			if r.name == name {
				b.events = slices.Delete(b.events, i, i+1)
				b.mu.Unlock()
				return r
			}
		}
		b.mu.Unlock()
		select {
		case <-b.ch:
		case <-timer.C:
			t.Fatalf("%s did not receive %q", who, name)
		}
	}
}

// drain removes and returns the events named name.
func (b *inbox) drain(name string) []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []received
	b.events = slices.DeleteFunc(b.events, func(r received) bool {
		if r.name == name {
			out = append(out, r)
			return true
		}
		return false
	})
	return out
}

// peer is a Go client connected to one node.
type peer struct {
	name  string
	sock  *client.Socket
	in    *inbox
	noAck atomic.Bool
}

func (p *peer) id() string { return p.sock.ID() }

// connect connects a client named name to n's namespace nsp, in rooms
// (comma-separated), and waits until its server socket is set up. It
// acknowledges "ask" with {from, echo}.
func (n *node) connect(t *testing.T, nsp, name, rooms string) *peer {
	t.Helper()
	return connectTo(t, n.url, nsp, name, rooms, false)
}

// connectTo is connect to the server at url, which reconnects when
// reconnect is set.
func connectTo(t *testing.T, url, nsp, name, rooms string, reconnect bool) *peer {
	t.Helper()
	return connectAuth(t, url, nsp, map[string]any{"name": name, "rooms": rooms}, reconnect)
}

// connectAuth is connectTo with auth, which names the client ("name").
func connectAuth(t *testing.T, url, nsp string, auth map[string]any, reconnect bool) *peer {
	t.Helper()
	name, _ := auth["name"].(string)
	p := &peer{name: name, in: &inbox{ch: make(chan struct{}, 1)}}
	s, err := client.Connect(url+nsp, &client.Options{
		ForceNew: true,
		ManagerOptions: client.ManagerOptions{
			Transports:   []string{"websocket"},
			AutoConnect:  client.Bool(false),
			Reconnection: client.Bool(reconnect),
			// The delays are used only when reconnect is set.
			ReconnectionDelay:    20 * time.Millisecond,
			ReconnectionDelayMax: 100 * time.Millisecond,
		},
		SocketOptions: client.SocketOptions{Auth: auth},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.sock = s
	t.Cleanup(func() { _ = s.Manager().Close() })
	s.OnAny(func(e *socketio.Event) { p.in.push(received{name: e.Name, args: e.Args}) })
	s.OnDisconnect(func(reason string, _ error) { p.in.push(received{name: "#disconnect", reason: reason}) })
	s.On("ask", func(e *socketio.Event) {
		if p.noAck.Load() {
			return
		}
		var x any
		_ = e.Bind(&x)
		_ = e.Ack().Send(map[string]any{"from": name, "echo": x})
	})
	s.Connect()
	p.in.take(t, name, "ready")
	return p
}

var markers atomic.Int64

// expect checks, once a marker sent after it by from reached every peer,
// that event reached exactly the peers in want, each once. from must be
// the node that sent event: the order of two nodes' messages is not
// defined.
func expect(t *testing.T, from *socketio.Namespace, event string, all []*peer, want ...*peer) {
	t.Helper()
	expectAfter(t, marker(t, from), event, all, want...)
}

// expectAfter is expect with a marker sent by mark.
func expectAfter(t *testing.T, mark func(), event string, all []*peer, want ...*peer) {
	t.Helper()
	takeMarker(t, mark, all)
	for _, p := range all {
		got := len(p.in.drain(event))
		if w := slices.Contains(want, p); w && got != 1 || !w && got != 0 {
			t.Errorf("%s received %q %d times, want %v", p.name, event, got, map[bool]int{true: 1, false: 0}[w])
		}
	}
}

// expectVolatile is expect for a volatile event: a peer whose connection
// is busy may miss it, none gets it twice.
func expectVolatile(t *testing.T, from *socketio.Namespace, event string, all []*peer) {
	t.Helper()
	takeMarker(t, marker(t, from), all)
	for _, p := range all {
		if got := len(p.in.drain(event)); got > 1 {
			t.Errorf("%s received %q %d times", p.name, event, got)
		}
	}
}

// marker returns a mark that emits a "marker" event on from.
func marker(t *testing.T, from *socketio.Namespace) func() {
	return func() {
		if err := from.Emit("marker", markers.Add(1)); err != nil {
			t.Fatal(err)
		}
	}
}

// takeMarker calls mark, and waits until the marker reached every peer
// of all.
func takeMarker(t *testing.T, mark func(), all []*peer) {
	t.Helper()
	mark()
	for _, p := range all {
		p.in.take(t, p.name, "marker")
	}
}
