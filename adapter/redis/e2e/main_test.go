// Package e2e holds the mixed-cluster tests of the Redis adapters: Go nodes
// (our adapters) and Node.js nodes (socket.io 4.8.1 with the official
// @socket.io/redis-adapter 8.3.0 and @socket.io/redis-streams-adapter
// 0.3.1) in one cluster over one real redis-server, with official
// socket.io-client 4.8.1 clients connected to both, and the emitters
// (@socket.io/redis-emitter 5.1.0 and ours) driving either kind of node.
//
// The Node.js peers are the scripts of e2e/node/cluster (pinned packages of
// e2e/node); each is a long-running process that takes JSON commands on
// stdin and prints JSON lines (see e2e/node/cluster/lib.js).
//
// A missing node, node_modules or redis-server fails the tests; it never
// skips them.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sio/socketio/internal/testutil"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests: every
// server, Redis client, proxy and child process must be stopped.
func TestMain(m *testing.M) {
	// go-redis prints every failed dial on stderr: the Redis restarts of
	// these tests make plenty, all expected.
	goredis.SetLogger(quietLogger{})
	goleak.VerifyTestMain(m)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// nodeEnv is a checked Node.js installation and the e2e/node workspace.
type nodeEnv struct {
	Node string // the node binary
	Dir  string // e2e/node: the scripts' working directory
}

// requireNode checks that node is on PATH and that the npm packages the
// cluster scripts import are installed; it fails t otherwise.
func requireNode(t testing.TB) nodeEnv {
	t.Helper()
	node, dir := testutil.NodeWorkspace(t, "socket.io", "socket.io-client", "redis", "@socket.io/redis-adapter",
		"@socket.io/redis-streams-adapter", "@socket.io/redis-emitter")
	if _, err := os.Stat(filepath.Join(dir, "cluster", "node-server.js")); err != nil {
		t.Fatalf("missing cluster scripts: %v", err)
	}
	return nodeEnv{Node: node, Dir: dir}
}
