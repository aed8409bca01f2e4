package engineio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
)

// FuzzPollingPost sends arbitrary POST bodies to a live polling session,
// straight through ServeHTTP: the server must answer 200, 400 or 413, never
// panic, and a malformed body must end only that session.
func FuzzPollingPost(f *testing.F) {
	for _, seed := range []string{"4hello", "4a\x1e4b", "bAQIDBA==", "1", "3", "2", "5", "6", "abc", "", "\x1e", "b!!", "4\x1e", "0{}"} {
		f.Add(seed)
	}
	opts := suiteOptions()
	opts.MaxHTTPBufferSize = 4096
	// The heartbeat is not what is fuzzed: with the suite's 300+200 ms, an
	// iteration slowed past half a second on a loaded machine let the
	// bystander time out (a 30-minute run beside 13 other fuzzers did).
	opts.PingInterval, opts.PingTimeout = time.Minute, time.Minute
	eio := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{Message: func(data []byte, binary bool) { _ = s.Send(data, binary) }}
	}), opts)
	f.Cleanup(func() { _ = eio.Shutdown(context.Background()) })

	f.Fuzz(func(t *testing.T, body string) {
		hs := httptest.NewRecorder()
		eio.ServeHTTP(hs, httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil))
		sid := sidOf(t, hs.Body.String())
		bystander := httptest.NewRecorder()
		eio.ServeHTTP(bystander, httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil))
		other := sidOf(t, bystander.Body.String())

		w := httptest.NewRecorder()
		eio.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/engine.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader(body)))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("POST %q: status %d", body, w.Code)
		}
		if eio.Session(other) == nil {
			t.Fatalf("POST %q to one session closed another", body)
		}
		for _, id := range []string{sid, other} {
			if s := eio.Session(id); s != nil {
				_ = s.Close()
			}
		}
	})
}
