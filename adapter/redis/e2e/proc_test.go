package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// line is one JSON line printed by a Node script, or one event recorded by
// a Go node in the same shape. Raw keeps the whole object for the fields
// of a particular reply.
type line struct {
	Event     string          `json:"event"`
	ID        int64           `json:"id"`
	Ok        bool            `json:"ok"`
	Error     string          `json:"error"`
	Client    string          `json:"client"`
	Name      string          `json:"name"`
	Nsp       string          `json:"nsp"`
	SID       string          `json:"sid"`
	Reason    string          `json:"reason"`
	Recovered bool            `json:"recovered"`
	Args      []any           `json:"args"`
	Raw       json.RawMessage `json:"-"`
}

func (l line) String() string {
	if l.Raw != nil {
		return string(l.Raw)
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// journal is an ordered record of lines that tests wait on.
type journal struct {
	mu      sync.Mutex
	lines   []line
	changed chan struct{} // closed and replaced at each new line
	dead    chan struct{} // closed when no line can come any more (nil: never)
}

func newJournal() *journal { return &journal{changed: make(chan struct{})} }

func (j *journal) add(l line) {
	if l.Raw == nil {
		l.Raw, _ = json.Marshal(l)
	}
	j.mu.Lock()
	j.lines = append(j.lines, l)
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
}

// snapshot returns the lines so far and the channel closed at the next
// one. The lines are append-only: the slice may be read without the lock,
// so match functions run unlocked (and may use the journal themselves).
func (j *journal) snapshot() ([]line, chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.lines[:len(j.lines):len(j.lines)], j.changed
}

// find returns the lines that match.
func (j *journal) find(match func(line) bool) []line {
	lines, _ := j.snapshot()
	var out []line
	for _, l := range lines {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

// waitN waits until n lines match and returns them; it fails t after
// timeout. what describes the wait in the failure message.
func (j *journal) waitN(t testing.TB, timeout time.Duration, n int, what string, match func(line) bool) []line {
	t.Helper()
	got, err := j.waitNErr(timeout, n, match)
	if err != nil {
		t.Fatalf("waiting for %d× %s: %v\nlast lines:\n%s", n, what, err, j.tail(40))
	}
	return got
}

func (j *journal) waitNErr(timeout time.Duration, n int, match func(line) bool) ([]line, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		lines, changed := j.snapshot()
		var got []line
		for _, l := range lines {
			if match(l) {
				got = append(got, l)
			}
		}
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-j.dead:
			// one more look: the last lines may have come with the end
			if got := j.find(match); len(got) >= n {
				return got, nil
			}
			return got, fmt.Errorf("the process ended with %d of them", len(got))
		case <-timer.C:
			return got, fmt.Errorf("timed out after %v with %d of them", timeout, len(got))
		}
	}
}

func (j *journal) wait(t testing.TB, timeout time.Duration, what string, match func(line) bool) line {
	t.Helper()
	return j.waitN(t, timeout, 1, what, match)[0]
}

func (j *journal) tail(n int) string {
	lines, _ := j.snapshot()
	from := max(0, len(lines)-n)
	var b strings.Builder
	for _, l := range lines[from:] {
		b.WriteString("  ")
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// proc is a long-running Node script driven by JSON commands on its stdin;
// what it prints goes to its journal.
type proc struct {
	*journal
	label  string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	inMu   sync.Mutex
	nextID atomic.Int64
	stderr lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProc runs `node <script> <args...>` in e2e/node and stops it when the
// test ends (stdin closed, then killed if it lingers).
func startProc(t testing.TB, env nodeEnv, label, script string, args ...string) *proc {
	t.Helper()
	p := &proc{journal: newJournal(), label: label, exited: make(chan struct{})}
	p.dead = p.exited
	p.cmd = exec.Command(env.Node, append([]string{script}, args...)...)
	p.cmd.Dir = env.Dir
	p.cmd.Stderr = &p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	go p.read(stdout)
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *proc) read(stdout io.Reader) {
	defer close(p.exited)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "{") {
			continue
		}
		var l line
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			l = line{Event: "unparsed", Error: err.Error()}
		}
		l.Raw = json.RawMessage(text)
		p.add(l)
	}
	_ = p.cmd.Wait()
}

// alive reports whether the process still runs.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) stop(t testing.TB) {
	p.inMu.Lock()
	_ = p.stdin.Close()
	p.inMu.Unlock()
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			t.Errorf("%s: process %d does not end", p.label, p.cmd.Process.Pid)
		}
	}
	if t.Failed() {
		t.Logf("%s: last lines:\n%s--- stderr:\n%s", p.label, p.tail(60), lastLines(p.stderr.String(), 40))
	}
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n") + "\n"
}

// request sends a command and waits up to timeout for its reply. It
// returns the reply, or an error when the reply says ok:false, when none
// comes in time or when the process is gone. It may be called from any
// goroutine.
func (p *proc) request(timeout time.Duration, cmd string, fields map[string]any) (line, error) {
	id := p.nextID.Add(1)
	m := map[string]any{}
	for k, v := range fields {
		m[k] = v
	}
	m["id"], m["cmd"] = id, cmd
	b, err := json.Marshal(m)
	if err != nil {
		return line{}, err
	}
	p.inMu.Lock()
	_, err = p.stdin.Write(append(b, '\n'))
	p.inMu.Unlock()
	if err != nil {
		return line{}, fmt.Errorf("%s: write command: %w", p.label, err)
	}
	got, err := p.waitNErr(timeout, 1, func(l line) bool { return l.Event == "reply" && l.ID == id })
	if err != nil {
		return line{}, fmt.Errorf("%s: no reply to %s: %w", p.label, b, err)
	}
	if !got[0].Ok {
		return got[0], fmt.Errorf("%s: %s failed: %s", p.label, cmd, got[0].Error)
	}
	return got[0], nil
}

// must is request failing t on any error.
func (p *proc) must(t testing.TB, cmd string, fields map[string]any) line {
	t.Helper()
	l, err := p.request(20*time.Second, cmd, fields)
	if err != nil {
		t.Fatalf("%v\nlast lines:\n%s--- stderr:\n%s", err, p.tail(40), lastLines(p.stderr.String(), 20))
	}
	return l
}

// decodeRaw decodes the whole line into v.
func decodeRaw(t testing.TB, l line, v any) {
	t.Helper()
	if err := json.Unmarshal(l.Raw, v); err != nil {
		t.Fatalf("decode %s: %v", l.Raw, err)
	}
}
