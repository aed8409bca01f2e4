package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// env is where the comparison runs: the repository, the binaries it built
// and the CPUs it pins the processes to.
type env struct {
	root      string // the repository root
	bin       string // temporary directory of the binaries and logs
	serverCPU string // taskset CPU list of the servers ("" = not pinned)
	loadCPU   string // taskset CPU list of the generator
	log       io.Writer
}

// binaries the comparison builds, by package (from the repository root,
// under go.work).
var binaries = map[string]string{
	"siobench": "./bench/server",
	"rawbench": "./bench/raw",
	"sioload":  "./bench/load",
}

// build compiles the servers and the generator into e.bin.
func (e *env) build(ctx context.Context) error {
	for name, pkg := range binaries {
		fmt.Fprintf(e.log, "build %s (%s)\n", name, pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(e.bin, name), pkg)
		cmd.Dir = e.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return nil
}

// nodeDeps installs bench/node's packages with npm ci when node_modules
// is missing.
func (e *env) nodeDeps(ctx context.Context) error {
	dir := filepath.Join(e.root, "bench", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io")); err == nil {
		return nil
	}
	fmt.Fprintln(e.log, "npm ci in bench/node")
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return nil
}

// pinned returns the command that runs name with args on cpus (taskset),
// or unpinned when cpus is "".
func pinned(cpus, name string, args ...string) (string, []string) {
	if cpus == "" {
		return name, args
	}
	return "taskset", append([]string{"-c", cpus, name}, args...)
}

// server is one benchmark server started for one run.
type server struct {
	cmd  *exec.Cmd
	pid  int
	addr string // 127.0.0.1:port
	logf *os.File
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done
}

// startServer starts target's server on a free loopback port, pinned to
// the server CPU, and waits until it accepts connections.
func (e *env) startServer(ctx context.Context, target string, logName string, bound time.Duration) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var name string
	var args []string
	switch target {
	case ours:
		name, args = pinned(e.serverCPU, filepath.Join(e.bin, "siobench"), "-addr", addr)
	case raw:
		name, args = pinned(e.serverCPU, filepath.Join(e.bin, "rawbench"), "-addr", addr)
	case node:
		name, args = pinned(e.serverCPU, "node", filepath.Join(e.root, "bench", "node", "server.js"), "--port", strconv.Itoa(port), "--host", "127.0.0.1")
	default:
		return nil, fmt.Errorf("unknown target %q", target)
	}
	logf, err := os.Create(filepath.Join(e.bin, logName))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = e.root
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", target, err)
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, addr: addr, logf: logf, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(bound)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-s.done:
			s.stop()
			return nil, fmt.Errorf("%s exited before listening (%v): %s", target, s.err, tail(logf.Name()))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s not listening on %s after %v: %s", target, addr, bound, tail(logf.Name()))
		}
	}
	// Let the runtime settle (JIT, GC of the start-up garbage) before the
	// generator reads the first RSS.
	time.Sleep(300 * time.Millisecond)
	return s, nil
}

// stop ends the server and everything it started: SIGTERM to its process
// group, SIGKILL after 5s.
func (s *server) stop() {
	defer s.logf.Close()
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		<-s.done
	}
}

// runLoad runs the generator with args, pinned to the generator CPU,
// bounded by bound, and returns its JSON line.
func (e *env) runLoad(ctx context.Context, args []string, logName string, bound time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	logf, err := os.Create(filepath.Join(e.bin, logName))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	name, full := pinned(e.loadCPU, filepath.Join(e.bin, "sioload"), args...)
	cmd := exec.CommandContext(ctx, name, full...)
	cmd.Dir = e.root
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	_ = os.WriteFile(strings.TrimSuffix(logf.Name(), ".log")+".json", stdout.Bytes(), 0o644)
	rep, perr := lastJSON(stdout.Bytes())
	if perr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sioload killed after %v: %s", bound, tail(logf.Name()))
		}
		if runErr != nil {
			return nil, fmt.Errorf("sioload: %v: %s", runErr, tail(logf.Name()))
		}
		return nil, perr
	}
	return rep, nil
}

// lastJSON decodes the last line of out that is a JSON object.
func lastJSON(out []byte) (map[string]any, error) {
	var last []byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 && line[0] == '{' {
			last = append(last[:0], line...)
		}
	}
	if last == nil {
		return nil, errors.New("sioload printed no JSON line")
	}
	var m map[string]any
	if err := json.Unmarshal(last, &m); err != nil {
		return nil, fmt.Errorf("sioload's JSON line: %w", err)
	}
	return m, nil
}

// lookup reads the number at a dotted path in m.
func lookup(m map[string]any, path string) (float64, bool) {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		if v, ok = obj[k]; !ok {
			return 0, false
		}
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of the file at path, for error messages.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
