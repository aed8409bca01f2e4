package socketio_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"regexp"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/parser/msgpack"
)

// A chat server: every message is relayed, byte for byte, to everyone.
func Example() {
	io := socketio.NewServer(&socketio.ServerOptions{
		// Serve /socket.io/socket.io.min.js and friends from the npm package.
		ClientFiles: os.DirFS("node_modules/socket.io-client/dist"),
	})
	io.OnConnection(func(s *socketio.Socket) {
		s.On("chat message", func(e *socketio.Event) {
			_ = io.Emit("chat message", e.Args.Values()...)
		})
		s.OnDisconnect(func(reason string) { log.Println(s.ID(), "left:", reason) })
	})
	http.Handle("/socket.io/", io)
	log.Fatal(http.ListenAndServe("localhost:3000", nil))
}

// Typed handlers decode their arguments; the Ack answers the client.
func ExampleFunc2() {
	io := socketio.NewServer(nil)
	type Point struct{ X, Y int }
	io.OnConnection(func(s *socketio.Socket) {
		s.On("move", socketio.Func2(func(id string, to Point, ack socketio.Ack) {
			_ = s.Broadcast().Emit("moved", id, to)
			_ = ack.Send("ok")
		}))
	})
}

// Middlewares authenticate; a *ConnectError reaches the client's
// connect_error with its data.
func ExampleNamespace_Use() {
	io := socketio.NewServer(nil)
	admin := io.Of("/admin")
	admin.Use(func(s *socketio.Socket) error {
		if s.Handshake().Auth["token"] != "secret" {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"retry": false}}
		}
		return nil
	})
	admin.OnConnection(func(s *socketio.Socket) { s.Join("admins") })
}

// Rooms, exclusions and acknowledgements from many clients.
func ExampleBroadcastOperator_EmitWithAck() {
	io := socketio.NewServer(nil)
	io.OnConnection(func(s *socketio.Socket) {
		s.Join("room-1")
		s.On("poll", func(e *socketio.Event) {
			answers, err := io.To("room-1").Except(s.ID()).Timeout(5*time.Second).
				EmitWithAck(context.Background(), "question", "ready?")
			if errors.Is(err, socketio.ErrTimeout) {
				log.Printf("only %d answers in time", len(answers))
			}
			for _, a := range answers {
				var ready bool
				_ = a.Bind(&ready)
			}
		})
	})
}

// Acknowledgement of one client, from the server side.
func ExampleSocket_EmitWithAck() {
	io := socketio.NewServer(nil)
	io.OnConnection(func(s *socketio.Socket) {
		reply, err := s.Timeout(2*time.Second).EmitWithAck(context.Background(), "ping")
		if err != nil {
			return
		}
		var pong string
		_ = reply.Bind(&pong)
	})
}

// Dynamic namespaces are created on demand when their name matches.
func ExampleServer_OfRegexp() {
	io := socketio.NewServer(nil)
	workspaces := io.OfRegexp(regexp.MustCompile(`^/workspace-\d+$`))
	workspaces.OnConnection(func(s *socketio.Socket) {
		_ = s.Namespace().Emit("joined", s.ID()) // to that workspace only
	})
}

// Engine.IO options (heartbeat, CORS, limits) sit beside the Socket.IO
// ones; the msgpack parser is a codec.
func ExampleNewServer() {
	io := socketio.NewServer(&socketio.ServerOptions{
		ServerOptions: engineio.ServerOptions{
			PingInterval: 10 * time.Second,
			CORS:         &engineio.CORSOptions{Origins: []string{"https://example.com"}, Credentials: true},
		},
		ConnectTimeout: 10 * time.Second,
		Parser:         msgpack.Default,
	})
	srv := &http.Server{Addr: "localhost:3000", Handler: io, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
	// ...
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = io.Shutdown(ctx)
	_ = srv.Shutdown(ctx)
}
