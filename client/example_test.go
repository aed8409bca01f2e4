package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
)

// A client in ten lines: connect, listen, emit, wait for an answer.
func Example() {
	s, err := client.Connect("http://localhost:3000/", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Manager().Close()
	s.On("chat message", socketio.Func1(func(msg string, _ socketio.Ack) { fmt.Println(msg) }))
	_ = s.Emit("chat message", "hello") // buffered until connected
	reply, err := s.Timeout(5*time.Second).EmitWithAck(context.Background(), "ping")
	if err == nil {
		var pong string
		_ = reply.Bind(&pong)
	}
}

// At-least-once delivery: every emit waits for the server's
// acknowledgement and is retried; the server deduplicates by an id.
func ExampleSocketOptions() {
	s, err := client.Connect("http://localhost:3000/", &client.Options{
		SocketOptions: client.SocketOptions{AckTimeout: 2 * time.Second, Retries: 5},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Manager().Close()
	_ = s.Emit("chat message", "hello", "client-offset-1")
}

// Several namespaces on one connection, with auth computed per attempt.
func ExampleManager() {
	m, err := client.NewManager("https://example.com", &client.ManagerOptions{
		ReconnectionDelayMax: 10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	m.OnReconnect(func(attempt int) { log.Println("back after", attempt, "attempts") })
	news := m.Socket("/news", nil)
	admin := m.Socket("/admin", &client.SocketOptions{AuthFunc: func() any {
		return map[string]any{"token": "fresh-token"}
	}})
	admin.OnConnectError(func(err error) { log.Println("refused:", err) })
	_ = news.WaitConnected(context.Background())
}
