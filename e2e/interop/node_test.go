package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/internal/testutil"
	"go.uber.org/goleak"
)

// This file holds what every interop test with a JavaScript peer needs:
// finding the shared Node workspace (e2e/node), checking that Node.js and
// the pinned npm packages are installed, running one script with a deadline
// and reading the JSON lines it prints.
//
// A missing Node.js or node_modules is a test failure, never a skip: the
// interop tests are the proof that the official clients talk to us.

// TestMain fails the package when a goroutine outlives the tests: every
// server, session and child process must be stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// nodeEnv is a checked Node.js installation and the e2e/node workspace.
type nodeEnv struct {
	Node string // path of the node binary
	Dir  string // e2e/node: the scripts' working directory
}

// requireNode returns the Node environment after checking that node is on
// PATH and that each npm package is installed in e2e/node/node_modules. It
// fails the test (it does not skip it) when anything is missing.
func requireNode(t testing.TB, packages ...string) nodeEnv {
	t.Helper()
	node, dir := testutil.NodeWorkspace(t, packages...)
	return nodeEnv{Node: node, Dir: dir}
}

// nodeRun is the outcome of one script run.
type nodeRun struct {
	Script   string
	Args     []string
	Stdout   string
	Stderr   string
	Lines    []string // stdout lines that hold a JSON object, in order
	ExitCode int      // -1 when killed
	Elapsed  time.Duration
	Err      error // from exec: start failure, deadline, non-zero exit
}

// run executes `node <script> <args...>` in the workspace with a deadline
// (the scripts also stop themselves well before it). It does not judge the
// outcome; see requireDone.
func (e nodeEnv) run(t testing.TB, timeout time.Duration, script string, args ...string) *nodeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Node, append([]string{script}, args...)...)
	cmd.Dir = e.Dir
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := &nodeRun{
		Script:   script,
		Args:     args,
		Stdout:   stdout.String(),
		Stderr:   stderr.String(),
		ExitCode: cmd.ProcessState.ExitCode(),
		Elapsed:  time.Since(start),
		Err:      err,
	}
	if ctx.Err() != nil {
		r.Err = errors.Join(err, ctx.Err())
	}
	sc := bufio.NewScanner(strings.NewReader(r.Stdout))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "{") {
			r.Lines = append(r.Lines, line)
		}
	}
	return r
}

// String describes the run for failure messages.
func (r *nodeRun) String() string {
	return "node " + r.Script + " " + strings.Join(r.Args, " ") +
		"\n--- exit code: " + strconv.Itoa(r.ExitCode) + ", after " + r.Elapsed.Round(time.Millisecond).String() +
		"\n--- stdout:\n" + r.Stdout + "--- stderr:\n" + r.Stderr
}

// requireDone fails the test unless the script exited 0 and its last JSON
// line is {"event":"done",...}.
func (r *nodeRun) requireDone(t testing.TB) {
	t.Helper()
	if r.Err != nil || r.ExitCode != 0 {
		t.Fatalf("script failed: %v\n%s", r.Err, r)
	}
	if n := len(r.Lines); n == 0 || !strings.HasPrefix(r.Lines[n-1], `{"event":"done"`) {
		t.Fatalf("script exited 0 without a final {\"event\":\"done\"} line\n%s", r)
	}
}

// decodeLines decodes every JSON line of the run into T.
func decodeLines[T any](t testing.TB, r *nodeRun) []T {
	t.Helper()
	out := make([]T, 0, len(r.Lines))
	for _, line := range r.Lines {
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("bad JSON line %q: %v\n%s", line, err, r)
		}
		out = append(out, v)
	}
	return out
}
