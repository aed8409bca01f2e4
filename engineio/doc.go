// Package engineio implements the server side of the Engine.IO v4 protocol:
// HTTP long-polling (with JSONP), WebSocket, the upgrade from one to the
// other, the server-driven heartbeat, CORS, cookies, polling compression and
// the size limits, with the behaviour and the error answers of the Node.js
// engine.io server.
//
// It knows nothing of Socket.IO: it hands whole messages, text or binary, to
// a Handler, which the Socket.IO layer implements.
//
// # Goroutines and ordering
//
//   - A WebSocket session's frames are read on the goroutine of the request
//     that opened it; a polling session's packets are read on the goroutine
//     of each POST. SessionHandler.OnMessage is called on those goroutines,
//     one message at a time, in arrival order, never concurrently for one
//     session. Different sessions run in parallel.
//   - Session.Send is safe from any goroutine, including from OnConnection
//     and OnMessage. It never blocks on the network: it queues the message
//     (bounded by ServerOptions.MaxBufferedBytes) and wakes the transport.
//     A WebSocket session gets a writer goroutine only while it has
//     something to write; a polling session writes on the pending GET.
//   - Heartbeat timers are runtime timers (time.AfterFunc), which cost no
//     goroutine until they fire.
//   - OnClose is called exactly once, after the last OnMessage.
//
// # Close reasons
//
// As in Node: "transport close" (the client closed the connection or sent a
// close packet), "transport error" (a transport failure, an overlapping
// request, a slow consumer), "ping timeout", "parse error" (a malformed
// packet) and "forced close" (Session.Close or Server.Shutdown).
package engineio
