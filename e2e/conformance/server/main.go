// Command server is the conformance server: the official protocol test
// suites run against it. It serves bare Engine.IO at /engine.io/ configured
// as the engine.io-protocol test suite expects (ping 300/200 ms, maxPayload
// 1e6, CORS "*", every message echoed back), and Socket.IO at /socket.io/
// as the socket.io-protocol test suite expects (the same, plus
// connectTimeout 1s; "auth" echoed on connection to "/" and "/custom";
// "message" answered with "message-back"; "message-with-ack" acknowledged
// with its own arguments).
//
//	go run ./e2e/conformance/server -addr 127.0.0.1:3000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	verbose := flag.Bool("v", false, "debug logs on stderr")
	flag.Parse()

	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	eio := engineio.NewServer(engineio.HandlerFunc(echo), &engineio.ServerOptions{
		Path:              "/engine.io/",
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1e6,
		CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
		Logger:            logger,
	})
	sio := socketio.NewServer(&socketio.ServerOptions{
		ServerOptions: engineio.ServerOptions{
			PingInterval:      300 * time.Millisecond,
			PingTimeout:       200 * time.Millisecond,
			MaxHTTPBufferSize: 1e6,
			CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
		},
		ConnectTimeout: time.Second,
		Logger:         logger,
	})
	sio.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message", func(e *socketio.Event) {
			_ = s.Emit("message-back", e.Args.Values()...)
		})
		s.On("message-with-ack", func(e *socketio.Event) {
			_ = e.Ack().Send(e.Args.Values()...)
		})
	})
	sio.Of("/custom").OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
	})

	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	mux.Handle("/socket.io/", sio)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eio.Shutdown(sctx)
		_ = sio.Shutdown(sctx)
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(os.Stderr, "conformance server listening on http://%s\n", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "conformance server:", err)
		os.Exit(1)
	}
}

// echo sends every message back as it came: text as text, binary as binary.
func echo(s *engineio.Session) engineio.SessionHandler {
	return engineio.SessionFuncs{Message: func(data []byte, binary bool) {
		_ = s.Send(data, binary)
	}}
}
