package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
)

// The tests need the example's npm package (the client bundle the server
// serves) and, for TestBrowser, Debian's chromium and playwright-core. A
// missing one fails the test, never skips it, and names the make target
// that installs it.
const (
	chatDepsHint    = "run `make chat-deps` (npm ci in examples/chat) to install the socket.io-client bundle"
	browserDepsHint = "run `make browser-deps` (as root: installs Debian's chromium, and playwright-core with npm ci in examples/chat/e2e)"
	chromiumPath    = "/usr/bin/chromium"
)

// TestMain runs main itself when CHAT_TEST_MAIN is set (TestCommand execs
// the test binary that way), the tests otherwise, failing on goroutines
// left behind.
func TestMain(m *testing.M) {
	if os.Getenv("CHAT_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func clientFiles(t testing.TB) fs.FS {
	t.Helper()
	dir := filepath.Join("node_modules", "socket.io-client", "dist")
	if _, err := os.Stat(filepath.Join(dir, "socket.io.min.js")); err != nil {
		t.Fatalf("the socket.io-client bundle is missing (%v): %s", err, chatDepsHint)
	}
	return os.DirFS(dir)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string { return freeAddr(t) }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startServer starts the chat on addr with the database at db; it is
// stopped at the end of the test unless stopped before.
func startServer(t testing.TB, addr, db string) *server {
	t.Helper()
	srv, err := start(context.Background(), addr, db, clientFiles(t), nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopServer(t, srv) })
	return srv
}

var stopped sync.Map // *server -> struct{}

func stopServer(t testing.TB, srv *server) {
	t.Helper()
	if _, done := stopped.LoadOrStore(srv, struct{}{}); done {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Errorf("stop server: %v", err)
	}
}

func storedMessages(t testing.TB, db string) []message {
	t.Helper()
	st, err := openStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	msgs, err := st.since(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// received collects the "chat message" events of a Go client.
type received struct {
	mu   sync.Mutex
	msgs []message
	ch   chan struct{}
}

func listen(s *client.Socket) *received {
	r := &received{ch: make(chan struct{}, 100)}
	s.On("chat message", socketio.Func2(func(msg string, id int64, _ socketio.Ack) {
		r.mu.Lock()
		r.msgs = append(r.msgs, message{ID: id, Content: msg})
		r.mu.Unlock()
		r.ch <- struct{}{}
	}))
	return r
}

// wait returns the messages once there are n of them, and checks that no
// more arrive for a moment.
func (r *received) wait(t testing.TB, n int) []message {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.msgs)
		r.mu.Unlock()
		if got >= n {
			break
		}
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("got %d chat messages, want %d", got, n)
		}
	}
	time.Sleep(200 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) != n {
		t.Fatalf("got %d chat messages, want %d: %v", len(r.msgs), n, r.msgs)
	}
	return slices.Clone(r.msgs)
}

// connect connects a Go client to the chat, listening to its "chat
// message" events from the start (the history comes with the connection).
func connect(t testing.TB, url string, auth map[string]any) (*client.Socket, *received) {
	t.Helper()
	no := false
	s, err := client.Connect(url, &client.Options{
		ForceNew:       true,
		ManagerOptions: client.ManagerOptions{Reconnection: &no, AutoConnect: &no},
		SocketOptions:  client.SocketOptions{Auth: auth},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Manager().Close() })
	r := listen(s)
	s.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return s, r
}

// TestDelivery checks steps 5, 7 and 8 with the Go client: a message is
// broadcast with its id, a retried one (same clientOffset) is acknowledged
// and neither stored nor broadcast again, and a client connecting with a
// server offset gets what it missed, and only that.
func TestDelivery(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chat.db")
	srv := startServer(t, freeAddr(t), db)
	url := srv.URL()

	_, seen := connect(t, url, map[string]any{"serverOffset": 0})
	bob, _ := connect(t, url, map[string]any{"serverOffset": 0})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, try := range []string{"first", "retry"} {
		if _, err := bob.EmitWithAck(ctx, "chat message", "hello", "bob-0"); err != nil {
			t.Fatalf("%s: %v", try, err)
		}
	}
	if _, err := bob.EmitWithAck(ctx, "chat message", "world", "bob-1"); err != nil {
		t.Fatal(err)
	}
	// A client of the tutorial's earlier steps sends no clientOffset.
	if _, err := bob.EmitWithAck(ctx, "chat message", "no offset"); err != nil {
		t.Fatal(err)
	}
	// Not a message: acknowledged with an error, not stored.
	if res, err := bob.EmitWithAck(ctx, "chat message", 42, "bob-2"); err != nil || len(res) != 1 {
		t.Fatalf("bad message: %v %v", res, err)
	}
	want := []message{{1, "hello"}, {2, "world"}, {3, "no offset"}}
	if got := seen.wait(t, 3); !slices.Equal(got, want) {
		t.Fatalf("broadcast %v, want %v", got, want)
	}
	if got := storedMessages(t, db); !slices.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}

	// Step 7: history from the offset given in auth.
	for _, tc := range []struct {
		offset any
		want   []message
	}{
		{nil, want},
		{0, want},
		{1, want[1:]},
		{"2", want[2:]},
		{3, nil},
	} {
		auth := map[string]any{}
		if tc.offset != nil {
			auth["serverOffset"] = tc.offset
		}
		late, r := connect(t, url, auth)
		if got := r.wait(t, len(tc.want)); !slices.Equal(got, tc.want) {
			t.Fatalf("offset %v: history %v, want %v", tc.offset, got, tc.want)
		}
		_ = late.Manager().Close()
	}
}

// TestCommand runs the command (this test binary running main): its
// failures are clear and exit with status 1, and the page and the bundle
// are served.
func TestCommand(t *testing.T) {
	clientFiles(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"port taken", []string{"-addr", taken.Addr().String(), "-db", filepath.Join(dir, "a.db")}, nil, "the port is taken"},
		{"port taken (ADDR)", []string{"-db", filepath.Join(dir, "a.db")}, []string{"ADDR=" + taken.Addr().String()}, "the port is taken"},
		{"no database directory", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "missing", "chat.db")}, nil, "open database"},
		{"database is a directory (DB)", []string{"-addr", "127.0.0.1:0"}, []string{"DB=" + dir}, "it is a directory"},
		{"database name with ?", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "a?.db")}, nil, "a file name with '?' is not supported"},
		{"REDIS_URL not a URL", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "a.db")}, []string{"REDIS_URL=http://127.0.0.1:6379"}, "is not a Redis URL"},
		{"REDIS_URL nobody there", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "a.db")}, []string{"REDIS_URL=redis://" + closedAddr(t)}, "cannot reach Redis at REDIS_URL"},
		{"REDIS_URL password hidden", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "a.db")}, []string{"REDIS_URL=redis://u:secret@" + closedAddr(t)}, "redis://u:xxxxx@"},
		{"REDIS_ADAPTER unknown", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "a.db")}, []string{"REDIS_URL=redis://" + closedAddr(t), "REDIS_ADAPTER=cluster"}, `REDIS_ADAPTER "cluster" is not an adapter`},
		{"REDIS_ADAPTER without REDIS_URL", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "a.db")}, []string{"REDIS_ADAPTER=sharded"}, "REDIS_URL is not set"},
		{"no bundle", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "a.db"), "-client", dir}, nil, "run `make chat`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], tc.args...)
			cmd.Env = append(os.Environ(), append([]string{"CHAT_TEST_MAIN=1", "ADDR=", "DB=", "REDIS_URL=", "REDIS_ADAPTER="}, tc.env...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; stderr: %s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tc.want)
			}
		})
	}

	t.Run("serves", func(t *testing.T) {
		addr := freeAddr(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0])
		cmd.Env = append(os.Environ(), "CHAT_TEST_MAIN=1", "ADDR="+addr, "DB="+filepath.Join(dir, "env.db"), "REDIS_URL=", "REDIS_ADAPTER=")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || !strings.Contains(line, "http://"+addr) {
			t.Fatalf("first line %q (%v), want the URL http://%s", line, err, addr)
		}
		for path, want := range map[string]string{"/": `<ul id="messages">`, "/socket.io/socket.io.min.js": "Socket.IO v4.8.1"} {
			body := httpGet(t, "http://"+addr+path)
			if !strings.Contains(body, want) {
				t.Errorf("%s does not contain %q", path, want)
			}
		}
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("after SIGINT: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "env.db")); err != nil {
			t.Fatalf("database not created: %v", err)
		}
	})
}

func httpGet(t testing.TB, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, res.Status, err)
	}
	return string(body)
}

// browserDeps fails t unless chromium, node and playwright-core are
// there, and returns the path of node.
func browserDeps(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is missing (%v): %s", err, browserDepsHint)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is missing: install Node.js 20 or newer, then %s", browserDepsHint)
	}
	if _, err := os.Stat(filepath.Join("e2e", "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is missing (%v): %s", err, browserDepsHint)
	}
	return node
}

// TestBrowser is the tutorial's final app in Debian's chromium, two pages
// chatting (e2e/browser.mjs): messages appear once on both; the toggle
// button drops a page and what was sent meanwhile arrives once; a dropped
// transport is recovered; a reload shows the history; a server restart
// loses nothing. It saves a screenshot to docs/chat.png.
func TestBrowser(t *testing.T) {
	files := clientFiles(t)
	node := browserDeps(t)

	db := filepath.Join(t.TempDir(), "chat.db")
	addr := freeAddr(t)
	srv, err := start(context.Background(), addr, db, files, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stopServer(t, srv) }()

	shot := filepath.Join(t.TempDir(), "chat.png")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "browser.mjs", srv.URL(), shot)
	cmd.Dir = "e2e"
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // Playwright closes the browser on SIGTERM
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var done []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var ev struct {
			Event    string   `json:"event"`
			Name     string   `json:"name"`
			Error    string   `json:"error"`
			Messages []string `json:"messages"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Errorf("browser.mjs printed %q", sc.Text())
			continue
		}
		switch ev.Event {
		case "step":
			t.Logf("step: %s", ev.Name)
		case "log":
			t.Logf("page: %s", sc.Text())
		case "stop-server":
			stopServer(t, srv)
			_, _ = io.WriteString(stdin, "stopped\n")
		case "start-server":
			if srv, err = start(context.Background(), addr, db, files, nil, testLogger(t)); err != nil {
				t.Fatalf("restart: %v", err)
			}
			_, _ = io.WriteString(stdin, "started\n")
		case "done":
			done = ev.Messages
		case "fail":
			t.Errorf("browser: %s", ev.Error)
		}
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("browser.mjs: %v", err)
	}
	if t.Failed() || done == nil {
		t.Fatalf("the browser test did not finish; stderr:\n%s", stderr.String())
	}

	// What the pages showed is what the database holds: every message
	// once, in order.
	stopServer(t, srv)
	var stored []string
	for _, m := range storedMessages(t, db) {
		stored = append(stored, m.Content)
	}
	if !slices.Equal(stored, done) {
		t.Fatalf("database holds %q, the pages showed %q", stored, done)
	}

	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %v", err)
	}
	docs := filepath.Join("..", "..", "docs", "chat.png")
	if old, err := os.ReadFile(docs); err != nil || !bytes.Equal(old, png) {
		if err := os.WriteFile(docs, png, 0o644); err != nil {
			t.Fatalf("save the screenshot: %v", err)
		}
		t.Logf("screenshot saved to docs/chat.png (%d bytes)", len(png))
	}
}
