package main

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	socketio "github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio"
)

// The application the soak drives. Namespaces:
//
//   - "/" and "/chat": echo (acknowledged with the arguments decoded and
//     re-encoded, plus the CRC-32 of the binary one), rooms r0..r7 (join,
//     leave, say: a numbered broadcast to the room), ask (the server asks
//     the client a question and checks the client's acknowledgement), slow
//     (a slow handler, for the misbehaving clients that flood it);
//   - "/dyn-<n>": dynamic namespaces (OfRegexp), removed when empty; echo;
//   - "/auth": a middleware that refuses any token but "letmein"; echo.
//
// A volatile "tick" is broadcast to "/" every second while traffic runs.
//
// Room broadcasts are numbered per room, and joins and leaves are told to
// the socket in the same order as the broadcasts ("joined" with the last
// number before the socket joined, "left" with the last one it was sent),
// so that a client can check it got every message of a room, once, in
// order, while it was a member.

var (
	roomNames = []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"}
	dynRe     = regexp.MustCompile(`^/dyn-[0-9]+$`)
)

const authToken = "letmein"

// roomSeq numbers the broadcasts of one room. Its lock orders joins,
// leaves and broadcasts of the room.
type roomSeq struct {
	mu  sync.Mutex
	seq int64
}

// app is the server under test and its HTTP listener.
type app struct {
	cfg *config
	st  *stats

	io  *socketio.Server
	hs  *http.Server
	ln  net.Listener
	dyn *socketio.ParentNamespace
	url string

	rooms sync.Map // nsp + " " + room -> *roomSeq

	engineCloses tally // Engine.IO close reasons (with the cause of "transport error")
	disconnects  tally // socket disconnect reasons
	serverLogs   tally // the server's logs, warnings and errors
	httpLogs     tally // net/http's own logs (bad requests...)

	open sync.Map // session id -> *openSession

	rogueMu   sync.Mutex
	rogueSids map[string]chan string // session id of a misbehaving client -> its close reason

	served   chan struct{}
	tickStop chan struct{}
	tickDone chan struct{}
}

// startApp starts the server on 127.0.0.1, under the "server" label.
func startApp(cfg *config, st *stats) (*app, error) {
	a := &app{cfg: cfg, st: st, rogueSids: make(map[string]chan string), served: make(chan struct{})}
	opts := &socketio.ServerOptions{
		ServerOptions: engineio.ServerOptions{
			PingInterval: cfg.PingInterval,
			PingTimeout:  cfg.PingTimeout,
		},
		ConnectionStateRecovery: &socketio.RecoveryOptions{
			MaxDisconnectionDuration: cfg.RecoveryDuration,
			RecoverWithoutOffset:     true,
		},
		CleanupEmptyChildNamespaces: true,
		Logger:                      slog.New(&logCounter{a: a}),
	}
	opts.Hooks.Engine.Connection = func(s *engineio.Session) {
		a.open.Store(s.ID(), &openSession{s: s, at: time.Now()})
	}
	opts.Hooks.Engine.Close = a.onEngineClose
	opts.Hooks.Disconnect = func(_ *socketio.Socket, reason string) { a.disconnects.add(reason) }
	opts.Hooks.BindError = func(s *socketio.Socket, event string, err error) {
		st.anomaly("server: bind error", "%s %q: %v", s.Namespace().Name(), event, err)
	}
	a.io = socketio.NewServer(opts)
	a.setupNamespaces()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a.ln = ln
	a.url = "http://" + ln.Addr().String()
	// As SECURITY.md advises; no WriteTimeout (long polling).
	a.hs = &http.Server{
		Handler:           a.io,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 16,
		ErrorLog:          log.New(tallyWriter{&a.httpLogs}, "", 0),
	}
	goLabeled(sideServer, func() {
		defer close(a.served)
		if err := a.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			st.anomaly("server: serve", "%v", err)
		}
	})
	return a, nil
}

func (a *app) setupNamespaces() {
	for _, name := range []string{"/", "/chat"} {
		n := a.io.Of(name)
		n.OnConnection(func(s *socketio.Socket) { a.onConnection(n, s) })
	}
	a.dyn = a.io.OfRegexp(dynRe)
	a.dyn.OnConnection(func(s *socketio.Socket) { s.On("echo", a.echo) })
	auth := a.io.Of("/auth")
	auth.Use(func(s *socketio.Socket) error {
		if tok, _ := s.Handshake().Auth["token"].(string); tok != authToken {
			return errors.New("unauthorized")
		}
		return nil
	})
	auth.OnConnection(func(s *socketio.Socket) { s.On("echo", a.echo) })
}

// startTicks broadcasts a volatile tick to "/" every second.
func (a *app) startTicks() {
	a.tickStop, a.tickDone = make(chan struct{}), make(chan struct{})
	goLabeled(sideServer, func() {
		defer close(a.tickDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-a.tickStop:
				return
			case <-t.C:
				_ = a.io.Volatile().Emit("tick", n)
			}
		}
	})
}

func (a *app) stopTicks() {
	if a.tickStop != nil {
		close(a.tickStop)
		<-a.tickDone
		a.tickStop = nil
	}
}

func (a *app) room(nsp, room string) *roomSeq {
	key := nsp + " " + room
	if v, ok := a.rooms.Load(key); ok {
		return v.(*roomSeq)
	}
	v, _ := a.rooms.LoadOrStore(key, &roomSeq{})
	return v.(*roomSeq)
}

func (a *app) onConnection(n *socketio.Namespace, s *socketio.Socket) {
	nsp := n.Name()
	s.On("echo", a.echo)
	s.On("join", func(e *socketio.Event) { a.changeRoom(nsp, s, e, true) })
	s.On("leave", func(e *socketio.Event) { a.changeRoom(nsp, s, e, false) })
	s.On("say", func(e *socketio.Event) {
		var room, text string
		var bin []byte
		if err := e.Bind(&room, &text, &bin); err != nil || !slices.Contains(roomNames, room) {
			_ = e.Ack().Send(int64(-1))
			return
		}
		rs := a.room(nsp, room)
		rs.mu.Lock()
		rs.seq++
		seq := rs.seq
		err := n.To(room).Emit("room msg", room, seq, s.ID(), text, bin, crc32.ChecksumIEEE(bin))
		rs.mu.Unlock()
		if err != nil {
			a.st.anomaly("server: broadcast failed", "%s %s: %v", nsp, room, err)
		}
		_ = e.Ack().Send(seq)
	})
	s.On("ask", func(e *socketio.Event) {
		var q int64
		if err := e.Bind(&q); err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
		defer cancel()
		res, err := s.Timeout(askTimeout).EmitWithAck(ctx, "question", q)
		if err != nil {
			_ = e.Ack().Send(false, int64(0))
			return
		}
		var got int64
		if err := res.Bind(&got); err != nil || got != 2*q {
			a.st.anomaly("server: wrong acknowledgement from a client", "question %d: got %v (%v)", q, got, err)
		}
		_ = e.Ack().Send(true, got)
	})
	s.On("slow", func(*socketio.Event) { time.Sleep(5 * time.Millisecond) })
}

const askTimeout = 5 * time.Second

// changeRoom handles a join (or a leave) of the room e names: under the
// room's lock, when s is not (or is) a member, s joins (or leaves) it and
// is told "joined" (or "left") with the number of the room's last
// broadcast. The acknowledgement says whether the room is one of
// roomNames.
func (a *app) changeRoom(nsp string, s *socketio.Socket, e *socketio.Event, join bool) {
	var room string
	if err := e.Bind(&room); err != nil || !slices.Contains(roomNames, room) {
		_ = e.Ack().Send(false)
		return
	}
	rs := a.room(nsp, room)
	rs.mu.Lock()
	switch member := slices.Contains(s.Rooms(), room); {
	case join && !member:
		s.Join(room)
		_ = s.Emit("joined", room, rs.seq)
	case !join && member:
		s.Leave(room)
		_ = s.Emit("left", room, rs.seq)
	}
	rs.mu.Unlock()
	_ = e.Ack().Send(true)
}

// echo acknowledges (seq, text, bin) with the same values, decoded and
// encoded again, and the CRC-32 and length of bin.
func (a *app) echo(e *socketio.Event) {
	var seq int64
	var text string
	var bin []byte
	if err := e.Bind(&seq, &text, &bin); err != nil {
		_ = e.Ack().Send(int64(-1))
		return
	}
	_ = e.Ack().Send(seq, text, bin, crc32.ChecksumIEEE(bin), len(bin))
}

func (a *app) onEngineClose(s *engineio.Session, reason string, cause error) {
	key := reason
	if cause != nil && reason == "transport error" {
		key += ": " + causeClass(cause)
	}
	a.engineCloses.add(key)
	a.open.Delete(s.ID())
	a.rogueMu.Lock()
	ch := a.rogueSids[s.ID()]
	delete(a.rogueSids, s.ID())
	a.rogueMu.Unlock()
	if ch != nil {
		ch <- key
	}
}

// causeClass shortens an error to its kind, for the tally.
func causeClass(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i < 60 {
		msg = msg[i+2:]
	}
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}

// watchRogue returns a channel that gets the close reason of session sid.
func (a *app) watchRogue(sid string) <-chan string {
	ch := make(chan string, 1)
	a.rogueMu.Lock()
	a.rogueSids[sid] = ch
	a.rogueMu.Unlock()
	return ch
}

func (a *app) unwatchRogue(sid string) {
	a.rogueMu.Lock()
	delete(a.rogueSids, sid)
	a.rogueMu.Unlock()
}

// openSession is an Engine.IO session the server opened and has not
// closed yet.
type openSession struct {
	s  *engineio.Session
	at time.Time
}

// lingering describes the sessions still open (for a failed drain).
func (a *app) lingering() []string {
	var out []string
	a.open.Range(func(k, v any) bool {
		o := v.(*openSession)
		name := o.s.Request().URL.Query().Get("name")
		if name == "" {
			name = "(no name: a misbehaving client)"
		}
		out = append(out, fmt.Sprintf("%s %s of %s, opened %v ago", k, o.s.Transport(), name, time.Since(o.at).Round(time.Second)))
		return true
	})
	slices.Sort(out)
	return out
}

// lingeringSockets describes the sockets still registered in a namespace
// (for a failed drain).
func (a *app) lingeringSockets() []string {
	var out []string
	nsps := append([]*socketio.Namespace{a.io.Of("/"), a.io.Of("/chat"), a.io.Of("/auth")}, a.dyn.Children()...)
	for _, n := range nsps {
		for _, s := range n.Sockets() {
			state := "engine session open"
			select {
			case <-s.Conn().Closed():
				state = "engine session closed"
			default:
			}
			out = append(out, fmt.Sprintf("%s %s of %q (connected %v, recovered %v, %s)", n.Name(), s.ID(),
				s.Conn().Request().URL.Query().Get("name"), s.Connected(), s.Recovered(), state))
		}
	}
	slices.Sort(out)
	return out
}

// counts returns the open Engine.IO sessions, the connected sockets of
// every namespace and the number of namespaces.
func (a *app) counts() (engine, sockets, namespaces int) {
	engine = a.io.Engine().ClientsCount()
	sockets = a.io.Of("/").SocketsCount() + a.io.Of("/chat").SocketsCount() + a.io.Of("/auth").SocketsCount()
	children := a.dyn.Children()
	for _, n := range children {
		sockets += n.SocketsCount()
	}
	return engine, sockets, 3 + len(children)
}

// shutdown shuts the Socket.IO server down, then the HTTP server.
func (a *app) shutdown(ctx context.Context) error {
	a.stopTicks()
	err := a.io.Shutdown(ctx)
	if herr := a.hs.Shutdown(ctx); herr != nil {
		_ = a.hs.Close()
		err = errors.Join(err, fmt.Errorf("http shutdown: %w", herr))
	}
	<-a.served
	return err
}

// logCounter is the server's slog handler: warnings are tallied, errors
// are anomalies (a handler panic, an unencodable packet).
type logCounter struct {
	a     *app
	attrs []slog.Attr
}

func (h *logCounter) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || debugLog
}

// debugLog (SOAK_DEBUG_LOG set) prints every log of the server on stderr.
var debugLog = os.Getenv("SOAK_DEBUG_LOG") != ""

func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	if debugLog {
		var b strings.Builder
		for _, at := range h.attrs {
			fmt.Fprintf(&b, " %s=%v", at.Key, at.Value)
		}
		r.Attrs(func(at slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", at.Key, at.Value)
			return true
		})
		fmt.Fprintf(os.Stderr, "%s %s %s%s\n", r.Time.Format("15:04:05.000"), r.Level, r.Message, b.String())
		if r.Level < slog.LevelWarn {
			return nil
		}
	}
	h.a.serverLogs.add(r.Level.String() + " " + r.Message)
	if r.Level >= slog.LevelError {
		var b strings.Builder
		r.Attrs(func(at slog.Attr) bool {
			if at.Key != "stack" {
				fmt.Fprintf(&b, " %s=%v", at.Key, at.Value)
			}
			return true
		})
		h.a.st.anomaly("server: error log", "%s%s", r.Message, b.String())
	}
	return nil
}

func (h *logCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logCounter{a: h.a, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *logCounter) WithGroup(string) slog.Handler { return h }

// tallyWriter counts the lines of net/http's error log, by their start.
type tallyWriter struct{ t *tally }

func (w tallyWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	if i := strings.Index(line, ":"); i > 0 {
		if j := strings.Index(line[i+1:], ":"); j > 0 {
			line = line[:i+1+j]
		}
	}
	if len(line) > 80 {
		line = line[:80]
	}
	w.t.add(line)
	return len(p), nil
}
