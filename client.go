package socketio

import (
	"sync"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/parser"
)

// client is one Engine.IO connection, shared by the client's sockets in
// several namespaces. It implements engineio.SessionHandler: its OnMessage
// runs on the connection's read goroutine.
type client struct {
	srv  *Server
	conn *engineio.Session
	dec  parser.Decoder

	mu      sync.Mutex
	sockets map[string]*Socket  // by namespace name
	dynamic map[string]struct{} // dynamic namespaces joined or tried; nil until the first
	closed  bool
	timer   *time.Timer // connectTimeout, until a namespace is joined
}

func newClient(srv *Server, conn *engineio.Session) *client {
	c := &client{srv: srv, conn: conn, dec: srv.cfg.codec.NewDecoder(), sockets: make(map[string]*Socket)}
	c.timer = time.AfterFunc(srv.cfg.connectTimeout, func() {
		c.mu.Lock()
		idle := len(c.sockets) == 0
		c.mu.Unlock()
		if idle {
			srv.logDebug("no namespace joined in time", "eid", conn.ID())
			c.close()
		}
	})
	return c
}

func (c *client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// OnMessage decodes a message and routes the packet it completes.
func (c *client) OnMessage(data []byte, binary bool) {
	p, err := c.dec.Decode(data, binary)
	if err != nil {
		c.srv.logDebug("invalid packet", "eid", c.conn.ID(), "err", err)
		c.onError(err)
		return
	}
	if p == nil {
		return // waiting for attachments
	}
	c.mu.Lock()
	s := c.sockets[p.Namespace]
	c.mu.Unlock()
	switch {
	case s == nil && p.Type == parser.Connect:
		c.connect(p)
	case s != nil && p.Type != parser.Connect && p.Type != parser.ConnectError:
		s.onPacket(p)
	default:
		// A packet for a namespace not joined, or a second CONNECT: Node
		// closes the connection.
		c.close()
	}
}

// OnClose disconnects every socket of the connection with the engine's
// reason.
func (c *client) OnClose(reason string, cause error) {
	c.mu.Lock()
	c.closed = true
	c.timer.Stop()
	c.mu.Unlock()
	for _, s := range c.socketList() {
		s.onClose(reason, cause)
	}
}

// onError reports a decoding error to the sockets and closes the
// connection, as Node does.
func (c *client) onError(err error) {
	for _, s := range c.socketList() {
		s.reportError(err)
	}
	_ = c.conn.Close()
}

func (c *client) connect(p *parser.Packet) {
	auth := map[string]any{}
	if r, ok := p.Data.(parser.Raw); ok && !r.IsZero() {
		_ = r.Decode(&auth) // the decoder checked it is an object
	}
	n, err := c.srv.lookupNamespace(p.Namespace, auth, c.admitDynamic)
	if err != nil {
		c.connectError(p.Namespace, err)
		return
	}
	if n == nil {
		c.connectError(p.Namespace, &ConnectError{Message: "Invalid namespace"})
		return
	}
	s := newSocket(n, c, auth)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.sockets[n.name] = s
	c.mu.Unlock()
	s.enqueueFinal(func() { n.add(s, auth) })
}

// admitDynamic reports whether the connection may join the dynamic
// namespace name: one it joined (or tried to) before, or a new one while
// it is under MaxNamespacesPerConnection, which it then counts.
func (c *client) admitDynamic(name string) bool {
	limit := c.srv.cfg.maxNamespaces
	if limit < 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.dynamic[name]; ok {
		return true
	}
	if len(c.dynamic) >= limit {
		return false
	}
	if c.dynamic == nil {
		c.dynamic = make(map[string]struct{})
	}
	c.dynamic[name] = struct{}{}
	return true
}

// connectError answers a refused CONNECT.
func (c *client) connectError(nsp string, err error) {
	type errorData struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}
	d := errorData{Message: err.Error()}
	if ce, ok := err.(*ConnectError); ok {
		d.Data = ce.Data
	}
	msgs, encErr := c.srv.cfg.codec.Encode(&parser.Packet{Type: parser.ConnectError, Namespace: nsp, Data: d})
	if encErr != nil {
		c.srv.logError("cannot encode connect error", "err", encErr)
		return
	}
	_ = sendMessages(c.conn, msgs)
}

// connected stops the connect timeout once a namespace is joined.
func (c *client) connected() { c.timer.Stop() }

func (c *client) remove(s *Socket) {
	c.mu.Lock()
	if c.sockets[s.nsp.name] == s {
		delete(c.sockets, s.nsp.name)
	}
	c.mu.Unlock()
}

// close closes the connection from the server ("forced server close").
func (c *client) close() {
	c.mu.Lock()
	already := c.closed
	c.mu.Unlock()
	if already {
		return
	}
	_ = c.conn.Close()
	c.OnClose(ReasonForcedServerClose, nil)
}

// disconnectAll disconnects every socket of the connection, then closes it.
func (c *client) disconnectAll() {
	for _, s := range c.socketList() {
		if s.connected.Load() {
			_ = s.sendPacket(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp.name}, adapter.BroadcastFlags{})
			s.onClose(ReasonServerNamespaceDisconnect, nil)
		}
	}
	c.close()
}

// socketList returns the client's sockets, one per namespace.
func (c *client) socketList() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		out = append(out, s)
	}
	return out
}
