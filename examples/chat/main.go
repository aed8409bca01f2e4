// Command chat is the chat app of the socket.io tutorial
// (https://socket.io/docs/v4/tutorial/), every step, with a Go server and
// the official browser client. See README.md for the walkthrough.
//
//	make chat                                   # from the repository root
//	go run . -addr localhost:3000 -db chat.db   # in examples/chat
//
// Step 9: with REDIS_URL, several processes share their broadcasts
// through a Redis adapter (REDIS_ADAPTER: classic, sharded or streams).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-sio/socketio/adapter"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// errUsage is a command line the flag package has already complained of.
var errUsage = errors.New("usage")

// run is the command: flags (and their environment variables), then the
// server until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("chat", flag.ContinueOnError)
	fset.SetOutput(stderr)
	addr := fset.String("addr", envOr(getenv, "ADDR", "localhost:3000"), "`host:port` to listen on (env ADDR)")
	dbPath := fset.String("db", envOr(getenv, "DB", "chat.db"), "SQLite `file` of the messages, created on first start (env DB)")
	clientDir := fset.String("client", getenv("CLIENT_DIR"), "`directory` of the socket.io-client bundles (env CLIENT_DIR; default: node_modules/socket.io-client/dist\n"+
		"in the working directory or in examples/chat, as installed by `make chat`)")
	redisURL := fset.String("redis", getenv("REDIS_URL"), "`URL` of the Redis server that several chat processes share (env REDIS_URL; step 9; default: none, one process alone)")
	redisKind := fset.String("redis-adapter", getenv("REDIS_ADAPTER"), "the Redis `adapter`: classic, sharded or streams (env REDIS_ADAPTER; default classic)")
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "chat: unexpected argument %q\n", fset.Arg(0))
		fset.Usage()
		return errUsage
	}
	bundle, err := findClientFiles(*clientDir)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var (
		adp     adapter.Factory // nil: in memory, one process
		cluster = ""
	)
	if *redisURL != "" {
		c, err := connectRedis(ctx, *redisURL, *redisKind, log)
		if err != nil {
			return err
		}
		defer c.close()
		adp, cluster = c.adapter, "; "+c.desc
	} else if *redisKind != "" {
		return fmt.Errorf("REDIS_ADAPTER is %q but REDIS_URL is not set: give the Redis server too, or unset REDIS_ADAPTER", *redisKind)
	}
	srv, err := start(ctx, *addr, *dbPath, bundle, adp, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chat: listening on %s (messages in %s%s)\n", srv.URL(), *dbPath, cluster)
	select {
	case <-ctx.Done():
	case err = <-srv.failed:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cerr := srv.Close(shutdownCtx); err == nil {
		err = cerr
	}
	return err
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// findClientFiles returns the directory of socket.io-client's dist
// bundles: dir when given, else where `make chat` installs them.
func findClientFiles(dir string) (fs.FS, error) {
	candidates := []string{dir}
	if dir == "" {
		candidates = []string{
			filepath.Join("node_modules", "socket.io-client", "dist"),
			filepath.Join("examples", "chat", "node_modules", "socket.io-client", "dist"),
		}
	}
	for _, d := range candidates {
		if _, err := os.Stat(filepath.Join(d, "socket.io.min.js")); err == nil {
			return os.DirFS(d), nil
		}
	}
	return nil, fmt.Errorf("the socket.io-client browser bundle is missing (no socket.io.min.js in %q): "+
		"run `make chat` from the repository root, or `npm ci` in examples/chat", candidates)
}

// server is the chat app listening on its address.
type server struct {
	app    *app
	store  *store
	http   *http.Server
	ln     net.Listener
	host   string
	failed chan error // Serve's error, when it stops by itself
}

// start opens the database and listens on addr. adp is the adapter that
// shares broadcasts with other processes (step 9); nil is the in-memory
// one, a process alone.
func start(ctx context.Context, addr, dbPath string, clientFiles fs.FS, adp adapter.Factory, log *slog.Logger) (*server, error) {
	st, err := openStore(ctx, dbPath)
	if err != nil {
		return nil, fmt.Errorf("%w (set another file with -db or DB)", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = st.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s, the port is taken (is another server running? choose another address with -addr or ADDR): %w", addr, err)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	a := newApp(st, clientFiles, adp, log)
	s := &server{
		app:   a,
		store: st,
		ln:    ln,
		host:  host,
		http: &http.Server{
			Handler:           a.handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		failed: make(chan error, 1),
	}
	go func() {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.failed <- err
		}
	}()
	return s, nil
}

// URL is the address of the page.
func (s *server) URL() string {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	host := s.host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Close disconnects the clients, stops listening and closes the database.
func (s *server) Close(ctx context.Context) error {
	err := s.app.Shutdown(ctx) // WebSockets and pending polls first: http.Server does not track them
	if herr := s.http.Shutdown(ctx); err == nil {
		err = herr
	}
	if serr := s.store.Close(); err == nil {
		err = serr
	}
	return err
}
