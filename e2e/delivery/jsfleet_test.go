package delivery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const nodeDepsHint = "run `make e2e-deps` (that is: cd e2e/node && npm ci) to install the pinned JavaScript peers"

// nodeDir returns e2e/node, after checking that node and socket.io-client
// are installed. A missing one fails the test: it never skips.
func nodeDir(t tb) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the delivery test of the official client needs Node.js (20 or newer) on PATH: %v; then %s", err, nodeDepsHint)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(wd, "..", "node") // go test runs in the package directory
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client", "package.json")); err != nil {
		t.Fatalf("socket.io-client is not installed in %s/node_modules: %v; %s", dir, err, nodeDepsHint)
	}
	return node, dir
}

// jsFleet is N official clients, run by e2e/node/delivery/chat-clients.mjs
// in one Node process.
type jsFleet struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	read   chan struct{} // closed once stdout is read to its end
	ready  chan struct{}
	cancel context.CancelFunc

	mu       sync.Mutex
	prog     []clientProgress
	results  []clientResult
	failure  string
	done     bool
	rawLines int
}

// jsLine is one line of the script.
type jsLine struct {
	Event       string         `json:"event"`
	Who         string         `json:"who"`
	ID          string         `json:"id"`
	Recovered   bool           `json:"recovered"`
	At          int64          `json:"at"`
	Reason      string         `json:"reason"`
	Message     string         `json:"message"`
	Clients     []jsProgress   `json:"clients"`
	Sent        int            `json:"sent"`
	Received    []int64        `json:"received"`
	ReceivedAt  []int64        `json:"receivedAt"`
	Connects    int            `json:"connects"`
	Recoveries  int            `json:"recoveries"`
	Disconnects map[string]int `json:"disconnects"`
}

type jsProgress struct {
	Who      string `json:"who"`
	Sent     int    `json:"sent"`
	Raw      int    `json:"raw"`
	Distinct int    `json:"distinct"`
}

// newJSFleet starts the script and waits until its clients are connected.
func newJSFleet(t tb, url string, n, perEach int, interval time.Duration, opts clientOpts, lifetime time.Duration, tl *timeline) *jsFleet {
	t.Helper()
	node, dir := nodeDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), lifetime+10*time.Second)
	f := &jsFleet{read: make(chan struct{}), ready: make(chan struct{}), cancel: cancel}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	f.cmd = exec.CommandContext(ctx, node, "delivery/chat-clients.mjs", url, opts.Transport,
		strconv.Itoa(n), strconv.Itoa(perEach), strconv.FormatFloat(float64(interval)/float64(time.Millisecond), 'f', 3, 64),
		strconv.Itoa(opts.Retries), ms(opts.AckTimeout), ms(lifetime), strconv.FormatInt(tl.start.UnixMilli(), 10))
	f.cmd.Dir = dir
	f.cmd.WaitDelay = 2 * time.Second
	f.cmd.Stderr = &f.stderr
	var err error
	if f.stdin, err = f.cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go f.readLines(stdout, tl)
	select {
	case <-f.ready:
	case <-f.read:
		f.stop(t)
		t.Fatalf("chat-clients.mjs ended before its clients connected: %s\nstderr: %s", f.failure, f.stderr.String())
	case <-time.After(10 * time.Second):
		f.stop(t)
		t.Fatalf("chat-clients.mjs: clients not connected within 10s\nstderr: %s", f.stderr.String())
	}
	return f
}

func (f *jsFleet) readLines(r io.Reader, tl *timeline) {
	defer close(f.read)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20) // a result line holds every id received
	readyOnce := sync.Once{}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var l jsLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			f.mu.Lock()
			f.failure = "bad line: " + line
			f.mu.Unlock()
			continue
		}
		f.mu.Lock()
		f.rawLines++
		switch l.Event {
		case "connect":
			tl.addAt(time.Duration(l.At)*time.Millisecond, l.Who, "client: connected %s, recovered %v", l.ID, l.Recovered)
		case "disconnect":
			tl.addAt(time.Duration(l.At)*time.Millisecond, l.Who, "client: disconnected: %s", l.Reason)
		case "ready":
			readyOnce.Do(func() { close(f.ready) })
		case "progress":
			f.prog = f.prog[:0]
			for _, c := range l.Clients {
				f.prog = append(f.prog, clientProgress{Name: c.Who, Sent: c.Sent, Raw: c.Raw, Distinct: c.Distinct})
			}
		case "result":
			at := make([]time.Duration, len(l.ReceivedAt))
			for i, ms := range l.ReceivedAt {
				at[i] = time.Duration(ms) * time.Millisecond
			}
			f.results = append(f.results, clientResult{
				Name: l.Who, Sent: l.Sent, Received: l.Received, ReceivedAt: at,
				Connects: l.Connects, Recovered: l.Recoveries, Disconnects: l.Disconnects,
			})
		case "done":
			f.done = true
		case "fail":
			f.failure = l.Message
		}
		f.mu.Unlock()
	}
}

func (f *jsFleet) start(time.Duration) { _, _ = io.WriteString(f.stdin, "start\n") }

func (f *jsFleet) progress() []clientProgress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]clientProgress(nil), f.prog...)
}

func (f *jsFleet) finish(t tb) []clientResult {
	t.Helper()
	f.stop(t)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.done || f.failure != "" {
		t.Errorf("chat-clients.mjs did not end well (done %v): %s\nstderr: %s", f.done, f.failure, f.stderr.String())
	}
	return f.results
}

// stop asks the script to report and end, and waits for it.
func (f *jsFleet) stop(t tb) {
	t.Helper()
	_, _ = io.WriteString(f.stdin, "stop\n")
	_ = f.stdin.Close()
	select {
	case <-f.read:
	case <-time.After(15 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.read
	}
	if err := f.cmd.Wait(); err != nil {
		t.Logf("chat-clients.mjs: %v", err)
	}
	f.cancel()
}
