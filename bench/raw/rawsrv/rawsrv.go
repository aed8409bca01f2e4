// Package rawsrv is the ceiling of the benchmarks: a plain WebSocket server
// on github.com/lxzan/gws (the library and version the engineio package
// uses), with the echo and room fan-out of the benchmark contract over plain
// text frames and no Socket.IO or Engine.IO on top. The load generator
// (bench/load, -proto raw) speaks its framing; bench/raw is the command.
//
// Framing, one text frame per message (client to server, then the answer):
//
//	e<id>:<payload>     echo: answered "a<id>:<payload>" (the same bytes after the first)
//	j<room>             join room: answered "j" once joined
//	b<room>:<payload>   fan out "m<payload>" to every member of room (the sender too, if a member)
//	B<payload>          fan out "m<payload>" to every connection
//
// Any other frame is ignored. A connection leaves its rooms when it closes.
//
// The server has the per-connection structure a real one has: one reader
// goroutine per connection (gws's read loop, on the HTTP handler's
// goroutine), the room index a map guarded by an RWMutex, and the writes of
// a fan-out queued on each receiver's own write queue (gws's, which runs a
// goroutine only while it has something to write), so that a slow receiver
// does not hold the sender's reader. It is naive on purpose: each message
// is written to each receiver on its own, never batched with others.
package rawsrv

import (
	"bytes"
	"net/http"
	"sync"
	"time"

	"github.com/lxzan/gws"
)

// Fan-out modes.
const (
	// FanoutPrepared encodes the frame once per fan-out (gws.Broadcaster)
	// and queues the same bytes on every receiver.
	FanoutPrepared = "prepared"
	// FanoutCopy queues the payload on every receiver (gws WriteAsync),
	// each receiver's write building its own frame.
	FanoutCopy = "copy"
)

// Options configures a Server; nil means the defaults.
type Options struct {
	// Fanout is FanoutPrepared (default) or FanoutCopy.
	Fanout string
	// ReadMaxPayloadSize is the largest frame read (default 1 MB, as
	// Socket.IO's maxHttpBufferSize).
	ReadMaxPayloadSize int
}

// Server is an http.Handler upgrading every request to a WebSocket.
type Server struct {
	up   *gws.Upgrader
	copy bool

	mu     sync.RWMutex
	rooms  map[string]map[*conn]struct{}
	conns  map[*conn]struct{}
	closed bool
}

// conn is one connection. rooms is guarded by Server.mu.
type conn struct {
	c     *gws.Conn
	rooms []string
}

// New returns a Server.
func New(opts *Options) *Server {
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{
		copy:  opts.Fanout == FanoutCopy,
		rooms: make(map[string]map[*conn]struct{}),
		conns: make(map[*conn]struct{}),
	}
	maxPayload := opts.ReadMaxPayloadSize
	if maxPayload <= 0 {
		maxPayload = 1_000_000
	}
	s.up = gws.NewUpgrader(events{s}, &gws.ServerOption{
		ReadMaxPayloadSize:  maxPayload,
		WriteMaxPayloadSize: 1 << 30,
		ReadBufferSize:      4096,
		HandshakeTimeout:    10 * time.Second,
		Logger:              silentLogger{},
		NewSession:          func() gws.SessionStorage { return &slot{} },
	})
	return s
}

// ServeHTTP upgrades the request and reads the connection until it ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := s.up.Upgrade(w, r)
	if err != nil {
		return // gws has answered
	}
	cn := &conn{c: c}
	c.Session().(*slot).conn = cn
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = c.NetConn().Close()
		return
	}
	s.conns[cn] = struct{}{}
	s.mu.Unlock()
	c.ReadLoop()
}

// Close closes every connection and refuses new ones.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*conn, 0, len(s.conns))
	for cn := range s.conns {
		all = append(all, cn)
	}
	s.mu.Unlock()
	for _, cn := range all {
		_ = cn.c.WriteClose(1001, nil)
	}
}

// Conns returns the number of open connections.
func (s *Server) Conns() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.conns)
}

var (
	ackPrefix = []byte{'a'}
	joinReply = []byte{'j'}
)

func (s *Server) onMessage(cn *conn, data []byte) {
	if len(data) == 0 {
		return
	}
	switch data[0] {
	case 'e':
		_ = cn.c.Writev(gws.OpcodeText, ackPrefix, data[1:])
	case 'j':
		s.join(cn, data[1:])
		_ = cn.c.WriteMessage(gws.OpcodeText, joinReply)
	case 'b':
		i := bytes.IndexByte(data, ':')
		if i < 0 {
			return
		}
		s.fanout(data[1:i], data[i+1:], false)
	case 'B':
		s.fanout(nil, data[1:], true)
	}
}

func (s *Server) join(cn *conn, room []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	members := s.rooms[string(room)]
	if members == nil {
		members = make(map[*conn]struct{})
		s.rooms[string(room)] = members
	}
	if _, ok := members[cn]; ok {
		return
	}
	members[cn] = struct{}{}
	cn.rooms = append(cn.rooms, string(room))
}

// fanout queues "m<payload>" on every member of room (every connection
// with all). The frame outlives the reader's buffer: it is copied once.
func (s *Server) fanout(room, payload []byte, all bool) {
	frame := make([]byte, 1+len(payload))
	frame[0] = 'm'
	copy(frame[1:], payload)
	s.mu.RLock()
	defer s.mu.RUnlock()
	members := s.conns
	if !all {
		members = s.rooms[string(room)]
	}
	if len(members) == 0 {
		return
	}
	if s.copy {
		for m := range members {
			m.c.WriteAsync(gws.OpcodeText, frame, nil)
		}
		return
	}
	b := gws.NewBroadcaster(gws.OpcodeText, frame)
	for m := range members {
		_ = b.Broadcast(m.c)
	}
	_ = b.Close()
}

func (s *Server) onClose(cn *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, cn)
	for _, r := range cn.rooms {
		members := s.rooms[r]
		delete(members, cn)
		if len(members) == 0 {
			delete(s.rooms, r)
		}
	}
	cn.rooms = nil
}

type events struct{ s *Server }

func slotOf(c *gws.Conn) *conn { return c.Session().(*slot).conn }

func (events) OnOpen(*gws.Conn) {}

func (e events) OnClose(c *gws.Conn, _ error) {
	if cn := slotOf(c); cn != nil {
		e.s.onClose(cn)
	}
}

func (events) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (events) OnPong(*gws.Conn, []byte) {}

func (e events) OnMessage(c *gws.Conn, m *gws.Message) {
	if cn := slotOf(c); cn != nil {
		e.s.onMessage(cn, m.Bytes())
	}
	_ = m.Close() // the buffer goes back to gws's pool: nothing kept it
}

// slot is the per-connection storage gws asks for: it holds our conn only,
// so no map is allocated per connection (as in engineio/ws.go).
type slot struct{ conn *conn }

func (*slot) Len() int                           { return 0 }
func (*slot) Load(string) (any, bool)            { return nil, false }
func (*slot) Delete(string)                      {}
func (*slot) Store(string, any)                  {}
func (*slot) Range(func(key string, v any) bool) {}

type silentLogger struct{}

func (silentLogger) Error(...any) {}
