package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	socketio "github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
	"github.com/go-sio/socketio/engineio"
)

// Regression tests of what the soak found: a packet with binary
// attachments is several Engine.IO messages (the header, then each
// attachment). Two goroutines sending such packets on one connection (two
// namespaces multiplexed on it, or an acknowledgement and a broadcast)
// interleaved their messages; the decoder on the other side then got a
// header where it expected an attachment ("got plaintext data when
// reconstructing a packet"), and the connection was closed for a client
// that did nothing wrong. Now each packet's messages are queued together
// (engineio SendBatch).

// bugRig is a server with "/" and "/chat", and one Go client connected
// to both over one WebSocket.
type bugRig struct {
	io        *socketio.Server
	ts        *httptest.Server
	m         *client.Manager
	c1, c2    *client.Socket
	s1, s2    *socketio.Socket
	got       atomic.Int64 // "bin" events received, either side
	mu        sync.Mutex
	reasons   []string // disconnections, either side
	engineErr []string
}

func startBugRig(t *testing.T) *bugRig {
	r := &bugRig{}
	opts := &socketio.ServerOptions{Logger: slog.New(&bugLog{r: r})}
	opts.Hooks.Engine.Close = func(_ *engineio.Session, reason string, cause error) {
		r.mu.Lock()
		r.engineErr = append(r.engineErr, reason)
		r.mu.Unlock()
	}
	r.io = socketio.NewServer(opts)
	conns := make(chan *socketio.Socket, 2)
	for _, nsp := range []string{"/", "/chat"} {
		r.io.Of(nsp).OnConnection(func(s *socketio.Socket) {
			s.On("bin", func(*socketio.Event) { r.got.Add(1) })
			conns <- s
		})
	}
	r.ts = httptest.NewServer(r.io)
	m, err := client.NewManager(r.ts.URL, &client.ManagerOptions{
		Transports: []string{"websocket"}, AutoConnect: client.Bool(false), Reconnection: client.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.m = m
	r.c1, r.c2 = m.Socket("/", nil), m.Socket("/chat", nil)
	for _, c := range []*client.Socket{r.c1, r.c2} {
		c.On("bin", func(*socketio.Event) { r.got.Add(1) })
		c.OnDisconnect(func(reason string, cause error) {
			r.mu.Lock()
			r.reasons = append(r.reasons, fmt.Sprintf("client %s: %s (%v)", c.Namespace(), reason, cause))
			r.mu.Unlock()
		})
		c.Connect()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []*client.Socket{r.c1, r.c2} {
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		select {
		case s := <-conns:
			if s.Namespace().Name() == "/" {
				r.s1 = s
			} else {
				r.s2 = s
			}
		case <-ctx.Done():
			t.Fatalf("server socket %d: %v", i, ctx.Err())
		}
	}
	t.Cleanup(func() {
		_ = m.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = r.io.Shutdown(sctx)
		r.ts.Close()
	})
	return r
}

// bugLog keeps the server's "invalid packet" logs.
type bugLog struct{ r *bugRig }

func (h *bugLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *bugLog) Handle(_ context.Context, rec slog.Record) error {
	if strings.Contains(rec.Message, "invalid packet") {
		msg := "server: " + rec.Message
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				msg += ": " + a.Value.String()
			}
			return true
		})
		h.r.mu.Lock()
		h.r.engineErr = append(h.r.engineErr, msg)
		h.r.mu.Unlock()
	}
	return nil
}
func (h *bugLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *bugLog) WithGroup(string) slog.Handler      { return h }

// hammer runs each emit function on its own goroutine, in rounds of n
// calls each, until a round loses an event or breaks the connection (the
// bug: the test fails), or for a budget of rounds. Whether the messages of
// two packets interleave depends on the scheduling: on an idle machine the
// first round usually does it, on a busy one it may take many.
func (r *bugRig) hammer(t *testing.T, emits ...func(i int)) {
	const n, rounds = 2000, 5
	var want int64
	for round := range rounds {
		var wg sync.WaitGroup
		for _, emit := range emits {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					emit(i)
				}
			}()
		}
		wg.Wait()
		want += int64(len(emits) * n)
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			r.mu.Lock()
			bad := len(r.reasons) > 0 || len(r.engineErr) > 0
			r.mu.Unlock()
			if bad || r.got.Load() >= want {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		r.mu.Lock()
		broken := len(r.reasons) > 0 || len(r.engineErr) > 0
		msg := fmt.Sprintf("round %d: got %d of %d binary events; disconnections %v, server session closes %v", round+1, r.got.Load(), want, r.reasons, r.engineErr)
		r.mu.Unlock()
		switch {
		case broken:
			t.Fatal("reproduced: " + msg)
		case r.got.Load() != want:
			t.Fatal("inconclusive (the machine is too slow?): " + msg)
		}
	}
	t.Logf("not reproduced in %d rounds", rounds)
}

// The server emits binary events on two namespaces of one connection at
// once (socket.go: Socket.write queues a packet's messages one by one).
func TestServerAttachmentsDoNotInterleave(t *testing.T) {
	r := startBugRig(t)
	b := []byte{1, 2, 3} // eight attachments: eight windows per packet
	r.hammer(t,
		func(i int) { _ = r.s1.Emit("bin", i, b, b, b, b, b, b, b, b) },
		func(i int) { _ = r.s2.Emit("bin", i, b, b, b, b, b, b, b, b) })
}

// The Go client emits binary events on two namespaces of one connection
// at once (client/manager.go: Manager.send queues a packet's messages one
// by one).
func TestClientAttachmentsDoNotInterleave(t *testing.T) {
	r := startBugRig(t)
	b := []byte{1, 2, 3} // eight attachments: eight windows per packet
	r.hammer(t,
		func(i int) { _ = r.c1.Emit("bin", i, b, b, b, b, b, b, b, b) },
		func(i int) { _ = r.c2.Emit("bin", i, b, b, b, b, b, b, b, b) })
}
