// Package socketio is a Socket.IO v4 server (protocol v5 over Engine.IO v4)
// that the official JavaScript, Swift, Java, Kotlin, C++ and Python clients
// use exactly as they use the Node.js server.
//
//	io := socketio.NewServer(nil)
//	io.OnConnection(func(s *socketio.Socket) {
//		s.On("chat message", func(e *socketio.Event) {
//			io.Emit("chat message", e.Args[0]) // relayed byte for byte
//		})
//	})
//	http.Handle("/socket.io/", io)
//
// The API follows Node's: Server.Of gives namespaces, Use adds middlewares,
// sockets Join and Leave rooms, To/In/Except/Local/Volatile/Compress/Timeout
// build immutable BroadcastOperators, EmitWithAck collects
// acknowledgements, FetchSockets/SocketsJoin/SocketsLeave/DisconnectSockets
// act across the cluster through the adapter. Options, reasons and error
// texts use Node's names and strings.
//
// # Handlers and typed arguments
//
// The core handler is func(*Event). Its Args stay encoded until decoded with
// Event.Bind (or parser.Raw.Decode), so an argument relayed unchanged is
// written back byte for byte, without being decoded. []byte values travel
// as binary, in both directions. Func0 to Func3 adapt typed functions:
//
//	s.On("hello", socketio.Func1(func(name string, ack socketio.Ack) {
//		ack.Send("hi " + name)
//	}))
//
// When the arguments do not decode into the types of a FuncN handler, the
// handler is not called, Hooks.BindError fires, and a client that asked for
// an acknowledgement receives {"error": "<message>"}.
//
// An acknowledgement is sent with Event.Ack().Send, once, from any
// goroutine; it does nothing when the client asked for none.
//
// # Goroutines and ordering
//
//   - A connection's packets are decoded on its read goroutine (see
//     package engineio). Acknowledgements are resolved right there, so a
//     handler blocked in EmitWithAck never blocks the connection that
//     carries the answer.
//   - Events are queued per socket and handled one at a time, in arrival
//     order, on a goroutine that exists only while the socket has queued
//     events. The namespace middlewares, the connection handlers, event
//     handlers (after OnAny handlers and packet middlewares) and the
//     disconnecting/disconnect handlers of a socket all run there, in that
//     order. Different sockets run in parallel.
//   - Emit, EmitWithAck, Join, Leave, Disconnect and every
//     BroadcastOperator method are safe from any goroutine, inside handlers
//     included. Emit never blocks on the network: packets are queued per
//     connection, bounded in bytes (engineio.ServerOptions.MaxBufferedBytes).
//   - A broadcast encodes its packet once and queues the same bytes for
//     every recipient.
//   - A client that queues more than MaxPendingEvents events for one socket
//     faster than its handlers take them is disconnected ("forced server
//     close"). A panic in a handler is recovered, logged and reported to
//     the socket's OnError handlers.
package socketio
