package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/parser/msgpack"
	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine survives the tests: a command
// must leave nothing behind when it returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitTimeout = 10 * time.Second

// testServer is our Socket.IO server on an httptest server:
//
//   - "/": "echo" acknowledges with its arguments, "silent" never does,
//     "drop" disconnects the socket without acknowledging, "record" sends
//     its arguments (a JSON array) to received, "whoami" acknowledges with
//     the auth, the X-Token header and the query q;
//   - "/feed" emits feedEvents to every socket that connects;
//   - "/admin" refuses unless auth is {"token":"secret"};
//   - "/kick" disconnects every socket after a "bye" event;
//   - "/flaky" emits "hello" with the number of the connection, and
//     closes the first connection (its Engine.IO session).
type testServer struct {
	url      string
	srv      *socketio.Server
	received chan string
}

// feedEvents are what "/feed" emits on connection, and how sio prints them.
var feedEvents = []struct {
	name string
	args []any
	line string
}{
	{"greeting", []any{"hello <you> & co"}, `["greeting","hello <you> & co"]`},
	{"tick", []any{1}, `["tick",1]`},
	{"empty", nil, `["empty"]`},
	{"tick", []any{2}, `["tick",2]`},
	{"data", []any{map[string]any{"a": []int{1, 2}}, "x", nil}, `["data",{"a":[1,2]},"x",null]`},
	{"bin", []any{[]byte{0, 1, 2, 255}, map[string]any{"nested": []byte("hi")}}, `["bin",{"_binary":"AAEC/w=="},{"nested":{"_binary":"aGk="}}]`},
	{"tick", []any{3}, `["tick",3]`},
}

func startServer(t *testing.T) *testServer { return startServerWith(t, nil) }

func startServerWith(t *testing.T, opts *socketio.ServerOptions) *testServer {
	t.Helper()
	ts := &testServer{srv: socketio.NewServer(opts), received: make(chan string, 16)}
	ts.srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(e *socketio.Event) { _ = e.Ack().Send(e.Args.Values()...) })
		s.On("silent", func(e *socketio.Event) {})
		s.On("drop", func(e *socketio.Event) { s.Disconnect(false) })
		s.On("record", func(e *socketio.Event) {
			parts := make([]string, len(e.Args))
			for i, a := range e.Args {
				parts[i] = string(a.Bytes())
			}
			ts.received <- "[" + strings.Join(parts, ",") + "]"
		})
		s.On("whoami", func(e *socketio.Event) {
			h := s.Handshake()
			_ = e.Ack().Send(map[string]any{
				"auth":   h.Auth,
				"header": strings.Join(http.Header(h.Headers).Values("x-token"), ",") + strings.Join(h.Headers["x-token"], ","),
				"query":  strings.Join(h.Query["q"], ","),
			})
		})
	})
	ts.srv.Of("/feed").OnConnection(func(s *socketio.Socket) {
		for _, ev := range feedEvents {
			_ = s.Emit(ev.name, ev.args...)
		}
	})
	admin := ts.srv.Of("/admin")
	admin.Use(func(s *socketio.Socket) error {
		if s.Handshake().Auth["token"] == "secret" {
			return nil
		}
		return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 401}}
	})
	ts.srv.Of("/kick").OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("bye")
		s.Disconnect(false)
	})
	var flaky atomic.Int32
	ts.srv.Of("/flaky").OnConnection(func(s *socketio.Socket) {
		n := flaky.Add(1)
		_ = s.Emit("hello", n)
		if n == 1 {
			time.AfterFunc(100*time.Millisecond, func() { _ = s.Conn().Close() })
		}
	})
	h := httptest.NewServer(ts.srv)
	ts.url = h.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil && !errors.Is(err, socketio.ErrServerClosed) {
			t.Errorf("Shutdown: %v", err)
		}
		h.Close()
	})
	return ts
}

// syncBuffer is a buffer written by a running command and read by the test.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.written <- struct{}{}:
	default:
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitLines waits until the buffer holds n complete lines.
func (b *syncBuffer) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		s := b.String()
		if strings.Count(s, "\n") >= n {
			return strings.SplitAfterN(s, "\n", n+1)[:n]
		}
		select {
		case <-b.written:
		case <-deadline:
			t.Fatalf("waited for %d lines, got %q", n, s)
		}
	}
}

// sio runs the command line to its end.
func sio(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	t.Logf("sio %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// started is a command running in the background.
type started struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

func start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &started{stdout: newSyncBuffer(), stderr: newSyncBuffer(), cancel: cancel, done: make(chan int, 1)}
	go func() { c.done <- run(ctx, args, c.stdout, c.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.done:
		case <-time.After(waitTimeout):
			t.Errorf("sio %s did not end", strings.Join(args, " "))
		}
	})
	return c
}

// wait waits for the end of the command and returns its exit status.
func (c *started) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-c.done:
		c.done <- code // for the cleanup
		return code
	case <-time.After(waitTimeout):
		t.Fatalf("command did not end; stdout %q, stderr %q", c.stdout.String(), c.stderr.String())
		return -1
	}
}

var transports = []string{"polling", "websocket", ""}

func transportFlags(tr string) []string {
	if tr == "" {
		return nil
	}
	return []string{"--transport", tr}
}

func TestEmitAck(t *testing.T) {
	ts := startServer(t)
	for _, tr := range transports {
		t.Run("transport="+tr, func(t *testing.T) {
			args := append([]string{"emit", ts.url, "echo", "1", "hello", `{"a": [1, 2.50, 1e400]}`, "--ack"}, transportFlags(tr)...)
			args = append(args, `"quoted"`, "true", "null", "12345678901234567890", "two words", "--", "-5", "--ack")
			code, stdout, stderr := sio(t, args...)
			want := `[1,"hello",{"a":[1,2.50,1e400]},"quoted",true,null,12345678901234567890,"two words",-5,"--ack"]` + "\n"
			if code != 0 || stdout != want || stderr != "" {
				t.Fatalf("got %d %q %q, want 0 %q", code, stdout, stderr, want)
			}
		})
	}
}

func TestEmitAckEmpty(t *testing.T) {
	ts := startServer(t)
	code, stdout, _ := sio(t, "emit", "--ack", ts.url, "echo")
	if code != 0 || stdout != "[]\n" {
		t.Fatalf("got %d %q, want 0 %q", code, stdout, "[]\n")
	}
}

func TestEmitAckBinary(t *testing.T) {
	ts := startServer(t)
	code, stdout, _ := sio(t, "emit", ts.url, "echo", `{"_binary":"AAEC/w=="}`, `{"list":[{"_binary":""},{"_binary":1}]}`, "--ack")
	want := `[{"_binary":"AAEC/w=="},{"list":[{"_binary":""},{"_binary":1}]}]` + "\n"
	if code != 0 || stdout != want {
		t.Fatalf("got %d %q, want 0 %q", code, stdout, want)
	}
}

func TestMsgpack(t *testing.T) {
	ts := startServerWith(t, &socketio.ServerOptions{Parser: msgpack.Default})
	code, stdout, _ := sio(t, "emit", ts.url, "echo", "1", "x", `{"_binary":"AAE="}`, `{"k":[true,null]}`, "--ack", "--parser", "msgpack")
	want := `[1,"x",{"_binary":"AAE="},{"k":[true,null]}]` + "\n"
	if code != 0 || stdout != want {
		t.Fatalf("got %d %q, want 0 %q", code, stdout, want)
	}
	code, stdout, _ = sio(t, "listen", ts.url+"/feed", "bin", "--count", "1", "--parser", "msgpack")
	if want := feedEvents[5].line + "\n"; code != 0 || stdout != want {
		t.Fatalf("got %d %q, want 0 %q", code, stdout, want)
	}
}

func TestEmitNoAck(t *testing.T) {
	ts := startServer(t)
	for _, tr := range transports {
		t.Run("transport="+tr, func(t *testing.T) {
			args := append([]string{"emit", ts.url, "record", "1", "hello", `{"a":true}`, "-2.5"}, transportFlags(tr)...)
			code, stdout, stderr := sio(t, args...)
			if code != 0 || stdout != "" || stderr != "" {
				t.Fatalf("got %d %q %q, want 0 and no output", code, stdout, stderr)
			}
			// The command returned only once the event was written: it
			// is there, or on its way through the server's handlers.
			select {
			case got := <-ts.received:
				if want := `[1,"hello",{"a":true},-2.5]`; got != want {
					t.Fatalf("server received %s, want %s", got, want)
				}
			case <-time.After(waitTimeout):
				t.Fatal("the server did not receive the event")
			}
		})
	}
}

func TestEmitAuthHeaderQuery(t *testing.T) {
	ts := startServer(t)
	code, stdout, _ := sio(t, "emit", ts.url+"/?q=42", "whoami", "--ack",
		"--auth", `{"user":"ann"}`, "--header", "X-Token: abc")
	want := `[{"auth":{"user":"ann"},"header":"abc","query":"42"}]` + "\n"
	if code != 0 || stdout != want {
		t.Fatalf("got %d %q, want 0 %q", code, stdout, want)
	}
}

func TestEmitAckTimeout(t *testing.T) {
	ts := startServer(t)
	begin := time.Now()
	code, stdout, stderr := sio(t, "emit", ts.url, "silent", "--ack", "--timeout", "300ms")
	if code != 1 || stdout != "" || !strings.Contains(stderr, `no acknowledgement of "silent" within 300ms`) {
		t.Fatalf("got %d %q %q, want 1 and an acknowledgement timeout", code, stdout, stderr)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestEmitAckDisconnected(t *testing.T) {
	ts := startServer(t)
	code, stdout, stderr := sio(t, "emit", ts.url, "drop", "--ack")
	if code != 1 || stdout != "" || !strings.Contains(stderr, `no acknowledgement of "drop": disconnected: io server disconnect`) {
		t.Fatalf("got %d %q %q, want 1 and the disconnection", code, stdout, stderr)
	}
}

func TestListenCount(t *testing.T) {
	ts := startServer(t)
	for _, tr := range transports {
		t.Run("transport="+tr, func(t *testing.T) {
			args := append([]string{"listen", ts.url, "--namespace", "feed", "--count", "6"}, transportFlags(tr)...)
			code, stdout, stderr := sio(t, args...)
			var want string
			for _, ev := range feedEvents[:6] {
				want += ev.line + "\n"
			}
			if code != 0 || stdout != want || stderr != "" {
				t.Fatalf("got %d\n%s%q\nwant 0\n%s", code, stdout, stderr, want)
			}
		})
	}
}

func TestListenFilter(t *testing.T) {
	ts := startServer(t)
	code, stdout, _ := sio(t, "listen", ts.url+"/feed", "tick", "bin", "--count", "3")
	want := `["tick",1]` + "\n" + `["tick",2]` + "\n" + feedEvents[5].line + "\n"
	if code != 0 || stdout != want {
		t.Fatalf("got %d\n%s\nwant 0\n%s", code, stdout, want)
	}
}

func TestListenUntilInterrupted(t *testing.T) {
	ts := startServer(t)
	c := start(t, "listen", ts.url+"/feed", "tick")
	lines := c.stdout.waitLines(t, 3)
	if got := strings.Join(lines, ""); got != "[\"tick\",1]\n[\"tick\",2]\n[\"tick\",3]\n" {
		t.Fatalf("got %q", got)
	}
	c.cancel()
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, c.stderr.String())
	}
}

func TestListenServerDisconnect(t *testing.T) {
	ts := startServer(t)
	code, stdout, stderr := sio(t, "listen", ts.url+"/kick")
	if code != 1 || stdout != "[\"bye\"]\n" || !strings.Contains(stderr, "disconnected: io server disconnect") {
		t.Fatalf("got %d %q %q, want 1, the bye event and the disconnection", code, stdout, stderr)
	}
}

func TestListenLost(t *testing.T) {
	ts := startServer(t)
	code, stdout, stderr := sio(t, "listen", ts.url+"/flaky")
	if code != 1 || stdout != "[\"hello\",1]\n" || !strings.Contains(stderr, "disconnected: transport close") {
		t.Fatalf("got %d %q %q, want 1, hello and the lost connection", code, stdout, stderr)
	}
}

func TestListenReconnect(t *testing.T) {
	ts := startServer(t)
	code, stdout, stderr := sio(t, "listen", ts.url+"/flaky", "--reconnect", "--count", "2")
	if code != 0 || stdout != "[\"hello\",1]\n[\"hello\",2]\n" ||
		!strings.Contains(stderr, "disconnected (transport close), reconnecting") || !strings.Contains(stderr, "reconnected, socket id ") {
		t.Fatalf("got %d %q %q, want 0, two hellos and the reconnection", code, stdout, stderr)
	}
}

func TestConnectPrintsID(t *testing.T) {
	ts := startServer(t)
	for _, tr := range transports {
		t.Run("transport="+tr, func(t *testing.T) {
			c := start(t, append([]string{"connect", ts.url}, transportFlags(tr)...)...)
			id := strings.TrimSuffix(c.stdout.waitLines(t, 1)[0], "\n")
			s, ok := ts.srv.Of("/").Socket(id)
			if !ok {
				t.Fatalf("printed %q, not the id of a socket of the server", id)
			}
			gone := make(chan string, 1)
			s.OnDisconnect(func(reason string) { gone <- reason })
			c.cancel()
			if code := c.wait(t); code != 0 || c.stderr.String() != "" {
				t.Fatalf("exit %d, stderr %q", code, c.stderr.String())
			}
			select {
			case reason := <-gone:
				if reason != "client namespace disconnect" {
					t.Errorf("server saw the socket leave with %q, want client namespace disconnect", reason)
				}
			case <-time.After(waitTimeout):
				t.Fatal("the server did not see the socket leave")
			}
		})
	}
}

func TestConnectAuth(t *testing.T) {
	ts := startServer(t)
	c := start(t, "connect", ts.url, "--namespace", "/admin", "--auth", `{"token":"secret"}`)
	id := strings.TrimSuffix(c.stdout.waitLines(t, 1)[0], "\n")
	if _, ok := ts.srv.Of("/admin").Socket(id); !ok {
		t.Fatalf("printed %q, not the id of a socket of /admin", id)
	}
}

func TestConnectError(t *testing.T) {
	ts := startServer(t)
	code, stdout, stderr := sio(t, "connect", ts.url+"/admin", "--auth", `{"token":"wrong"}`)
	want := `refused by the server: not authorized (data: {"code":401})`
	if code != 1 || stdout != "" || !strings.Contains(stderr, want) {
		t.Fatalf("got %d %q %q, want 1 and %q", code, stdout, stderr, want)
	}
	code, _, stderr = sio(t, "emit", ts.url, "echo", "--namespace", "/nowhere", "--ack")
	if code != 1 || !strings.Contains(stderr, "refused by the server: Invalid namespace") {
		t.Fatalf("got %d %q, want 1 and Invalid namespace", code, stderr)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	for _, cmd := range [][]string{{"connect"}, {"emit", "--ack"}, {"listen"}} {
		for _, tr := range transports {
			args := append(append(cmd[:1:1], "http://"+addr), cmd[1:]...)
			if cmd[0] == "emit" {
				args = append(args, "ev")
			}
			begin := time.Now()
			code, stdout, stderr := sio(t, append(args, transportFlags(tr)...)...)
			if code != 1 || stdout != "" || !strings.Contains(stderr, "cannot connect to http://"+addr+": dial tcp "+addr+": connect: connection refused") {
				t.Fatalf("got %d %q %q, want 1 and cannot connect", code, stdout, stderr)
			}
			if d := time.Since(begin); d > 3*time.Second {
				t.Fatalf("took %v to report an unreachable server", d)
			}
		}
	}
}

func TestWrongPath(t *testing.T) {
	ts := startServer(t)
	code, _, stderr := sio(t, "connect", ts.url, "--path", "/wrong/")
	if code != 1 || !strings.Contains(stderr, "cannot connect to "+ts.url+": engineio: polling handshake refused: HTTP 404") || !strings.Contains(stderr, "is --path /wrong/ right?") {
		t.Fatalf("got %d %q, want 1 and the HTTP status", code, stderr)
	}
}

func TestConnectTimeout(t *testing.T) {
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		var conns []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					_ = c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	})
	defer wg.Wait()
	defer l.Close()
	code, _, stderr := sio(t, "connect", "http://"+l.Addr().String(), "--timeout", "300ms")
	if code != 1 || !strings.Contains(stderr, "timed out after 300ms") {
		t.Fatalf("got %d %q, want 1 and a timeout", code, stderr)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"emit"},
		{"emit", "http://localhost:1"},
		{"emit", "http://localhost:1", "connect"},
		{"emit", "http://localhost:1", "ev", "--bogus"},
		{"emit", "http://localhost:1", "ev", "--timeout"},
		{"emit", "http://localhost:1", "ev", "--timeout", "soon"},
		{"emit", "http://localhost:1", "ev", `{"_binary":"not base64!"}`},
		{"listen", "http://localhost:1", "--count", "-1"},
		{"emit", "http://localhost:1", "ev", "--linger", "-1s"},
		{"emit", "http://localhost:1", "ev", "--parser", "xml"},
		{"listen", "http://localhost:1", "--ack"},
		{"connect", "http://localhost:1", "extra"},
		{"connect", "http://localhost:1", "--transport", "carrier-pigeon"},
		{"connect", "http://localhost:1", "--auth", "[1]"},
		{"connect", "ftp://localhost:1"},
		{"connect", "http://localhost:1", "--header", "no colon"},
	} {
		code, stdout, stderr := sio(t, args...)
		if code != 2 || stdout != "" || stderr == "" {
			t.Errorf("sio %q: got %d %q %q, want 2 and a message", args, code, stdout, stderr)
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"emit", "-h"}} {
		code, stdout, _ := sio(t, args...)
		if code != 0 || !strings.Contains(stdout, "Usage:") {
			t.Errorf("sio %q: got %d %q, want 0 and the usage", args, code, stdout)
		}
	}
}
