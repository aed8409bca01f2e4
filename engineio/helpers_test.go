package engineio_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/testutil"
)

// The configuration the official Engine.IO protocol test suite expects.
const (
	suitePingInterval = 300 * time.Millisecond
	suitePingTimeout  = 200 * time.Millisecond
	suiteMaxPayload   = 1000000
)

// suiteOptions returns the server options the protocol test suite assumes.
func suiteOptions() *engineio.ServerOptions {
	return &engineio.ServerOptions{
		PingInterval:      suitePingInterval,
		PingTimeout:       suitePingTimeout,
		MaxHTTPBufferSize: suiteMaxPayload,
		CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
	}
}

// testServer is an Engine.IO server that echoes every message back to its
// sender (text as text, binary as binary), served over httptest. Its
// Endpoint sends requests to the engine path, /engine.io/.
type testServer struct {
	*testutil.Endpoint
	t    *testing.T
	eio  *engineio.Server
	http *httptest.Server

	mu       sync.Mutex
	sessions map[string]*engineio.Session
}

// newEchoServer starts an echo server with opts (nil: suiteOptions) and
// stops it, with every session, when the test ends.
func newEchoServer(t *testing.T, opts *engineio.ServerOptions) *testServer {
	t.Helper()
	if opts == nil {
		opts = suiteOptions()
	}
	ts := &testServer{t: t, sessions: make(map[string]*engineio.Session)}
	echo := engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		ts.mu.Lock()
		ts.sessions[s.ID()] = s
		ts.mu.Unlock()
		return engineio.SessionFuncs{
			Message: func(data []byte, binary bool) { _ = s.Send(data, binary) },
		}
	})
	ts.eio = engineio.NewServer(echo, opts)
	ts.http = httptest.NewServer(ts.eio)
	ts.Endpoint = engineEndpoint(t, ts.http)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		defer cancel()
		if err := ts.eio.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.http.Close() // waits for pending requests, closes the client's idle connections
	})
	return ts
}

// engineEndpoint is the engine path of srv, reached with srv's client.
func engineEndpoint(t *testing.T, srv *httptest.Server) *testutil.Endpoint {
	return testutil.NewEndpoint(t, srv.Client(), srv.URL+"/engine.io/")
}

// session returns the server side of the session sid.
func (ts *testServer) session(sid string) *engineio.Session {
	ts.t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	s := ts.sessions[sid]
	if s == nil {
		ts.t.Fatalf("no server session %q", sid)
	}
	return s
}

// waitTransport waits until session sid runs on transport name.
func (ts *testServer) waitTransport(sid, name string) {
	ts.t.Helper()
	s := ts.session(sid)
	deadline := time.Now().Add(testutil.WaitTimeout)
	for s.Transport() != name {
		if time.Now().After(deadline) {
			ts.t.Fatalf("session %s: transport %q, want %q after %v", sid, s.Transport(), name, testutil.WaitTimeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// sidQuery is the query of a polling request of session sid.
func sidQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }
