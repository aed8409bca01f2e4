// Package engineio implements the Engine.IO v4 protocol. Its server side:
// HTTP long-polling (with JSONP), WebSocket, the upgrade from one to the
// other, the server-driven heartbeat, CORS, cookies, polling compression and
// the size limits, with the behaviour and the error answers of the Node.js
// engine.io server.
//
// It knows nothing of Socket.IO: it hands whole messages, text or binary, to
// a Handler, which the Socket.IO layer implements.
//
// Its client side, Dial, connects to any Engine.IO v4 server as
// engine.io-client does: polling, WebSocket and the upgrade between them,
// the heartbeat watchdog, cookies through the http.Client's Jar, extra
// headers and query. A ClientConn has one reader goroutine and a writer
// only while it has something to write; its ClientHandler is called on the
// reader, one message at a time, in order.
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
