package socketio_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/go-sio/socketio"
)

// benchRoom is the room every receiver of the broadcast benchmarks joins.
const benchRoom = "bench"

// benchReceivers is how many sockets the broadcast benchmarks reach.
const benchReceivers = 1000

// benchWindow bounds the broadcasts emitted and not yet delivered to
// every receiver, so that the per-connection queues stay far below
// MaxBufferedBytes however fast Emit returns.
const benchWindow = 32

// benchPayload is the argument of each broadcast: 64 bytes of text.
var benchPayload = strings.Repeat("x", 64)

// receivers are n raw WebSocket clients (gws, one read goroutine each)
// connected to "/" of a server, every one of them in benchRoom. They
// count the events they receive and answer Engine.IO pings.
type receivers struct {
	srv  *socketio.Server
	http *httptest.Server

	got    atomic.Int64 // events received, all clients together
	want   atomic.Int64 // the count a waiter waits for
	wake   chan struct{}
	conns  []*gws.Conn
	ended  sync.WaitGroup // the read loops
	joined atomic.Int64
}

// OnOpen implements gws.Event.
func (r *receivers) OnOpen(*gws.Conn) {}

// OnClose implements gws.Event.
func (r *receivers) OnClose(*gws.Conn, error) {}

// OnPing implements gws.Event.
func (r *receivers) OnPing(c *gws.Conn, data []byte) { _ = c.WritePong(data) }

// OnPong implements gws.Event.
func (r *receivers) OnPong(*gws.Conn, []byte) {}

// OnMessage implements gws.Event: an event ("42...") is counted, an
// Engine.IO ping answered; the rest (open packet, CONNECT answer) ignored.
func (r *receivers) OnMessage(c *gws.Conn, m *gws.Message) {
	b := m.Bytes()
	switch {
	case len(b) >= 2 && b[0] == '4' && b[1] == '2':
		if r.got.Add(1) >= r.want.Load() {
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
	case len(b) == 1 && b[0] == '2':
		_ = c.WriteString("3")
	}
	_ = m.Close()
}

// startReceivers serves a server whose sockets join benchRoom on
// connection, and connects n raw WebSocket clients to it, 50 at a time.
// Everything is stopped at the end of the benchmark.
func startReceivers(b *testing.B, n int) *receivers {
	b.Helper()
	r := &receivers{srv: socketio.NewServer(nil), wake: make(chan struct{}, 1)}
	r.srv.OnConnection(func(s *socketio.Socket) {
		s.Join(benchRoom)
		r.joined.Add(1)
	})
	r.http = httptest.NewServer(r.srv)
	b.Cleanup(r.stop)

	url := "ws" + strings.TrimPrefix(r.http.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 50)
	var dialing sync.WaitGroup
	for range n {
		sem <- struct{}{}
		dialing.Go(func() {
			defer func() { <-sem }()
			c, _, err := gws.NewClient(r, &gws.ClientOption{Addr: url, HandshakeTimeout: 10 * time.Second})
			if err == nil {
				err = c.WriteString("40") // CONNECT to "/"
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				if c != nil {
					_ = c.NetConn().Close()
				}
				return
			}
			r.conns = append(r.conns, c)
			r.ended.Go(c.ReadLoop)
		})
	}
	dialing.Wait()
	if firstErr != nil {
		b.Fatalf("connecting %d receivers: %v", n, firstErr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for r.joined.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d receivers joined %q after 30s", r.joined.Load(), n, benchRoom)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r
}

// waitFor waits until count events have been received, at most 30s.
func (r *receivers) waitFor(b *testing.B, count int64) {
	r.want.Store(count)
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for r.got.Load() < count {
		select {
		case <-r.wake:
		case <-timer.C:
			b.Fatalf("received %d events, want %d, after 30s", r.got.Load(), count)
		}
	}
}

// stop closes the clients, awaits their read loops and shuts the server
// down.
func (r *receivers) stop() {
	for _, c := range r.conns {
		_ = c.WriteClose(1000, nil)
	}
	done := make(chan struct{})
	go func() { r.ended.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		for _, c := range r.conns {
			_ = c.NetConn().Close()
		}
		<-done
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil && !errors.Is(err, socketio.ErrServerClosed) {
		panic(err)
	}
	r.http.Close()
}

// BenchmarkBroadcast1000 broadcasts a 64-byte string to a room of 1,000
// sockets connected over loopback WebSocket, io.To(room).Emit per op.
//
//   - delivered: each op counts until its events reached the clients, at
//     most benchWindow broadcasts in flight: the server's cost (one
//     encoding, 1,000 queue appends, the writes) plus the clients' reads,
//     which run in the same process on the same CPUs.
//   - emit: the Emit call (encode once, queue for every socket and wake
//     their writers), benchWindow broadcasts in a row, then the deliveries
//     are awaited with the timer stopped. The writers and the clients run
//     meanwhile on the other CPUs: their allocations count in allocs/op.
//
// Both report deliveries/op (1,000) and deliveries/s. The clients are
// plain gws connections (no Socket.IO client), so that the reading side
// costs as little as it can in the same process.
func BenchmarkBroadcast1000(b *testing.B) {
	r := startReceivers(b, benchReceivers)
	op := r.srv.To(benchRoom)
	sent := int64(0)
	run := func(b *testing.B, timed bool) {
		start := r.got.Load()
		n := int64(0)
		b.ReportAllocs()
		for b.Loop() {
			if err := op.Emit("msg", benchPayload); err != nil {
				b.Fatal(err)
			}
			n++
			sent++
			if timed {
				if n > benchWindow {
					r.waitFor(b, start+(n-benchWindow)*benchReceivers)
				}
			} else if n%benchWindow == 0 {
				b.StopTimer()
				r.waitFor(b, start+n*benchReceivers)
				b.StartTimer()
			}
		}
		r.waitFor(b, start+n*benchReceivers)
		b.ReportMetric(benchReceivers, "deliveries/op")
		b.ReportMetric(float64(n*benchReceivers)/b.Elapsed().Seconds(), "deliveries/s")
	}
	b.Run("delivered", func(b *testing.B) { run(b, true) })
	b.Run("emit", func(b *testing.B) { run(b, false) })
	if got := r.got.Load(); got != sent*benchReceivers {
		b.Fatalf("received %d events, sent %d broadcasts to %d sockets", got, sent, benchReceivers)
	}
}
