package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NodeDepsHint says how to install the pinned JavaScript peers.
const NodeDepsHint = "run `make e2e-deps` (that is: cd e2e/node && npm ci) to install the pinned JavaScript peers"

const modulePath = "github.com/go-sio/socketio"

// RepoRoot returns the directory of the core module's go.mod, found by
// walking up from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && goModPath(data) == modulePath {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func goModPath(gomod []byte) string {
	for line := range strings.SplitSeq(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// NodeWorkspace checks that node is on PATH and that each npm package is
// installed in the shared workspace, e2e/node; it returns the node binary
// and the workspace. It fails t (it does not skip it) when anything is
// missing: the tests with JavaScript peers are the proof of interop.
func NodeWorkspace(t testing.TB, packages ...string) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test needs Node.js (20 or newer) on PATH: %v; then %s", err, NodeDepsHint)
	}
	dir = filepath.Join(RepoRoot(t), "e2e", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("this test needs %s/node_modules: %v; %s", dir, err, NodeDepsHint)
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(p), "package.json")); err != nil {
			t.Fatalf("npm package %q is not installed in %s/node_modules: %v; %s", p, dir, err, NodeDepsHint)
		}
	}
	return node, dir
}
