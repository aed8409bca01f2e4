package redis_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/adapter/redis"
)

// A server whose broadcasts, rooms and FetchSockets span every node
// (Go or Node.js) using the same Redis.
func ExampleNewAdapter() {
	rdb := goredis.NewClient(&goredis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	io := socketio.NewServer(&socketio.ServerOptions{
		Adapter: redis.NewAdapter(redis.GoRedis(rdb), &redis.Options{
			RequestTimeout: 3 * time.Second,
			Logger:         slog.Default(),
			OnRedisState: func(up bool, err error) {
				log.Printf("redis subscription up: %v (%v)", up, err)
			},
		}),
	})
	io.OnConnection(func(s *socketio.Socket) {
		s.Join("news")
		_ = io.To("news").Emit("hello", s.ID()) // reaches the sockets of every node
	})
	io.Of("/").OnServerSideEmit("ping", func(e *socketio.ServerSideEvent) { e.Ack("pong") })
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		replies, err := io.Of("/").ServerSideEmitWithAck(ctx, "ping") // one reply per other node
		log.Println(replies, err)
	}()
	http.Handle("/socket.io/", io)
}

// The rooms of every node, as allRooms() of Node.js.
func ExampleClassicAdapter_AllRooms() {
	var io *socketio.Server // a server using redis.NewAdapter
	rooms, err := io.Of("/").Adapter().(*redis.ClassicAdapter).AllRooms(context.Background())
	log.Println(rooms, err)
}
