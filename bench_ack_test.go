package socketio_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
)

// ackPair is one Go client (package client, WebSocket only) connected over
// loopback to a server: the server acknowledges "echo" with its arguments,
// the client acknowledges "ping" with its arguments.
type ackPair struct {
	srv    *socketio.Server
	http   *httptest.Server
	client *client.Socket
	socket *socketio.Socket // the client's socket on the server
}

func startAckPair(b *testing.B) *ackPair {
	b.Helper()
	p := &ackPair{srv: socketio.NewServer(nil)}
	connected := make(chan *socketio.Socket, 1)
	p.srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(e *socketio.Event) { _ = e.Ack().Send(e.Args.Values()...) })
		connected <- s
	})
	p.http = httptest.NewServer(p.srv)
	b.Cleanup(p.stop)

	c, err := client.Connect(p.http.URL, &client.Options{
		ManagerOptions: client.ManagerOptions{Transports: []string{"websocket"}, Reconnection: client.Bool(false)},
		ForceNew:       true,
	})
	if err != nil {
		b.Fatal(err)
	}
	p.client = c
	c.On("ping", func(e *socketio.Event) { _ = e.Ack().Send(e.Args.Values()...) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	select {
	case p.socket = <-connected:
	case <-ctx.Done():
		b.Fatal("no connection on the server")
	}
	return p
}

func (p *ackPair) stop() {
	if p.client != nil {
		p.client.Manager().Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, socketio.ErrServerClosed) {
		panic(err)
	}
	p.http.Close()
}

// BenchmarkAckClientToServer is the round trip of an event with an
// acknowledgement from a Go client to the server, in process over
// loopback WebSocket: the client's EmitWithAck("echo", payload) returns
// when the server's ack (the same arguments) has come back.
//
//   - serial: one call at a time (latency per op);
//   - concurrent: 64 goroutines calling on the same client (throughput:
//     ns/op is the time per ack, all calls overlapping).
func BenchmarkAckClientToServer(b *testing.B) {
	p := startAckPair(b)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.client.EmitWithAck(ctx, "echo", benchPayload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("concurrent", func(b *testing.B) {
		b.SetParallelism(32) // × GOMAXPROCS goroutines
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.client.EmitWithAck(ctx, "echo", benchPayload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkAckServerToClient is the round trip of the server's
// Socket.EmitWithAck("ping", payload) to a Go client that acknowledges
// with the same arguments, one call at a time.
func BenchmarkAckServerToClient(b *testing.B) {
	p := startAckPair(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.socket.EmitWithAck(ctx, "ping", benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}
