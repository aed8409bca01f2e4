package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeServer is e2e/node/sio-server/server.mjs, the npm socket.io server of
// the interop tests, run as a child process.
type nodeServer struct {
	url   string
	lines chan map[string]any // what the server prints after "listening"
}

func startNodeServer(t *testing.T) *nodeServer {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "e2e", "node", "sio-server", "server.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("no Node.js server script: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "..", "node_modules", "socket.io")); err != nil {
		t.Fatalf("socket.io is not installed: run make e2e-deps (%v)", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the tests need Node.js 20 (see README)")
	}
	cmd := exec.Command(node, script, "0", `{"lifetimeMs":60000}`)
	cmd.Stderr = os.Stderr
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
	ns := &nodeServer{lines: make(chan map[string]any, 100)}
	port := make(chan int, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			if m["event"] == "listening" {
				port <- int(m["port"].(float64))
				continue
			}
			select {
			case ns.lines <- m:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the server stops when its stdin closes
		select {
		case <-readDone:
		case <-time.After(waitTimeout):
			_ = cmd.Process.Kill()
			<-readDone
		}
		_ = cmd.Wait()
	})
	select {
	case p := <-port:
		ns.url = fmt.Sprintf("http://127.0.0.1:%d", p)
	case <-readDone:
		t.Fatal("the Node.js server ended before listening")
	case <-time.After(waitTimeout):
		t.Fatal("the Node.js server did not start")
	}
	return ns
}

// waitFor returns the first line the server prints with event and fields.
func (ns *nodeServer) waitFor(t *testing.T, event string, fields map[string]any) map[string]any {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case m := <-ns.lines:
			if m["event"] != event {
				continue
			}
			match := true
			for k, v := range fields {
				if fmt.Sprint(m[k]) != fmt.Sprint(v) {
					match = false
				}
			}
			if match {
				return m
			}
		case <-deadline:
			t.Fatalf("the Node.js server did not print %s %v", event, fields)
			return nil
		}
	}
}

// TestNodeServer runs the commands against the npm socket.io server.
func TestNodeServer(t *testing.T) {
	ns := startNodeServer(t)

	for _, tr := range transports {
		t.Run("echo/transport="+tr, func(t *testing.T) {
			code, stdout, _ := sio(t, append([]string{"emit", ns.url, "echo", "1", "hello", `{"a":[1,2]}`, `{"_binary":"AAEC/w=="}`, "--ack"}, transportFlags(tr)...)...)
			want := `[1,"hello",{"a":[1,2]},{"_binary":"AAEC/w=="}]` + "\n"
			if code != 0 || stdout != want {
				t.Fatalf("got %d %q, want 0 %q", code, stdout, want)
			}
		})
		t.Run("no-ack/transport="+tr, func(t *testing.T) {
			n := len(tr) + 100
			code, _, stderr := sio(t, append([]string{"emit", ns.url + "/other", "count", fmt.Sprint(n)}, transportFlags(tr)...)...)
			if code != 0 || stderr != "" {
				t.Fatalf("got %d %q", code, stderr)
			}
			ns.waitFor(t, "count", map[string]any{"nsp": "/other", "n": n})
		})
	}

	t.Run("binary", func(t *testing.T) {
		code, stdout, _ := sio(t, "emit", ns.url, "binary", "--ack")
		want := `[{"raw":{"_binary":"AAEC/w=="},"nested":{"list":[{"_binary":"aGk="},"text",{"deep":{"_binary":""}}]}},{"_binary":"Bw=="}]` + "\n"
		if code != 0 || stdout != want {
			t.Fatalf("got %d\n%s\nwant\n%s", code, stdout, want)
		}
	})

	t.Run("connect", func(t *testing.T) {
		c := start(t, "connect", ns.url+"/auth", "--auth", `{"token":"ok"}`)
		id := strings.TrimSuffix(c.stdout.waitLines(t, 1)[0], "\n")
		ns.waitFor(t, "connect", map[string]any{"nsp": "/auth", "id": id})
		c.cancel()
		if code := c.wait(t); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, c.stderr.String())
		}
		ns.waitFor(t, "disconnect", map[string]any{"id": id, "reason": "client namespace disconnect"})
	})

	t.Run("connect_error", func(t *testing.T) {
		code, _, stderr := sio(t, "connect", ns.url+"/auth", "--auth", `{"token":"bad"}`)
		want := `refused by the server: not authorized (data: {"code":401})`
		if code != 1 || !strings.Contains(stderr, want) {
			t.Fatalf("got %d %q, want 1 and %q", code, stderr, want)
		}
	})

	t.Run("ack timeout", func(t *testing.T) {
		code, _, stderr := sio(t, "emit", ns.url, "delayed-ack", "3000", "late", "--ack", "--timeout", "300ms")
		if code != 1 || !strings.Contains(stderr, `no acknowledgement of "delayed-ack" within 300ms`) {
			t.Fatalf("got %d %q, want 1 and a timeout", code, stderr)
		}
	})

	t.Run("listen refused", func(t *testing.T) {
		// This server emits only to the socket that asks, which listen
		// cannot do: the printing of events is covered by the Go
		// server's tests.
		code, stdout, stderr := sio(t, "listen", ns.url, "--namespace", "/auth")
		want := `refused by the server: not authorized (data: {"code":401})`
		if code != 1 || stdout != "" || !strings.Contains(stderr, want) {
			t.Fatalf("got %d %q %q, want 1 and %q", code, stdout, stderr, want)
		}
	})
}
