package engineio

import (
	"errors"
	"net"
	"time"

	"github.com/go-sio/socketio/engineio/packet"
)

// wsLink ties a WebSocket connection to its session. While probe is true the
// connection is an upgrade candidate and the session still runs on polling.
// probe is only touched by the connection's read goroutine.
type wsLink struct {
	s     *Session
	probe bool
}

func (l *wsLink) onFrame(c *wsConn, data []byte, binary bool) {
	p, err := packet.Decode(data, binary)
	if err != nil {
		if l.probe {
			l.abortUpgrade(c)
			return
		}
		l.s.closeWith(ReasonParseError, err)
		return
	}
	if !l.probe {
		l.s.onPacket(p, len(data))
		return
	}
	s := l.s
	switch {
	case p.Type == packet.Ping && string(p.Data) == "probe":
		if err := c.writePacket(packet.Packet{Type: packet.Pong, Data: p.Data}); err != nil {
			l.abortUpgrade(c)
			return
		}
		s.mu.Lock()
		if s.probeConn == c {
			s.probed = true
			s.stopHeartbeatLocked()
			s.signalPollLocked()
		}
		s.mu.Unlock()
	case p.Type == packet.Upgrade:
		s.mu.Lock()
		if s.probeConn != c || s.state == stateClosed {
			s.mu.Unlock()
			l.abortUpgrade(c)
			return
		}
		l.probe = false
		s.endUpgradeLocked()
		s.transport = TransportWebSocket
		s.ws = c
		s.upgraded = true
		s.signalPollLocked() // a pending GET ends with a noop
		if s.state == stateOpen {
			s.startHeartbeatLocked()
		}
		s.kickLocked()
		s.mu.Unlock()
		s.srv.logDebug("upgraded", "sid", s.id)
		if hook := s.srv.cfg.opts.Hooks.Upgrade; hook != nil {
			hook(s, TransportWebSocket)
		}
	default:
		l.abortUpgrade(c)
	}
}

func (l *wsLink) onClose(c *wsConn, err error) {
	if l.probe {
		l.abortUpgrade(c)
		return
	}
	if isNormalClose(err) {
		l.s.closeWith(ReasonTransportClose, nil)
	} else {
		l.s.closeWith(ReasonTransportError, err)
	}
}

// abortUpgrade drops the candidate connection; the session goes on polling.
func (l *wsLink) abortUpgrade(c *wsConn) {
	s := l.s
	s.mu.Lock()
	if s.probeConn == c {
		s.endUpgradeLocked()
		if s.state == stateOpen {
			s.startHeartbeatLocked()
		}
	}
	s.mu.Unlock()
	c.close()
}

// beginUpgradeLocked records c as the upgrade candidate. s.mu is held.
func (s *Session) beginUpgradeLocked(c *wsConn) {
	s.upgrading = true
	s.probeConn = c
	link := c.h.(*wsLink)
	s.upgradeTimer = time.AfterFunc(s.srv.cfg.upgradeTimeout, func() {
		s.mu.Lock()
		current := s.probeConn == c
		s.mu.Unlock()
		if current {
			s.srv.logDebug("upgrade timed out", "sid", s.id)
			link.abortUpgrade(c)
		}
	})
}

// endUpgradeLocked clears the upgrade state. s.mu is held.
func (s *Session) endUpgradeLocked() {
	s.upgrading = false
	s.probed = false
	s.probeConn = nil
	if s.upgradeTimer != nil {
		s.upgradeTimer.Stop()
		s.upgradeTimer = nil
	}
}

// wsWriteLoop writes queued packets to c until the queue is empty, then
// exits; Session.kickLocked starts it again when needed.
func (s *Session) wsWriteLoop(c *wsConn) {
	for {
		s.mu.Lock()
		if s.ws != c || s.state == stateClosed {
			s.writing = false
			s.mu.Unlock()
			return
		}
		pkts := s.takeQueueLocked()
		if len(pkts) == 0 {
			s.writing = false
			closing := s.state == stateClosing
			s.mu.Unlock()
			if closing {
				s.closeWith(ReasonForcedClose, nil)
			}
			return
		}
		s.mu.Unlock()
		if err := c.writePackets(pkts); err != nil {
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			switch {
			case errors.Is(err, net.ErrClosed):
				// The connection is closing on our side (the read
				// loop answers the peer's close frame, or reports an
				// error): its end closes the session. Closing it here
				// would cut the closing handshake short.
			case isNormalClose(err):
				// The client closed while we wrote: Node reports the
				// close, not the failed write.
				s.closeWith(ReasonTransportClose, nil)
			default:
				s.closeWith(ReasonTransportError, err)
			}
			return
		}
		s.packetOut(pkts)
	}
}
