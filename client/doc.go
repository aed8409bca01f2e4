// Package client is a Socket.IO v4 client for Go, with the model and the
// options of the official socket.io-client: a Manager holds one Engine.IO
// connection (polling, WebSocket, upgrade) and reconnects it with
// exponential back-off; a Socket per namespace is multiplexed on it.
//
//	s, err := client.Connect("http://localhost:3000/chat", &client.Options{
//		SocketOptions: client.SocketOptions{Auth: map[string]any{"token": "abc"}},
//	})
//	if err != nil { ... }
//	s.On("chat message", socketio.Func1(func(msg string, _ socketio.Ack) {
//		fmt.Println(msg)
//	}))
//	_ = s.Emit("chat message", "hello")           // buffered until connected
//	reply, err := s.Timeout(5*time.Second).EmitWithAck(ctx, "question", 42)
//	defer s.Manager().Close()
//
// Handlers are the server's types (socketio.Event, socketio.Ack, and the
// socketio.FuncN adapters).
//
// # Delivery
//
// While disconnected, Emit buffers its packets (bounded by
// ManagerOptions.MaxBufferedBytes) and sends them in order after the next
// connection; Volatile packets are dropped instead. With
// SocketOptions.Retries, every Emit waits for the server's acknowledgement
// and is sent again after AckTimeout, up to Retries times, one packet in
// flight at a time: at-least-once delivery, to pair with an idempotency key
// on the server. With connection state recovery on the server, the socket
// sends its pid and last offset when it reconnects, and Recovered reports
// whether the server restored the session.
//
// Connect and Manager.Socket start connecting at once (AutoConnect): a
// handler registered afterwards may miss the first connect event on a fast
// network. Register handlers first with AutoConnect false and then call
// Socket.Connect, or wait with Socket.WaitConnected.
//
// # Goroutines
//
// A connection has one reader goroutine (its transport's) and a writer
// only while it has something to write. Each socket handles its events and
// its connect, connect_error and disconnect notifications one at a time,
// in order, on a goroutine that exists only while it has some to handle.
// Acknowledgements are resolved on the reader, so a handler may block in
// EmitWithAck. Manager.Close leaves no goroutine behind.
package client
