package emitter_test

import (
	"context"
	"log"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-sio/socketio/adapter/redis"
	"github.com/go-sio/socketio/adapter/redis/emitter"
)

// A worker process tells the sockets of a cluster (Go or Node.js servers on
// the classic Redis adapter) about a new order.
func Example() {
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	io := emitter.New(redis.GoRedis(rdb), nil)

	ctx := context.Background()
	if err := io.To("admins").Emit(ctx, "order", map[string]any{"id": 42}); err != nil {
		log.Print(err)
	}
	_ = io.Of("/chat").Except("muted").Emit(ctx, "announcement", "maintenance at 2am")
	_ = io.In("user:42").DisconnectSockets(ctx, true)
}
