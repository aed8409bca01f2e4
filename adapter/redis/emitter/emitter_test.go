package emitter_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/go-sio/socketio/adapter/redis"
	"github.com/go-sio/socketio/adapter/redis/emitter"
	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type published struct{ channel, payload string }

// capture subscribes to every channel of srv and returns a function that
// waits for n messages.
func capture(t *testing.T, srv *redistest.Server) func(n int) []published {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	ps := c.PSubscribe(context.Background(), "*")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(context.Background()); err != nil { // the confirmation
		t.Fatal(err)
	}
	return func(n int) []published {
		t.Helper()
		var out []published
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for len(out) < n {
			m, err := ps.ReceiveMessage(ctx)
			if err != nil {
				t.Fatalf("after %d of %d messages: %v", len(out), n, err)
			}
			out = append(out, published{m.Channel, m.Payload})
		}
		return out
	}
}

// goCalls makes, with our emitter, the calls of e2e/node/emitter/calls.mjs.
func goCalls(t *testing.T, e *emitter.Emitter) {
	ctx := context.Background()
	for i, err := range []error{
		e.Emit(ctx, "hello", 1, "a", map[string]any{"x": 1.5, "y": []any{true, nil}}, []byte{1, 2, 3}),
		e.To("room1").Emit(ctx, "one room", -7),
		e.To("room1", "room2").Except("room3").Volatile().Emit(ctx, "rooms", 300, 70000),
		e.Of("/chat").Compress(false).Emit(ctx, "nsp", "é"),
		e.Of("admin").To("r").Emit(ctx, "no slash", int64(1)<<40),
		e.SocketsJoin(ctx, "room4"),
		e.In("room1").Except("room2").SocketsLeave(ctx, "room5", "room6"),
		e.To("room1").DisconnectSockets(ctx, true),
		e.DisconnectSockets(ctx, false),
		e.ServerSideEmit(ctx, "ping", 42, "x"),
	} {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

const calls = 10

// TestSameBytesAsNodeEmitter runs the official @socket.io/redis-emitter and
// ours through the same calls and compares every channel and payload.
func TestSameBytesAsNodeEmitter(t *testing.T) {
	srv := redistest.Start(t)
	wait := capture(t, srv)

	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: Node.js 20 is needed for the interop tests")
	}
	dir, _ := filepath.Abs("../../../e2e/node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "redis-emitter")); err != nil {
		t.Fatal("npm peers missing: run `make e2e-deps`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "emitter/calls.mjs", srv.URL())
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"done":true`) {
		t.Fatalf("node emitter: %v\n%s", err, out)
	}
	fromNode := wait(calls)

	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer c.Close()
	goCalls(t, emitter.New(redis.GoRedis(c), nil))
	fromGo := wait(calls)

	for i := range calls {
		if fromGo[i] != fromNode[i] {
			t.Errorf("message %d:\n node: %q %q\n   go: %q %q", i,
				fromNode[i].channel, fromNode[i].payload, fromGo[i].channel, fromGo[i].payload)
		}
	}
}

func TestReservedEventsRefused(t *testing.T) {
	e := emitter.New(nil, nil) // never reaches the driver
	for _, ev := range []string{"connect", "disconnect", "disconnecting", "connect_error", "newListener", "removeListener"} {
		if err := e.Emit(context.Background(), ev); err == nil {
			t.Errorf("Emit(%q) accepted", ev)
		}
		if err := e.ServerSideEmit(context.Background(), ev); err == nil {
			t.Errorf("ServerSideEmit(%q) accepted", ev)
		}
	}
}
