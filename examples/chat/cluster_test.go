package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sio/socketio/client"
)

// redisHint is what installs the Redis server the step 9 test starts.
const redisHint = "run `make redis` (as root: apt-get install redis-server) to install it"

// startRedis starts a redis-server of Debian on a free loopback port, with
// no persistence, for the test; it is killed when the test ends. It
// returns its redis:// URL.
func startRedis(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is missing (%v): %s", err, redisHint)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "no", "--loglevel", "warning")
	var log lockedBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := redisPing(addr)
		if err == nil {
			return "redis://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s is not ready: %v\n%s", addr, err, log.String())
		}
	}
}

// redisPing sends PING and expects +PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startProcess runs the chat command (this test binary running main) on
// a free port with env, and returns its URL once it listens. It is
// stopped with SIGINT when the test ends, and must exit cleanly.
func startProcess(t testing.TB, env ...string) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append([]string{"CHAT_TEST_MAIN=1", "ADDR=" + addr, "CLIENT_DIR=", "REDIS_ADAPTER="}, env...)...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	stop := func() error {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			return err
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("still running 10 s after SIGINT: %v", <-exited)
		}
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("chat on %s: %v; stderr:\n%s", addr, err, stderr.String())
		} else if s := stderr.String(); s != "" {
			t.Logf("chat on %s, stderr:\n%s", addr, s)
		}
	})
	select {
	case l := <-line:
		if !strings.Contains(l, "http://"+addr) {
			t.Fatalf("chat on %s printed %q, want its URL; stderr:\n%s", addr, l, stderr.String())
		}
		t.Logf("%s", strings.TrimSpace(l))
	case <-time.After(15 * time.Second):
		t.Fatalf("chat on %s did not start; stderr:\n%s", addr, stderr.String())
	}
	return "http://" + addr
}

// TestCluster is step 9: two chat processes on different ports share a
// Redis server (each adapter in turn) and, as the tutorial's workers
// share chat.db, one database file. A message sent through either
// process reaches the clients of both, once, with the id the database
// gave it; a client connecting later to either gets the whole history.
func TestCluster(t *testing.T) {
	clientFiles(t)
	redisURL := startRedis(t)
	for _, kind := range redisAdapters {
		t.Run(kind, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "chat.db")
			env := []string{"REDIS_URL=" + redisURL, "REDIS_ADAPTER=" + kind, "DB=" + db}
			urlA, urlB := startProcess(t, env...), startProcess(t, env...)

			alice, onA := connect(t, urlA, map[string]any{"serverOffset": 0})
			bob, onB := connect(t, urlB, map[string]any{"serverOffset": 0})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// The CONNECT answer comes before the connection handler
			// runs (as in Node), and the history a process sends there is
			// ordered with its own broadcasts only (app.mu): a message
			// stored through A while B's handler reads the history would
			// reach bob twice, the race README.md describes. So wait for
			// both handlers first: a message that is not a string is
			// acknowledged, not stored, and only after the handler (a
			// socket's events are handled one at a time, the connection
			// first).
			for _, s := range []*client.Socket{alice, bob} {
				if res, err := s.EmitWithAck(ctx, "chat message", 0); err != nil || len(res) != 1 {
					t.Fatalf("barrier: %v %v", res, err)
				}
			}
			var want []message
			for i, from := range []struct {
				name string
				s    *client.Socket
			}{{"alice on A", alice}, {"bob on B", bob}, {"alice on A", alice}} {
				text := fmt.Sprintf("%s, message %d", from.name, i)
				if _, err := from.s.EmitWithAck(ctx, "chat message", text, kind+"-"+strconv.Itoa(i)); err != nil {
					t.Fatalf("%s: %v", text, err)
				}
				want = append(want, message{ID: int64(len(want) + 1), Content: text})
			}
			for name, r := range map[string]*received{"client of A": onA, "client of B": onB} {
				if got := r.wait(t, len(want)); !slices.Equal(got, want) {
					t.Errorf("%s got %v, want %v", name, got, want)
				}
			}
			// Step 7 across processes: the history is in the shared file.
			for _, url := range []string{urlA, urlB} {
				late, r := connect(t, url, map[string]any{"serverOffset": 1})
				if got := r.wait(t, len(want)-1); !slices.Equal(got, want[1:]) {
					t.Errorf("history from %s: %v, want %v", url, got, want[1:])
				}
				_ = late.Manager().Close()
			}
		})
	}
}

// TestBrowserCluster is step 9 in Debian's chromium (e2e/cluster.mjs): a
// page on each of two processes (classic adapter, one database); messages
// typed in either page appear in both, once, in order, and a reloaded
// page gets the history. The database holds what the pages show.
func TestBrowserCluster(t *testing.T) {
	clientFiles(t)
	node := browserDeps(t)
	redisURL := startRedis(t)
	db := filepath.Join(t.TempDir(), "chat.db")
	env := []string{"REDIS_URL=" + redisURL, "REDIS_ADAPTER=classic", "DB=" + db}
	urlA, urlB := startProcess(t, env...), startProcess(t, env...)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "cluster.mjs", urlA, urlB)
	cmd.Dir = "e2e"
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // Playwright closes the browser on SIGTERM
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var done []string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var ev struct {
			Event    string   `json:"event"`
			Name     string   `json:"name"`
			Error    string   `json:"error"`
			Messages []string `json:"messages"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Errorf("cluster.mjs printed %q", sc.Text())
			continue
		}
		switch ev.Event {
		case "step":
			t.Logf("step: %s", ev.Name)
		case "log":
			t.Logf("page: %s", sc.Text())
		case "done":
			done = ev.Messages
		case "fail":
			t.Errorf("browser: %s", ev.Error)
		}
	}
	if runErr != nil || done == nil {
		t.Fatalf("cluster.mjs: %v; stderr:\n%s", runErr, stderr.String())
	}
	var stored []string
	for _, m := range storedMessages(t, db) {
		stored = append(stored, m.Content)
	}
	if !slices.Equal(stored, done) {
		t.Fatalf("database holds %q, the pages showed %q", stored, done)
	}
}
