package adapter

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio/parser"
)

// RecoveryConfig turns connection state recovery on for a namespace's
// adapter (Namespace.Recovery returns it, nil when off).
type RecoveryConfig struct {
	// MaxDisconnectionDuration is how long a session and the packets it
	// may have missed are kept.
	MaxDisconnectionDuration time.Duration
	// RecoverWithoutOffset restores a session whose client sends a pid but
	// no offset (it received no event yet), replaying every stored packet
	// addressed to it since it connected.
	RecoverWithoutOffset bool
	// MaxPackets bounds the stored packets (the oldest go first).
	MaxPackets int
}

// Session is the state of a disconnected socket kept for its recovery.
type Session struct {
	SID   SocketID
	PID   string
	Rooms []Room // its own id included
	Data  any
	// ConnectOffset is the adapter's Offset when the socket connected: the
	// replay point when the client comes back without an offset.
	ConnectOffset string
	// ResumeFrom, set by RestoreSession, is the offset after which the
	// socket missed packets ("": every stored packet).
	ResumeFrom string
}

// offsets makes unique, roughly time-ordered offset strings.
var offsetSeq atomic.Uint64

func newOffset() string {
	return strconv.FormatInt(time.Now().UnixMilli(), 36) + "-" + strconv.FormatUint(offsetSeq.Add(1), 36)
}

type storedPacket struct {
	offset   string
	opts     BroadcastOptions
	at       time.Time
	p        *parser.Packet
	volatile bool // a position marker only: never replayed
}

type storedSession struct {
	Session
	disconnectedAt time.Time
}

// sessionStore is the recovery state of the in-memory adapter.
type sessionStore struct {
	cfg *RecoveryConfig

	mu        sync.Mutex
	sessions  map[string]*storedSession
	packets   []storedPacket
	lastSweep time.Time
}

func newSessionStore(cfg *RecoveryConfig) *sessionStore {
	return &sessionStore{cfg: cfg, sessions: make(map[string]*storedSession)}
}

// tag appends an offset to an EVENT broadcast without acknowledgement, as
// Node's session-aware adapter does, and stores it for replay. A volatile
// event gets the current offset instead (stored as a marker, never
// replayed), so that its own last argument is never taken for an offset by
// the client (socket.io#5539). It returns the packet to send.
func (st *sessionStore) tag(p *parser.Packet, opts BroadcastOptions) *parser.Packet {
	if p.Type != parser.Event || p.HasID {
		return p
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	defer st.trimLocked(now) // after the append: at most MaxPackets kept
	var offset string
	if opts.Flags.Volatile && len(st.packets) > 0 {
		offset = st.packets[len(st.packets)-1].offset
	} else {
		offset = newOffset()
	}
	tagged := *p
	tagged.Args = append(slices.Clip(p.Args), offset)
	if !opts.Flags.Volatile || len(st.packets) == 0 {
		opts.Rooms = slices.Clone(opts.Rooms)
		opts.Except = slices.Clone(opts.Except)
		st.packets = append(st.packets, storedPacket{offset: offset, opts: opts, at: now, p: &tagged, volatile: opts.Flags.Volatile})
	}
	return &tagged
}

// trimLocked drops the packets older than MaxDisconnectionDuration, and
// the oldest beyond MaxPackets.
func (st *sessionStore) trimLocked(now time.Time) {
	threshold := now.Add(-st.cfg.MaxDisconnectionDuration)
	i := 0
	for i < len(st.packets) && st.packets[i].at.Before(threshold) {
		i++
	}
	if over := len(st.packets) - i - st.cfg.MaxPackets; over > 0 {
		i += over
	}
	if i > 0 {
		clear(st.packets[:i])
		st.packets = st.packets[i:]
	}
}

func (st *sessionStore) offset() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.packets) == 0 {
		return ""
	}
	return st.packets[len(st.packets)-1].offset
}

func (st *sessionStore) persist(s *Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	if now.Sub(st.lastSweep) > time.Minute || len(st.sessions) > 1024 && now.Sub(st.lastSweep) > time.Second {
		st.lastSweep = now
		for pid, ss := range st.sessions {
			if now.Sub(ss.disconnectedAt) > st.cfg.MaxDisconnectionDuration {
				delete(st.sessions, pid)
			}
		}
	}
	st.sessions[s.PID] = &storedSession{Session: *s, disconnectedAt: now}
}

// restore returns the session pid with the packets it missed after
// offset (nil: after its ConnectOffset, when RecoverWithoutOffset), or nil
// when it cannot be recovered. A restored session is removed.
func (st *sessionStore) restore(pid string, offset *string) *Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	ss := st.sessions[pid]
	if ss == nil {
		return nil
	}
	now := time.Now()
	if now.Sub(ss.disconnectedAt) > st.cfg.MaxDisconnectionDuration {
		delete(st.sessions, pid)
		return nil
	}
	from := ""
	switch {
	case offset != nil:
		from = *offset
	case st.cfg.RecoverWithoutOffset:
		from = ss.ConnectOffset
	default:
		return nil
	}
	if from != "" {
		if !slices.ContainsFunc(st.packets, func(sp storedPacket) bool { return sp.offset == from }) {
			return nil // the offset is unknown or too old
		}
	} else if offset != nil {
		return nil
	}
	delete(st.sessions, pid)
	s := ss.Session
	s.ResumeFrom = from
	return &s
}

// since returns the stored packets after offset from ("": all) that
// targeted a socket in rooms, volatile markers excluded.
func (st *sessionStore) since(from string, rooms []Room) []*parser.Packet {
	st.mu.Lock()
	defer st.mu.Unlock()
	start := 0
	if from != "" {
		i := slices.IndexFunc(st.packets, func(sp storedPacket) bool { return sp.offset == from })
		if i < 0 {
			return nil // trimmed since RestoreSession: nothing left to replay
		}
		start = i + 1
	}
	var out []*parser.Packet
	for _, sp := range st.packets[start:] {
		if !sp.volatile && ShouldInclude(rooms, sp.opts) {
			out = append(out, sp.p)
		}
	}
	return out
}

// ShouldInclude reports whether a socket in rooms (its own id included)
// is a target of opts: Node's shouldIncludePacket, by which a stored
// broadcast is replayed or not to a recovered socket.
func ShouldInclude(rooms []Room, opts BroadcastOptions) bool {
	included := len(opts.Rooms) == 0
	for _, r := range rooms {
		if slices.Contains(opts.Except, r) {
			return false
		}
		if !included && slices.Contains(opts.Rooms, r) {
			included = true
		}
	}
	return included
}
