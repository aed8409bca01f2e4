package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
	"github.com/go-sio/socketio/engineio"
)

// stormServer is our Socket.IO server on a fixed loopback address, so that
// it can be stopped and started again where the clients expect it.
type stormServer struct {
	addr string
	srv  *socketio.Server
	http *http.Server
	done chan struct{}
}

func startStormServer(t *testing.T, addr string) *stormServer {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	io := socketio.NewServer(&socketio.ServerOptions{ServerOptions: engineio.ServerOptions{
		PingInterval: 5 * time.Second, PingTimeout: 5 * time.Second,
	}})
	s := &stormServer{addr: ln.Addr().String(), srv: io, done: make(chan struct{})}
	s.http = &http.Server{Handler: io, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	return s
}

func (s *stormServer) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.http.Shutdown(ctx)
	<-s.done
}

// TestReconnectionStorm connects many clients, restarts the server, and
// checks that every client comes back within its back-off bounds and that
// closing them leaves no goroutine (TestMain runs goleak).
func TestReconnectionStorm(t *testing.T) {
	const (
		clients  = 1000
		delay    = 200 * time.Millisecond
		delayMax = 2 * time.Second
	)
	baseline := runtime.NumGoroutine()
	srv := startStormServer(t, "127.0.0.1:0")
	url := "http://" + srv.addr

	var connects, attemptsTotal atomic.Int64
	var maxAttempt atomic.Int64
	sockets := make([]*client.Socket, clients)
	for i := range sockets {
		s, err := client.Connect(url, &client.Options{
			ForceNew: true,
			ManagerOptions: client.ManagerOptions{
				Transports:           []string{"websocket"},
				ReconnectionDelay:    delay,
				ReconnectionDelayMax: delayMax,
				RandomizationFactor:  0.5,
				AutoConnect:          client.Bool(false), // the handlers first
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		s.OnConnect(func() { connects.Add(1) })
		s.Manager().OnReconnectAttempt(func(n int) {
			attemptsTotal.Add(1)
			for {
				cur := maxAttempt.Load()
				if int64(n) <= cur || maxAttempt.CompareAndSwap(cur, int64(n)) {
					break
				}
			}
		})
		sockets[i] = s
		s.Connect()
	}
	waitFor(t, "all clients connected", 60*time.Second, func() bool { return connects.Load() == clients })
	t.Logf("%d clients connected; goroutines: %d (baseline %d)", clients, runtime.NumGoroutine(), baseline)

	// Restart: every client loses its connection at once.
	srv.stop(t)
	stopped := time.Now()
	time.Sleep(300 * time.Millisecond) // a first wave of attempts fails
	srv = startStormServer(t, srv.addr)
	restarted := time.Now()
	waitFor(t, "all clients reconnected", 60*time.Second, func() bool { return connects.Load() == 2*clients })
	back := time.Since(restarted)

	// Bound: the longest a client may wait for its next attempt once the
	// server is back is one maximal delay (plus the attempt itself, and
	// scheduling slack under -race for 1000 clients on 2 cores).
	bound := delayMax + delayMax/2 + 5*time.Second
	t.Logf("server down %v; all %d back %v after restart (bound %v); %d reconnection attempts, at most %d by one client",
		restarted.Sub(stopped).Round(time.Millisecond), clients, back.Round(time.Millisecond), bound, attemptsTotal.Load(), maxAttempt.Load())
	if back > bound {
		t.Errorf("clients came back after %v, above the back-off bound %v", back, bound)
	}

	var wg sync.WaitGroup
	for _, s := range sockets {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Manager().Close() }()
	}
	wg.Wait()
	srv.stop(t)
	waitFor(t, "goroutines back to baseline", 20*time.Second, func() bool { return runtime.NumGoroutine() <= baseline+2 })
	t.Logf("after Close: %d goroutines (baseline %d)", runtime.NumGoroutine(), baseline)
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
