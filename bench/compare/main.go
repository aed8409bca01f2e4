// Command compare measures our server (bench/server, siobench) against the
// Node.js reference (bench/node, npm socket.io) and the plain WebSocket
// ceiling (bench/raw, rawbench) with the load generator (bench/load,
// sioload), and writes the medians, ranges, ratios and the check of the
// performance targets into bench/README.md (between the markers
// <!-- compare:begin --> and <!-- compare:end -->), with a plot,
// bench/compare.png.
//
//	go run ./bench/compare                  # from the repository root: everything, 3 rounds (about 20 minutes)
//	go run ./bench/compare -quick           # smoke test: small sizes, 1 round, about a minute; writes nothing
//	go run ./bench/compare -scenarios echo,fanout -rounds 5
//	make bench-compare BENCH_ARGS='-rounds 5'
//
// For every round, every scenario and every target (the targets alternate,
// their order rotating from round to round), it starts a fresh server pinned
// to one CPU (taskset -c 0), runs the generator pinned to another (taskset
// -c 1), and stops the server. It builds the binaries itself into a
// temporary directory and installs bench/node's packages (npm ci) when they
// are missing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/go-sio/socketio/bench/internal/cli"
)

func main() { cli.Main("compare", run) }

type config struct {
	rounds    int
	groups    []string
	targets   []string
	quick     bool
	write     bool
	readme    string
	png       string
	serverCPU string
	loadCPU   string
	keep      bool
	root      string
	sizes     sizes
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("compare", flag.ContinueOnError)
	fset.SetOutput(stderr)
	rounds := fset.Int("rounds", 0, "rounds of every scenario on every target (default 3, -quick 1)")
	scen := fset.String("scenarios", "connections,echo,fanout,polling-echo,storm", "comma-separated scenarios to run, by group or by key (echo-large, fanout-small-max...)")
	tgts := fset.String("targets", "ours,node,raw", "comma-separated targets: ours (siobench), node (bench/node), raw (rawbench)")
	quick := fset.Bool("quick", false, "small sizes, short runs and 1 round: a smoke test of about a minute")
	write := fset.Bool("write", true, "write the report into -readme and the plot to -png (default false with -quick)")
	readme := fset.String("readme", "bench/README.md", "the README whose marked region receives the report")
	pngPath := fset.String("png", "bench/compare.png", "the plot")
	serverCPU := fset.String("server-cpu", "0", "taskset CPU list of the servers; empty: not pinned")
	loadCPU := fset.String("load-cpu", "1", "taskset CPU list of the generator; empty: not pinned")
	duration := fset.Duration("duration", 0, "measured time of echo, polling-echo and fanout (default 10s, -quick 1s)")
	conns := fset.Int("conns", 0, "connections: idle WebSocket connections (default 19000, -quick 300)")
	keep := fset.Bool("keep", false, "keep the temporary directory of the binaries and the logs of every run")
	root := fset.String("root", "", "the repository root (default: found from the working directory)")
	if err := cli.Parse(fset, args); err != nil {
		return err
	}
	given := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { given[f.Name] = true })

	cfg := config{quick: *quick, write: *write, readme: *readme, png: *pngPath,
		serverCPU: *serverCPU, loadCPU: *loadCPU, keep: *keep, rounds: *rounds}
	cfg.sizes = fullSizes()
	if cfg.quick {
		cfg.sizes = quickSizes()
		if !given["write"] {
			cfg.write = false
		}
	}
	if cfg.rounds == 0 {
		cfg.rounds = 3
		if cfg.quick {
			cfg.rounds = 1
		}
	}
	if cfg.rounds < 1 {
		return errors.New("-rounds must be at least 1")
	}
	if *duration > 0 {
		cfg.sizes.Duration = *duration
	}
	if *conns > 0 {
		cfg.sizes.Conns = *conns
	}
	all := scenarios(cfg.sizes)
	known := map[string]bool{}
	var keys []string
	for _, s := range all {
		known[s.Group], known[s.Key] = true, true
		keys = append(keys, s.Key)
	}
	for _, g := range strings.Split(*scen, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if !known[g] {
			return fmt.Errorf("-scenarios: unknown %q (want connections, echo, fanout, polling-echo, storm, or one of %s)", g, strings.Join(keys, ", "))
		}
		cfg.groups = append(cfg.groups, g)
	}
	var asked []string
	for _, t := range strings.Split(*tgts, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !slices.Contains(targetNames, t) {
			return fmt.Errorf("-targets: unknown %q (want ours, node, raw)", t)
		}
		asked = append(asked, t)
	}
	// Once each, in the order of the tables: ours, node, raw.
	for _, t := range targetNames {
		if slices.Contains(asked, t) {
			cfg.targets = append(cfg.targets, t)
		}
	}
	if len(cfg.groups) == 0 || len(cfg.targets) == 0 {
		return errors.New("nothing to run: -scenarios and -targets may not be empty")
	}
	var scens []scenario
	for _, s := range all {
		if slices.Contains(cfg.groups, s.Group) || slices.Contains(cfg.groups, s.Key) {
			scens = append(scens, s)
		}
	}

	if cfg.root = *root; cfg.root == "" {
		r, err := findRoot()
		if err != nil {
			return err
		}
		cfg.root = r
	}
	if !filepath.IsAbs(cfg.readme) {
		cfg.readme = filepath.Join(cfg.root, cfg.readme)
	}
	if !filepath.IsAbs(cfg.png) {
		cfg.png = filepath.Join(cfg.root, cfg.png)
	}
	command := "go run ./bench/compare"
	if len(args) > 0 {
		command += " " + strings.Join(args, " ")
	}
	return compare(ctx, cfg, all, scens, command, stdout, stderr)
}

// compare runs scens (of all, the scenarios of the sizes) and reports.
func compare(ctx context.Context, cfg config, all, scens []scenario, command string, stdout, stderr io.Writer) error {
	started := time.Now()
	if cfg.serverCPU != "" || cfg.loadCPU != "" {
		if _, err := exec.LookPath("taskset"); err != nil {
			fmt.Fprintln(stderr, "compare: taskset not found (util-linux): the processes are not pinned")
			cfg.serverCPU, cfg.loadCPU = "", ""
		} else if runtime.NumCPU() < 2 {
			fmt.Fprintln(stderr, "compare: fewer than 2 CPUs: the processes are not pinned")
			cfg.serverCPU, cfg.loadCPU = "", ""
		}
	}
	pinning := "Servers and generator not pinned to CPUs"
	if cfg.serverCPU != "" || cfg.loadCPU != "" {
		pinning = fmt.Sprintf("Server pinned to CPU %s, generator to CPU %s (taskset)", orAll(cfg.serverCPU), orAll(cfg.loadCPU))
	}

	bin, err := os.MkdirTemp("", "bench-compare-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintf(stderr, "compare: binaries and logs in %s\n", bin)
	} else {
		defer os.RemoveAll(bin)
	}
	e := &env{root: cfg.root, bin: bin, serverCPU: cfg.serverCPU, loadCPU: cfg.loadCPU, log: stderr}
	if err := e.build(ctx); err != nil {
		return err
	}
	if slices.Contains(cfg.targets, node) {
		if err := e.nodeDeps(ctx); err != nil {
			return err
		}
	}
	m := meta{
		Command: command, Date: started.UTC().Format("2006-01-02 15:04 UTC"),
		Machine: machine(), Versions: versions(ctx, cfg.root), Load: loadAvg(),
		Pinning: pinning, Rounds: cfg.rounds, Quick: cfg.quick,
	}

	res := &results{}
	total := 0
	for _, s := range scens {
		for _, t := range cfg.targets {
			if s.runsOn(t, cfg.targets) {
				total++
			}
		}
	}
	total *= cfg.rounds
	n := 0
	for round := 1; round <= cfg.rounds; round++ {
		for _, s := range scens {
			for _, t := range rotate(cfg.targets, round-1) {
				if !s.runsOn(t, cfg.targets) {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				n++
				fmt.Fprintf(stderr, "[%d/%d] round %d, %s, %s: ", n, total, round, s.Key, t)
				began := time.Now()
				rr := runOne(ctx, e, cfg, s, t, round)
				res.add(rr)
				fmt.Fprintf(stderr, "%s (%.1fs)\n", describe(rr, s), time.Since(began).Seconds())
				// Let the sockets of the run close and the machine settle.
				cli.Sleep(ctx, cfg.sizes.Pause)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	m.Duration = time.Since(started).Round(time.Second).String()
	cks := checks(res, all)
	groups := plotGroups(res, scens, cfg.targets)
	if cfg.write && len(groups) > 0 {
		rel, err := filepath.Rel(filepath.Dir(cfg.readme), cfg.png)
		if err != nil {
			rel = cfg.png
		}
		m.PNG = filepath.ToSlash(rel)
	}
	report := markdown(m, res, scens, cfg.targets, cks)
	fmt.Fprintln(stdout, report)
	fmt.Fprintln(stdout, "Targets:")
	for _, c := range cks {
		if c.Detail == "" {
			fmt.Fprintf(stdout, "  %-12s %s\n", c.Status, c.Name)
			continue
		}
		fmt.Fprintf(stdout, "  %-12s %s: %s\n", c.Status, c.Name, c.Detail)
	}
	if !cfg.write {
		return nil
	}
	if len(groups) > 0 {
		title := fmt.Sprintf("ours / Node / raw, median of %d round(s), normalized to raw = 1.0 (higher is better unless said)", cfg.rounds)
		if err := writePNG(cfg.png, title, groups, cfg.targets); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "compare: wrote %s\n", cfg.png)
	}
	if err := replaceRegion(cfg.readme, report); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "compare: wrote the report into %s\n", cfg.readme)
	return nil
}

// runOne starts target's server, runs scenario s against it and stops it.
func runOne(ctx context.Context, e *env, cfg config, s scenario, target string, round int) runResult {
	rr := runResult{Scenario: s.Key, Target: target, Round: round, Values: map[string]float64{}}
	name := fmt.Sprintf("r%d-%s-%s", round, s.Key, target)
	srv, err := e.startServer(ctx, target, name+".server.log", cfg.sizes.ServerStart)
	if err != nil {
		rr.Err = err.Error()
		return rr
	}
	defer srv.stop()
	args := append([]string{}, s.Args...)
	if target == raw {
		args = append(args, "-proto", "raw", "-target", "ws://"+srv.addr+"/")
	} else {
		args = append(args, "-proto", "sio", "-target", "http://"+srv.addr)
	}
	if s.MemPID {
		args = append(args, "-server-pid", fmt.Sprint(srv.pid))
	}
	rep, err := e.runLoad(ctx, args, name+".load.log", s.Timeout)
	if err != nil {
		rr.Err = err.Error()
		return rr
	}
	select {
	case <-srv.done:
		rr.Err = fmt.Sprintf("the server exited during the run (%v): %s", srv.err, tail(srv.logf.Name()))
		return rr
	default:
	}
	rr.OK, _ = rep["ok"].(bool)
	if msg, _ := rep["error"].(string); msg != "" {
		rr.Err = msg
	}
	rr.Saturated, _ = rep["generator_saturated"].(bool)
	if ws, ok := rep["warnings"].([]any); ok {
		for _, w := range ws {
			if s, ok := w.(string); ok {
				rr.Warnings = append(rr.Warnings, s)
			}
		}
	}
	results, _ := rep["results"].(map[string]any)
	for _, mt := range s.Metrics {
		if v, ok := mt.value(results); ok {
			rr.Values[mt.Key] = v
		}
	}
	if rr.OK && len(rr.Values) == 0 {
		rr.OK, rr.Err = false, "the JSON line has none of the expected results"
	}
	return rr
}

// describe is the progress line of one run: its main numbers.
func describe(rr runResult, s scenario) string {
	if !rr.OK {
		return "FAILED: " + oneLine(rr.Err)
	}
	var parts []string
	for _, mt := range s.Metrics {
		if v, ok := rr.Values[mt.Key]; ok {
			p := mt.Name + " " + num(v)
			if mt.Unit != "" {
				p += " " + mt.Unit
			}
			parts = append(parts, p)
		}
	}
	out := strings.Join(parts, ", ")
	if rr.Saturated {
		out += " (generator saturated)"
	}
	return out
}

// rotate returns xs rotated left by k.
func rotate(xs []string, k int) []string {
	if len(xs) == 0 {
		return nil
	}
	k %= len(xs)
	return append(append([]string{}, xs[k:]...), xs[:k]...)
}

func orAll(cpus string) string {
	if cpus == "" {
		return "any"
	}
	return cpus
}

// findRoot walks up from the working directory to the repository root:
// the directory holding go.work and bench/.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.work")) && fileExists(filepath.Join(dir, "bench", "compare")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.work and bench/compare) not found above the working directory; use -root")
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
