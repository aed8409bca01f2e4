// Command siobench is the benchmark server: a Socket.IO server on the
// namespace "/" at /socket.io/, default options, both transports, with the
// events the load generators drive. The contract is small on purpose: a
// Node.js server implementing it can be measured by the same generators.
//
//	echo (any args) with ack   acknowledges with the same arguments
//	join (room) with ack       joins room, then acknowledges with no argument
//	bcast (room, payload)      io.To(room).Emit("msg", payload)
//	bcastall (payload)         io.Emit("msg", payload)
//
// Payloads and echo's arguments are relayed without being decoded (parser.Raw: the same bytes
// go back out). With -redis, a Redis adapter spreads the server over
// several processes, so the same contract runs across nodes.
//
//	go build -o /tmp/siobench ./bench/server   # from the repository root
//	/tmp/siobench -addr 127.0.0.1:3000 [-redis redis://127.0.0.1:6379 -redis-mode classic] [-pprof 127.0.0.1:6060]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // on http.DefaultServeMux, served only with -pprof
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/adapter/redis"
	"github.com/go-sio/socketio/bench/internal/cli"
)

func main() { cli.Main("siobench", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("siobench", flag.ContinueOnError)
	fset.SetOutput(stderr)
	addr := fset.String("addr", "127.0.0.1:3000", "`host:port` to listen on")
	redisURL := fset.String("redis", "", "`URL` of a Redis server shared by the nodes (redis://host:port); none: one node")
	mode := fset.String("redis-mode", "classic", "Redis adapter: classic, sharded or streams")
	pprofAddr := fset.String("pprof", "", "`host:port` to serve net/http/pprof on; none: off")
	if err := cli.Parse(fset, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	var adp adapter.Factory
	desc := "in-memory adapter"
	if *redisURL != "" {
		f, closeRedis, err := connectRedis(ctx, *redisURL, *mode, log)
		if err != nil {
			return err
		}
		defer closeRedis()
		adp, desc = f, *mode+" Redis adapter at "+*redisURL
	}
	sio := newServer(adp, log)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(sio.Path(), sio)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if *pprofAddr != "" {
		pln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		psrv := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
		defer psrv.Close()
		go func() { _ = psrv.Serve(pln) }()
	}
	fmt.Fprintf(stdout, "siobench: listening on http://%s (%s)\n", ln.Addr(), desc)
	return cli.Serve(ctx, srv, ln, func(ctx context.Context) { _ = sio.Shutdown(ctx) })
}

// newServer is the benchmark contract on "/".
func newServer(adp adapter.Factory, log *slog.Logger) *socketio.Server {
	io := socketio.NewServer(&socketio.ServerOptions{Adapter: adp, Logger: log})
	io.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(e *socketio.Event) {
			_ = e.Ack().Send(e.Args.Values()...)
		})
		s.On("join", func(e *socketio.Event) {
			var room string
			if err := e.Bind(&room); err != nil {
				_ = e.Ack().Send(map[string]string{"error": err.Error()})
				return
			}
			s.Join(room)
			_ = e.Ack().Send()
		})
		s.On("bcast", func(e *socketio.Event) {
			var room string
			if len(e.Args) < 2 || e.Args[0].Decode(&room) != nil {
				return
			}
			_ = io.To(room).Emit("msg", e.Args[1])
		})
		s.On("bcastall", func(e *socketio.Event) {
			if len(e.Args) < 1 {
				return
			}
			_ = io.Emit("msg", e.Args[0])
		})
	})
	return io
}

// connectRedis returns the adapter named mode over the Redis server at
// rawURL, once that server has answered a PING.
func connectRedis(ctx context.Context, rawURL, mode string, log *slog.Logger) (adapter.Factory, func() error, error) {
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("-redis %q: %w", rawURL, err)
	}
	c := goredis.NewClient(opts)
	var f adapter.Factory
	switch d := redis.GoRedis(c); mode {
	case "classic":
		f = redis.NewAdapter(d, &redis.Options{Logger: log})
	case "sharded":
		f = redis.NewShardedAdapter(d, &redis.ShardedOptions{Logger: log})
	case "streams":
		f = redis.NewStreamsAdapter(d, &redis.StreamsOptions{Logger: log})
	default:
		_ = c.Close()
		return nil, nil, fmt.Errorf("-redis-mode %q: want classic, sharded or streams", mode)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("cannot reach Redis at %s: %w", rawURL, err)
	}
	return f, c.Close, nil
}
