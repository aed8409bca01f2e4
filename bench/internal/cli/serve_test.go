package cli_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-sio/socketio/bench/internal/cli"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServe checks that Serve serves until ctx is done, then calls stop
// and shuts the server down.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), ReadHeaderTimeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := false
	done := make(chan error, 1)
	go func() { done <- cli.Serve(ctx, srv, ln, func(context.Context) { stopped = true }) }()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil || !stopped {
		t.Fatalf("Serve: %v, stop called: %v", err, stopped)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("still listening after Serve returned")
	}
}
