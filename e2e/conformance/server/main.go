// Command server is the conformance server: the official protocol test
// suites run against it. It serves bare Engine.IO at /engine.io/ configured
// as the engine.io-protocol test suite expects (ping 300/200 ms, maxPayload
// 1e6, CORS "*", every message echoed back).
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
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eio.Shutdown(sctx)
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
