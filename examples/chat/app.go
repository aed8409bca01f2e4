package main

import (
	"context"
	_ "embed"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/adapter"
)

// index.html is the tutorial's page (step 2), with the client of steps 3
// to 8.
//
//go:embed index.html
var indexHTML []byte

// app is the chat: the page at "/", Socket.IO (and the client bundle) under
// /socket.io/, the messages in a store.
type app struct {
	io    *socketio.Server
	store *store
	log   *slog.Logger

	// mu orders each insert with its broadcast, and the history a
	// connecting socket is sent with both: every page gets the messages in
	// id order, and a message stored while a socket reads the history
	// reaches it once, never twice nor not at all.
	mu sync.Mutex
}

func newApp(st *store, clientFiles fs.FS, adp adapter.Factory, log *slog.Logger) *app {
	a := &app{store: st, log: log}
	a.io = socketio.NewServer(&socketio.ServerOptions{
		// Step 3: serve the official client bundle, as Node's serveClient:
		// /socket.io/socket.io.min.js and the others.
		ClientFiles: clientFiles,
		// Step 6: connection state recovery. A client that drops
		// unexpectedly and comes back within two minutes keeps its id and
		// gets the events it missed, without asking the database.
		ConnectionStateRecovery: &socketio.RecoveryOptions{
			MaxDisconnectionDuration: 2 * time.Minute,
			// Also recover a page that had received no event yet (an empty
			// chat): Node does not (socket.io#5538). See README.md.
			RecoverWithoutOffset: true,
		},
		// Step 9: with several processes, a Redis adapter shares every
		// broadcast (io.Emit below) with the other processes' clients. Nil:
		// the in-memory adapter, one process.
		Adapter: adp,
	})
	a.io.OnConnection(a.onConnection)
	return a
}

// handler serves the page (step 2) and Socket.IO.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(a.io.Path(), a.io)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Length", strconv.Itoa(len(indexHTML)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(indexHTML)
		}
	})
	return mux
}

// Shutdown disconnects every client and stops Socket.IO.
func (a *app) Shutdown(ctx context.Context) error { return a.io.Shutdown(ctx) }

func (a *app) onConnection(s *socketio.Socket) {
	// Steps 4, 5 and 8: a message from a page is stored, then broadcast to
	// everyone with its id, then acknowledged.
	s.On("chat message", a.onChatMessage)

	// Step 7: a socket that was not recovered (first visit, reload, manual
	// reconnect, server restart, drop longer than recovery allows) gets
	// what it has not seen, from the server offset its page sends.
	if !s.Recovered() {
		a.sendHistory(s)
	}
}

// onChatMessage handles ("chat message", msg, clientOffset, ack).
func (a *app) onChatMessage(e *socketio.Event) {
	var msg string
	if err := e.Bind(&msg); err != nil {
		// Not a message: acknowledge, so that a retrying client moves on.
		_ = e.Ack().Send(map[string]string{"error": "a chat message is a string"})
		return
	}
	var clientOffset *string // step 8; absent for a client of the earlier steps
	if len(e.Args) > 1 {
		if err := e.Args[1].Decode(&clientOffset); err != nil {
			_ = e.Ack().Send(map[string]string{"error": "clientOffset is a string"})
			return
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.mu.Lock()
	id, stored, err := a.store.insert(ctx, msg, clientOffset)
	if err == nil && stored {
		// The id travels with the message: the page keeps the last one as
		// its server offset (step 7).
		if err := a.io.Emit("chat message", msg, id); err != nil {
			a.log.Error("broadcast", "id", id, "err", err) // stored: pages get it from the history
		}
	}
	a.mu.Unlock()
	if err != nil {
		// Not stored: no acknowledgement, so the client retries (step 8).
		a.log.Error("store", "err", err)
		return
	}
	// Stored now, or before (a retry whose first acknowledgement was lost:
	// the UNIQUE client_offset refused it). Acknowledge both; the message
	// is stored and broadcast once.
	_ = e.Ack().Send()
}

// sendHistory sends s the messages after its auth.serverOffset.
func (a *app) sendHistory(s *socketio.Socket) {
	offset := serverOffset(s.Handshake().Auth)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	msgs, err := a.store.since(ctx, offset)
	if err != nil {
		a.log.Error("history", "sid", s.ID(), "err", err)
		return
	}
	for _, m := range msgs {
		if err := s.Emit("chat message", m.Content, m.ID); err != nil {
			return // disconnected meanwhile: it asks again when it comes back
		}
	}
}

// serverOffset reads auth.serverOffset: a number (the tutorial's page), or
// a string of digits; anything else is 0, the whole history.
func serverOffset(auth map[string]any) int64 {
	switch v := auth["serverOffset"].(type) {
	case float64:
		if v > 0 && v < math.MaxInt64 && !math.IsNaN(v) {
			return int64(v)
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 0
}
