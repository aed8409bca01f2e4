package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// writeOutputs writes the CSV, the plot and the summary the config asks
// for.
func (r *run) writeOutputs() error {
	samples := r.sm.all()
	if p := r.cfg.CSV; p != "" {
		if err := writeCSV(p, samples, r.cfg.CSVMaxRows); err != nil {
			return fmt.Errorf("csv: %w", err)
		}
	}
	if p := r.cfg.PNG; p != "" {
		title := fmt.Sprintf("socketio soak: %v of traffic, %d clients, %.0f%% with faults", r.cfg.Duration, r.cfg.Clients, 100*r.cfg.FaultedShare)
		verdict := "PASS"
		if r.failed() {
			verdict = "FAIL"
		}
		sub := fmt.Sprintf("%s - %s, %s, GOMAXPROCS %d - server, clients and proxy in one process",
			verdict, r.start.Format("2006-01-02"), runtime.Version(), runtime.GOMAXPROCS(0))
		if err := writePlot(p, title, sub, samples, r.marks); err != nil {
			return fmt.Errorf("png: %w", err)
		}
	}
	if p := r.cfg.MD; p != "" {
		if err := os.WriteFile(p, []byte(r.markdown(samples)), 0o644); err != nil {
			return fmt.Errorf("md: %w", err)
		}
	}
	return nil
}

func (r *run) markdown(samples []sample) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := r.cfg
	verdict := "**PASS**: no invariant broke, and the server came back to its baseline."
	if r.failed() {
		verdict = "**FAIL**:\n"
		for _, f := range r.failures() {
			verdict += "\n- " + f
		}
	}
	traffic, winding, cooldown := r.phaseDurations()

	p("# Soak test\n\n")
	p("`make soak` runs `e2e/soak`: our server in-process, driven for hours by mixed traffic from our Go\n")
	p("client, a share of it through the fault proxy (`internal/faultproxy`), plus misbehaving raw clients;\n")
	p("it samples memory, goroutines and file descriptors, checks every message and acknowledgement, and\n")
	p("checks that everything comes back to its baseline once the traffic stops. It is not part of `make\n")
	p("test`; `e2e/soak/soak_test.go` runs its core for a few seconds in CI. This page, `soak.png` and\n")
	p("`soak.csv` are written by the run itself.\n\n")

	p("## This run\n\n")
	if traffic < 30*time.Minute {
		p("This run is a **short** one: %v of traffic (the default, `make soak`, is 2 h; see below for hours).\n\n", traffic.Round(time.Second))
	}
	p("- Command: `%s`\n", c.Command)
	p("- Started %s on %s/%s, %s, GOMAXPROCS %d (%d CPUs, shared with other work)\n",
		r.start.Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU())
	p("- Traffic %v, then %v for the clients to leave, %v of cooldown and the drain check, then the shutdown; %v in all\n",
		traffic.Round(time.Second), winding.Round(time.Second), cooldown.Round(time.Second), r.ended.Sub(r.start).Round(time.Second))
	p("- %d client slots (%.0f%% behind the fault proxy at %.1f faults/s, %.0f%% staying the whole run, the others living %v to %v), %.1f actions per client and second, %d misbehaving clients at once\n",
		c.Clients, 100*c.FaultedShare, c.FaultRate, 100*c.ResidentShare, c.LifeMin, c.LifeMax, c.Rate, c.Rogues)
	p("- Server: PingInterval %v, PingTimeout %v, connection state recovery %v (RecoverWithoutOffset), other options at their defaults\n\n",
		c.PingInterval, c.PingTimeout, c.RecoveryDuration)
	p("Result: %s\n\n", verdict)
	p("![memory, goroutines, fds and connections over time](%s)\n\n", filepath.Base(c.PNG))
	p("Server, clients and proxy share one process: the memory and the fds are theirs together (each\n")
	p("loopback connection has two ends, four behind the proxy); goroutines are split by pprof label\n")
	p("(goroutines started by timers may land on the wrong side).\n\n")

	p("### Totals\n\n| | count |\n|---|---:|\n")
	last := r.st.snapshot()
	rows := []struct {
		name string
		c    counter
	}{
		{"client lives (connect, stay, leave)", cLives},
		{"socket connections", cConnects},
		{"of which reconnections", cReconnects},
		{"of which recovered (connection state recovery)", cRecovered},
		{"echoes acknowledged and identical", cEchoOK},
		{"echoes not acknowledged (faults)", cEchoFail},
		{"room broadcasts acknowledged", cSayOK},
		{"joins, leaves, broadcasts not acknowledged (faults)", cSayFail},
		{"server-to-client acknowledgements", cAskOK},
		{"... not acknowledged (faults)", cAskFail},
		{"room joins / leaves", cJoins},
		{"room messages delivered", cRoomMsgs},
		{"volatile ticks delivered", cTicks},
		{"room messages lost, clients without faults", cLostClean},
		{"room messages lost, clients behind the proxy", cLostFaulted},
		{"room messages twice or out of order, behind the proxy", cDupFaulted},
		{"room messages outside membership, behind the proxy", cExtraFaulted},
		{"dynamic namespaces joined", cDynSwitches},
		{"middleware refusals (expected)", cAuthRefused},
		{"connect_error (expected ones included)", cConnectErrors},
		{"faults injected (drops, cuts, stalls)", cFaults},
		{"misbehaving clients", cRogueAttempts},
		{"... cut off as expected", cRogueCut},
		{"... not cut off", cRogueFailed},
		{"broken invariants", cAnomalies},
	}
	for _, row := range rows {
		p("| %s | %d |\n", row.name, last[row.c])
	}
	if last[cLives] > 0 {
		lifeDur := traffic.Seconds()
		p("\nAbout %.0f room messages and %.0f echoes a second.\n", float64(last[cRoomMsgs])/lifeDur, float64(last[cEchoOK])/lifeDur)
	}

	p("\n### Metrics\n\n")
	p("| metric | baseline (server idle) | min | max | after the traffic (drained) | after shutdown |\n|---|---:|---:|---:|---:|---:|\n")
	type metric struct {
		name string
		f    func(sample) float64
		unit string
	}
	metrics := []metric{
		{"goroutines", func(s sample) float64 { return float64(s.Goroutines) }, ""},
		{"goroutines, server", func(s sample) float64 { return float64(s.GServer) }, ""},
		{"goroutines, clients", func(s sample) float64 { return float64(s.GClient) }, ""},
		{"heap in use", func(s sample) float64 { return mib(s.HeapInuse) }, " MiB"},
		{"heap allocated", func(s sample) float64 { return mib(s.HeapAlloc) }, " MiB"},
		{"Sys", func(s sample) float64 { return mib(s.Sys) }, " MiB"},
		{"open fds", func(s sample) float64 { return float64(s.FDs) }, ""},
		{"Engine.IO sessions", func(s sample) float64 { return float64(s.EngineClients) }, ""},
		{"sockets", func(s sample) float64 { return float64(s.Sockets) }, ""},
		{"namespaces", func(s sample) float64 { return float64(s.Namespaces) }, ""},
		{"clients alive", func(s sample) float64 { return float64(s.ClientsAlive) }, ""},
	}
	for _, m := range metrics {
		lo, hi := 0.0, 0.0
		for i, s := range samples {
			v := m.f(s)
			if i == 0 || v < lo {
				lo = v
			}
			if i == 0 || v > hi {
				hi = v
			}
		}
		f := func(v float64) string {
			if m.unit != "" {
				return fmt.Sprintf("%.1f%s", v, m.unit)
			}
			return fmt.Sprintf("%.0f", v)
		}
		p("| %s | %s | %s | %s | %s | %s |\n", m.name, f(m.f(r.base)), f(lo), f(hi), f(m.f(r.drained)), f(m.f(r.final)))
	}

	p("\n### Back to the baseline\n\n| check | | |\n|---|---|---|\n")
	for _, ch := range r.checks {
		ok := "ok"
		if !ch.OK {
			ok = "**FAILED**"
		}
		p("| %s | %s | %s |\n", ch.Name, ok, ch.Detail)
	}

	p("\n### Misbehaving clients\n\nEach must be cut off (or refused) by the server within a bound, the others unaffected.\n\n")
	p("| what it does | attempts | cut off | not cut off | longest | how the server closed it |\n|---|---:|---:|---:|---:|---|\n")
	rs := r.rogues.snapshot()
	for _, k := range rogueKinds {
		res, ok := rs[k.name]
		if !ok {
			continue
		}
		p("| %s | %d | %d | %d | %v | %s |\n", k.name, res.Attempts, res.Cut, res.Failed, res.MaxTime.Round(10*time.Millisecond), tallyString(res.Reasons))
	}

	ps := r.proxyStats
	p("\n### Faults and what they did\n\n")
	p("- Fault proxy: %d connections, %d drops, %d cuts (half a frame or response, then a reset), %d stalls (%d resumed, %d ended in a drop)\n",
		ps.Accepted, ps.Drops, ps.Cuts, ps.Stalls, ps.Resumed, ps.StallDrops)
	p("- Disconnections the clients did not ask for (behind the proxy unless said otherwise): %s\n", tallyString(r.clientDisconnects.snapshot()))
	p("- Server, Engine.IO close reasons: %s\n", tallyString(r.app.engineCloses.snapshot()))
	p("- Server, socket disconnect reasons: %s\n", tallyString(r.app.disconnects.snapshot()))
	p("- Server logs (warnings and errors): %s\n", tallyString(r.app.serverLogs.snapshot()))
	p("- net/http's own log: %s\n", tallyString(r.app.httpLogs.snapshot()))
	p("- Client lives by profile: %s\n", tallyString(r.lifeProfiles.snapshot()))

	p("\n### Problems\n\n")
	probs := r.st.problemList()
	if len(probs) == 0 {
		p("None.\n")
	}
	for _, pr := range probs {
		kind := "expected under faults"
		if pr.Fatal {
			kind = "**broken invariant**"
		}
		p("- %s: %d (%s)\n", pr.Kind, pr.Count, kind)
		for _, s := range pr.Samples {
			p("  - `%s`\n", strings.ReplaceAll(s, "`", "'"))
		}
	}

	p("\nBugs the soak has found, all fixed, each with a regression test run by `make test`:\n\n")
	p("- two packets with binary attachments sent at once on one connection (two namespaces, or an\n")
	p("  acknowledgement and a broadcast) interleaved their messages; the peer's decoder failed (\"got\n")
	p("  plaintext data when reconstructing a packet\") and the connection closed, for a client that did\n")
	p("  nothing wrong (`TestServerAttachmentsDoNotInterleave`, `TestClientAttachmentsDoNotInterleave` in\n")
	p("  `e2e/soak/bugs_test.go`; `TestConcurrentBinaryPacketsDoNotInterleave` in the root package);\n")
	p("- a socket whose connection closed while it was being attached stayed registered, and connected,\n")
	p("  in its namespace for good (`TestConnectionClosedDuringAttach` in the root package).\n")

	p("\n## Running it for hours\n\n")
	p("```sh\n")
	p("make soak                                    # 2 h of traffic, 200 clients (~2h05 in all)\n")
	p("make soak SOAK_DURATION=8h SOAK_CLIENTS=500  # longer, bigger\n")
	p("make soak SOAK_DURATION=30m SOAK_ARGS='-rate 2 -faulted 0.5 -fault-rate 5 -rogues 8'\n")
	p("go run ./e2e/soak -h                         # every knob\n")
	p("```\n\n")
	p("It stops by itself at the duration, closes every client, checks the idle server is back near its\n")
	p("baseline (no session, socket or dynamic namespace left; goroutines, fds and heap within\n")
	p("`-goroutine-slack`, `-fd-slack`, `-heap-slack`), shuts it down, checks the process is back to where\n")
	p("it started, writes `docs/soak.{csv,png,md}` (`-csv`, `-png`, `-md` to change) and exits 1 when a check\n")
	p("or an invariant broke. Progress lines go to stderr every `-progress`. The CSV is downsampled to\n")
	p("`-csv-max-rows`. Run hours on a machine you can leave alone: the load generator shares the CPU with\n")
	p("the server, so a busy machine shows up as timeouts of clients without faults, which fail the run.\n\n")
	p("Invariants (a broken one fails the run): every acknowledged echo comes back identical (text,\n")
	p("binary, CRC); every binary broadcast arrives with its CRC; a client without faults gets every\n")
	p("message of each room it is in, once, in order, from its join to its leave (the server numbers them\n")
	p("per room and tells each socket where its membership starts and ends, in the same stream), is never\n")
	p("disconnected and gets every acknowledgement; the server's questions are answered right; the\n")
	p("middleware refuses a bad token with its message; every misbehaving client is cut off in time; the\n")
	p("server logs no error. Clients behind the proxy lose connections by design: what they lose or get\n")
	p("twice is counted, not failed.\n")
	return b.String()
}

// phaseDurations returns how long the traffic, the winding down and the
// cooldown (with the drain check) lasted.
func (r *run) phaseDurations() (traffic, winding, cooldown time.Duration) {
	at := map[string]time.Duration{}
	for _, m := range r.marks {
		at[m.Name] = m.T
	}
	traffic = at["winding down"] - at["traffic"]
	winding = at["cooldown"] - at["winding down"]
	cooldown = at["shutdown"] - at["cooldown"]
	return
}

// tallyString lists a tally, largest first.
func tallyString(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return int(m[b] - m[a]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", strings.ReplaceAll(k, "|", "/"), m[k])
	}
	return strings.Join(parts, ", ")
}
