package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestContract checks the events of the benchmark contract on both
// transports, with the in-memory adapter: echo and join acknowledge,
// bcast reaches the room only, bcastall everyone, and the arguments come
// back byte for byte.
func TestContract(t *testing.T) {
	sio := newServer(nil, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mux.Handle(sio.Path(), sio)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sio.Shutdown(ctx)
	}()

	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			dial := func() (*client.Socket, chan string) {
				s, err := client.Connect(ts.URL, &client.Options{
					ForceNew:       true,
					ManagerOptions: client.ManagerOptions{Transports: []string{transport}, Reconnection: client.Bool(false)},
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Manager().Close() })
				got := make(chan string, 10)
				s.On("msg", func(e *socketio.Event) {
					if len(e.Args) == 1 {
						got <- e.Args[0].String()
					} else {
						got <- "bad"
					}
				})
				if err := s.WaitConnected(ctx); err != nil {
					t.Fatal(err)
				}
				return s, got
			}
			in, inGot := dial()
			out, outGot := dial()

			res, err := in.EmitWithAck(ctx, "echo", 1, "two", map[string]any{"three": []int{3}})
			if err != nil || len(res) != 3 || res[0].String() != "1" || res[1].String() != `"two"` || res[2].String() != `{"three":[3]}` {
				t.Fatalf("echo: %v %v", res, err)
			}
			if res, err := in.EmitWithAck(ctx, "join", "room1"); err != nil || len(res) != 0 {
				t.Fatalf("join: %v %v", res, err)
			}
			if err := out.Emit("bcast", "room1", map[string]any{"s": 1, "pad": "x"}); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, inGot); got != `{"pad":"x","s":1}` {
				t.Fatalf("bcast: got %s", got)
			}
			if err := out.Emit("bcastall", []int{1, 2}); err != nil {
				t.Fatal(err)
			}
			for _, ch := range []chan string{inGot, outGot} {
				if got := recv(t, ch); got != "[1,2]" {
					t.Fatalf("bcastall: got %s", got)
				}
			}
			select {
			case got := <-outGot:
				t.Fatalf("a socket outside the room got %s", got)
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func recv(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no msg")
		return ""
	}
}
