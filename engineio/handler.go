package engineio

// Handler receives the sessions a Server accepts. The Socket.IO layer
// implements it; a bare Engine.IO application can use HandlerFunc.
type Handler interface {
	// OnConnection is called once per session, after the open packet has
	// been queued and before any message of that session is delivered. It
	// returns the receiver of that session's events. It runs on the
	// goroutine of the handshake request, so it should not block for long;
	// calling s.Send from it is fine.
	OnConnection(s *Session) SessionHandler
}

// SessionHandler receives the events of one session.
//
// OnMessage is called for each message in arrival order, never concurrently
// with itself or with OnClose. data belongs to the callee: the engine never
// touches it again. OnClose is called exactly once, last.
type SessionHandler interface {
	OnMessage(data []byte, binary bool)
	OnClose(reason string, cause error)
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(s *Session) SessionHandler

// OnConnection calls f(s).
func (f HandlerFunc) OnConnection(s *Session) SessionHandler { return f(s) }

// SessionFuncs is a SessionHandler made of optional functions.
type SessionFuncs struct {
	Message func(data []byte, binary bool)
	Close   func(reason string, cause error)
}

// OnMessage calls f.Message when it is set.
func (f SessionFuncs) OnMessage(data []byte, binary bool) {
	if f.Message != nil {
		f.Message(data, binary)
	}
}

// OnClose calls f.Close when it is set.
func (f SessionFuncs) OnClose(reason string, cause error) {
	if f.Close != nil {
		f.Close(reason, cause)
	}
}
