package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/adapter/redis"
)

// Step 9: several chat processes share their broadcasts through Redis.
// The tutorial's workers use the cluster adapter (node:cluster's IPC);
// processes that are not children of one parent, or run on several
// machines, use a Redis adapter, with the same code otherwise.

// redisAdapters are the values of REDIS_ADAPTER (-redis-adapter).
var redisAdapters = []string{"classic", "sharded", "streams"}

// redisPingTimeout bounds the first PING: a REDIS_URL that points nowhere
// fails the start instead of every broadcast after it.
const redisPingTimeout = 5 * time.Second

// clusterSetup is the adapter of a chat spread over several processes,
// and the Redis client it uses.
type clusterSetup struct {
	adapter adapter.Factory
	close   func() error
	desc    string // for the start line: "classic Redis adapter at redis://host:port"
}

// connectRedis connects to the Redis server at rawURL (redis://, rediss://
// or unix://, as go-redis's ParseURL) and returns the adapter named kind
// ("" is classic). go-redis logs (a lost connection, ...) go to log, as
// warnings, once the server has answered.
func connectRedis(ctx context.Context, rawURL, kind string, log *slog.Logger) (*clusterSetup, error) {
	if kind == "" {
		kind = "classic"
	}
	var factory func(redis.Driver) adapter.Factory
	switch kind {
	case "classic": // @socket.io/redis-adapter, createAdapter
		factory = func(d redis.Driver) adapter.Factory { return redis.NewAdapter(d, &redis.Options{Logger: log}) }
	case "sharded": // @socket.io/redis-adapter, createShardedAdapter (Redis 7 or newer)
		factory = func(d redis.Driver) adapter.Factory {
			return redis.NewShardedAdapter(d, &redis.ShardedOptions{Logger: log})
		}
	case "streams": // @socket.io/redis-streams-adapter
		factory = func(d redis.Driver) adapter.Factory {
			return redis.NewStreamsAdapter(d, &redis.StreamsOptions{Logger: log})
		}
	default:
		return nil, fmt.Errorf("REDIS_ADAPTER %q is not an adapter: want one of %s (default classic)",
			kind, strings.Join(redisAdapters, ", "))
	}
	shown := redactURL(rawURL)
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %q is not a Redis URL (want redis://host:port, rediss://... or unix://...): %w", shown, err)
	}
	rl := &redisLogger{log: log}
	rl.quiet.Store(true) // the error below says it once, and clearly
	goredis.SetLogger(rl)
	c := goredis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("cannot reach Redis at REDIS_URL %q: %w (is redis-server running there? unset REDIS_URL to run one process alone)", shown, err)
	}
	rl.quiet.Store(false)
	return &clusterSetup{
		adapter: factory(redis.GoRedis(c)),
		close:   c.Close,
		desc:    kind + " Redis adapter at " + shown,
	}, nil
}

// redactURL hides the password of a URL (redis://user:xxxxx@host).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// redisLogger passes go-redis's logs to slog.
type redisLogger struct {
	log   *slog.Logger
	quiet atomic.Bool
}

func (l *redisLogger) Printf(_ context.Context, format string, v ...any) {
	if !l.quiet.Load() {
		l.log.Warn(fmt.Sprintf(format, v...))
	}
}
