package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	socketio "github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/faultproxy"
)

// Heartbeat of the server: a stall longer than about PingInterval +
// PingTimeout ends in a "ping timeout" on both sides.
const (
	pingInterval = 250 * time.Millisecond
	pingTimeout  = 250 * time.Millisecond
)

// row is a stored chat message.
type row struct {
	ID           int64
	ClientOffset string
	Msg          string
	Sender       string // name of the client (the auth of its socket)
	At           time.Duration
}

// chatStore is the server's message table: the tutorial's SQLite table
// `messages (id INTEGER PRIMARY KEY AUTOINCREMENT, client_offset TEXT
// UNIQUE, content TEXT)`, in memory.
type chatStore struct {
	mu       sync.Mutex
	byOffset map[string]int64
	rows     []row
	dupes    int // inserts refused by the UNIQUE constraint (retries)
	start    time.Time
}

// insert stores msg once per clientOffset; fresh is false for a retry.
func (st *chatStore) insert(clientOffset, msg, sender string) (id int64, fresh bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if id, ok := st.byOffset[clientOffset]; ok {
		st.dupes++
		return id, false
	}
	id = int64(len(st.rows) + 1)
	st.byOffset[clientOffset] = id
	st.rows = append(st.rows, row{ID: id, ClientOffset: clientOffset, Msg: msg, Sender: sender, At: time.Since(st.start)})
	return id, true
}

func (st *chatStore) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.rows)
}

func (st *chatStore) snapshot() ([]row, int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.rows), st.dupes
}

// timeline is what the server, the proxy and the clients saw, with times
// from the start of the run, for the diagnosis of a loss.
type timeline struct {
	start time.Time
	mu    sync.Mutex
	recs  []rec
}

type rec struct {
	At   time.Duration
	Who  string // client name; "proxy" for faults
	What string
}

func (tl *timeline) add(who, format string, args ...any) {
	tl.addAt(time.Since(tl.start), who, format, args...)
}

// addAt records something that happened at at (since the start).
func (tl *timeline) addAt(at time.Duration, who, format string, args ...any) {
	r := rec{At: at, Who: who, What: fmt.Sprintf(format, args...)}
	tl.mu.Lock()
	tl.recs = append(tl.recs, r)
	tl.mu.Unlock()
}

// around returns the records of who (and of the proxy) within d of at.
func (tl *timeline) around(who string, at, d time.Duration) []rec {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var out []rec
	for _, r := range tl.recs {
		if (r.Who == who || r.Who == "proxy") && r.At >= at-d && r.At <= at+d {
			out = append(out, r)
		}
	}
	return out
}

func (tl *timeline) all() []rec {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.recs)
}

func (r rec) String() string {
	return fmt.Sprintf("%9s %-8s %s", r.At.Round(time.Millisecond), r.Who, r.What)
}

// chatServer is our server with the chat handler of the tutorial, steps 7
// and 8, behind a fault proxy.
type chatServer struct {
	io    *socketio.Server
	ts    *httptest.Server
	proxy *faultproxy.Proxy
	store *chatStore
	tl    *timeline

	mu         sync.Mutex
	broadcasts int
	sockets    map[string]int    // connections per client name
	recovered  map[string]int    // of which recovered
	names      map[string]string // socket and engine ids -> client name
}

// startChatServer starts the server (with connection state recovery when
// recovery) and a fault proxy in front of it.
func startChatServer(t tb, recovery bool, maxPackets int, tl *timeline) *chatServer {
	t.Helper()
	cs := &chatServer{
		store:     &chatStore{byOffset: make(map[string]int64), start: tl.start},
		tl:        tl,
		sockets:   make(map[string]int),
		recovered: make(map[string]int),
		names:     make(map[string]string),
	}
	opts := &socketio.ServerOptions{ServerOptions: engineio.ServerOptions{
		PingInterval: pingInterval,
		PingTimeout:  pingTimeout,
	}}
	if recovery {
		opts.ConnectionStateRecovery = &socketio.RecoveryOptions{
			RecoverWithoutOffset: true,
			MaxPackets:           maxPackets,
		}
	}
	opts.Logger = slog.New(&logHandler{cs: cs})
	opts.Hooks.Disconnect = func(s *socketio.Socket, reason string) {
		tl.add(clientName(s), "server: socket %s disconnected: %s", s.ID(), reason)
	}
	cs.io = socketio.NewServer(opts)
	cs.io.OnConnection(cs.onConnection)
	cs.ts = httptest.NewServer(cs.io)
	p, err := faultproxy.New(strings.TrimPrefix(cs.ts.URL, "http://"), &faultproxy.Options{
		StallMin: 50 * time.Millisecond,
		StallMax: 1500 * time.Millisecond,
		CutWait:  500 * time.Millisecond,
		OnFault: func(c *faultproxy.Conn, f faultproxy.Fault) {
			tl.add("proxy", "%s conn %d (%d B up, %d B down)", f, c.ID(), c.BytesUp(), c.BytesDown())
		},
	})
	if err != nil {
		cs.ts.Close()
		t.Fatal(err)
	}
	cs.proxy = p
	return cs
}

// URL is where the clients connect: the proxy.
func (cs *chatServer) URL() string { return "http://" + cs.proxy.Addr() }

func clientName(s *socketio.Socket) string {
	name, _ := s.Handshake().Auth["name"].(string)
	return name
}

// onConnection is the tutorial's server: each message is stored once,
// keyed by the client's offset (step 8: a retried message is acknowledged
// and not stored nor broadcast again), broadcast to everyone with its id
// (step 7), and acknowledged.
func (cs *chatServer) onConnection(s *socketio.Socket) {
	name := clientName(s)
	cs.mu.Lock()
	cs.sockets[name]++
	cs.names[s.ID()], cs.names[s.Conn().ID()] = name, name
	if s.Recovered() {
		cs.recovered[name]++
	}
	cs.mu.Unlock()
	cs.tl.add(name, "server: socket %s connected on %s (engine %s), recovered %v", s.ID(), s.Conn().Transport(), s.Conn().ID(), s.Recovered())
	s.On("chat message", func(e *socketio.Event) {
		var msg, clientOffset string
		if err := e.Bind(&msg, &clientOffset); err != nil {
			return // no ack: the client retries
		}
		id, fresh := cs.store.insert(clientOffset, msg, name)
		if fresh {
			cs.mu.Lock()
			cs.broadcasts++
			cs.mu.Unlock()
			_ = cs.io.Emit("chat message", msg, id)
		}
		_ = e.Ack().Send()
	})
}

// nameOf returns the client of a socket or engine id seen before.
func (cs *chatServer) nameOf(id string) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.names[id]
}

// logHandler puts the server's logs on the timeline, under the name of
// the client they concern when it is known; it leaves out those the hooks
// record already.
type logHandler struct {
	cs    *chatServer
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.HasSuffix(r.Message, "socket connected") || strings.HasSuffix(r.Message, "socket disconnected") ||
		strings.HasSuffix(r.Message, "session opened") || strings.HasSuffix(r.Message, "namespace created") {
		return nil
	}
	who := "server"
	var b strings.Builder
	b.WriteString("server log: " + r.Message)
	add := func(a slog.Attr) bool {
		if a.Key == "sid" {
			if name := h.cs.nameOf(a.Value.String()); name != "" {
				who = name
			}
		}
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.cs.tl.addAt(r.Time.Sub(h.cs.tl.start), who, "%s", b.String())
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{cs: h.cs, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

func (cs *chatServer) counts() (broadcasts int, sockets, recovered map[string]int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.broadcasts, copyCounts(cs.sockets), copyCounts(cs.recovered)
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// close stops the proxy, then the server.
func (cs *chatServer) close(t tb) {
	t.Helper()
	_ = cs.proxy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cs.io.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	cs.ts.Close()
}
