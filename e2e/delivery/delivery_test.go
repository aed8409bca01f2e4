package delivery

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio/internal/faultproxy"
)

// Client delivery settings of the "recovery" variants: the tutorial's step
// 8 (retries with an acknowledgement timeout), with enough retries that a
// message is never given up under the chaos of the test.
const (
	retries    = 100
	ackTimeout = 500 * time.Millisecond
)

// variant is one run: a kind of client, a transport, a mode.
type variant struct {
	Client    string // go or js
	Transport string // websocket or polling
	Recovery  bool   // recovery + retries; else the defaults (neither)
}

func (v variant) String() string {
	mode := "baseline"
	if v.Recovery {
		mode = "recovery"
	}
	return v.Client + "/" + v.Transport + "/" + mode
}

// outcome is the result of a variant, for the summary.
type outcome struct {
	v          variant
	seed       uint64
	chaos      faultproxy.Stats
	tally      tally
	connects   int
	recovered  int
	retried    int // inserts refused as duplicates (retried messages)
	settled    bool
	settleTime time.Duration
}

// TestDelivery runs every variant at once, then reports each on its own
// subtest, and a summary. With recovery and retries on, nothing may be
// lost nor duplicated; the baselines (defaults: no recovery, no retries)
// report what they lose.
func TestDelivery(t *testing.T) {
	cfg := loadConfig(t)
	t.Logf("config: %v (DELIVERY_MESSAGES=%d per variant)", cfg, cfg.Clients*cfg.PerClient())
	type run struct {
		v    variant
		seed uint64
		rec  *recorder
		o    *outcome // nil when the variant ended with a fatal error
	}
	var runs []*run
	for _, kind := range []string{"go", "js"} {
		for _, tr := range []string{"websocket", "polling"} {
			for _, rec := range []bool{true, false} {
				v := variant{Client: kind, Transport: tr, Recovery: rec}
				seed := cfg.Seed + uint64(len(runs)) // a variant keeps its seed when others are left out
				runs = append(runs, &run{v: v, seed: seed, rec: &recorder{}})
			}
		}
	}
	runs = slices.DeleteFunc(runs, func(r *run) bool { return cfg.Variants != nil && !cfg.Variants.MatchString(r.v.String()) })
	if len(runs) == 0 {
		t.Fatalf("DELIVERY_VARIANTS=%q matches no variant (go|js)/(websocket|polling)/(recovery|baseline)", cfg.Variants)
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := runVariant(r.rec, cfg, r.v, r.seed)
			r.o = &o
		}()
	}
	wg.Wait()
	var outcomes []outcome
	for _, r := range runs {
		t.Run(strings.ReplaceAll(r.v.String(), "/", "_"), func(t *testing.T) { r.rec.replay(t) })
		if r.o != nil {
			outcomes = append(outcomes, *r.o)
		}
	}
	sort.Slice(outcomes, func(i, j int) bool { return outcomes[i].v.String() < outcomes[j].v.String() })
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-24s %6s %6s %6s %8s %6s %5s  %-18s %s\n", "variant", "sent", "stored", "unstrd", "received", "lost", "dup", "faults d/c/s(drop)", "connects (recovered)")
	for _, o := range outcomes {
		raw, lost, dup := o.tally.totals()
		fmt.Fprintf(&b, "%-24s %6d %6d %6d %8d %6d %5d  %-18s %d (%d)\n", o.v, o.tally.Sent, o.tally.Stored, o.tally.senderLost(), raw, lost, dup,
			fmt.Sprintf("%d/%d/%d(%d)", o.chaos.Drops, o.chaos.Cuts, o.chaos.Stalls, o.chaos.StallDrops), o.connects, o.recovered)
	}
	t.Logf("summary (%v):%s", cfg, b.String())
}

// runVariant runs one variant and checks it.
func runVariant(t tb, cfg config, v variant, seed uint64) outcome {
	tl := &timeline{start: time.Now()}
	cs := startChatServer(t, v.Recovery, max(10000, 4*cfg.Clients*cfg.PerClient()), tl)
	defer cs.close(t)
	opts := clientOpts{Transport: v.Transport}
	if v.Recovery {
		opts.Retries, opts.AckTimeout = retries, ackTimeout
	}
	perEach := cfg.PerClient()
	var f fleet
	switch v.Client {
	case "go":
		f = newGoFleet(t, cs.URL(), cfg.Clients, perEach, opts, tl)
	case "js":
		f = newJSFleet(t, cs.URL(), cfg.Clients, perEach, cfg.Interval(), opts, cfg.Duration+cfg.Settle+20*time.Second, tl)
	}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.Duration)
	defer cancel()
	chaosDone := make(chan faultproxy.Stats, 1)
	tl.add("proxy", "chaos starts: %.1f faults/s for %v, seed %d", cfg.Rate, cfg.Duration, seed)
	go func() { chaosDone <- cs.proxy.Chaos(ctx, cfg.Rate, seed) }()
	f.start(cfg.Interval())
	chaos := <-chaosDone
	tl.add("proxy", "chaos ends: %+v", chaos)

	settled, settleTime := settle(cfg, cs, f, perEach)
	results := f.finish(t)
	rows, retried := cs.store.snapshot()
	broadcasts, _, _ := cs.counts()
	tly := count(rows, results)
	o := outcome{v: v, seed: seed, chaos: chaos, tally: tly, retried: retried, settled: settled, settleTime: settleTime}
	for _, r := range results {
		o.connects += r.Connects
		o.recovered += r.Recovered
	}

	report(t, cfg, o, results)
	for _, p := range tly.Problems {
		t.Errorf("counting: %s", p)
	}
	if broadcasts != tly.Stored {
		t.Errorf("counting: %d broadcasts for %d stored messages", broadcasts, tly.Stored)
	}
	if len(results) != cfg.Clients {
		t.Errorf("%d client results, want %d", len(results), cfg.Clients)
	}
	if cfg.Rate > 0 && chaos.Drops+chaos.Cuts+chaos.StallDrops == 0 {
		t.Errorf("the chaos closed no connection (%+v): nothing was tested; raise DELIVERY_RATE or DELIVERY_DURATION", chaos)
	}
	if v.Recovery {
		_, lost, dup := tly.totals()
		if tly.senderLost() != 0 || lost != 0 || dup != 0 {
			t.Errorf("with recovery and retries: %d messages not stored (given up, or still queued when the wait ended), %d lost and %d duplicated deliveries (see the report above)",
				tly.senderLost(), lost, dup)
			diagnose(t, tl, rows, tly, results)
		} else if cfg.Verbose {
			dumpTimeline(t, tl)
		}
	} else if cfg.Verbose {
		diagnose(t, tl, rows, tly, results)
	}
	return o
}

// settle waits, after the chaos, until every message is stored and every
// receiver has each (then a little more, for late repeats), or until
// nothing has moved for a while (nothing more will come: a lost message is
// lost for good), or at most cfg.Settle.
func settle(cfg config, cs *chatServer, f fleet, perEach int) (complete bool, took time.Duration) {
	const quiet = 4 * time.Second // more than a stall (1.5s), a retry (0.5s) and a reconnection (0.5s) together
	start := time.Now()
	deadline := start.Add(cfg.Settle)
	expected := cfg.Clients * perEach
	var last string
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		stored := cs.store.count()
		prog := f.progress()
		done := stored == expected && len(prog) == cfg.Clients
		for _, p := range prog {
			if p.Sent != perEach || p.Distinct != stored {
				done = false
			}
		}
		if done {
			time.Sleep(500 * time.Millisecond) // late repeats would show now
			return true, time.Since(start)
		}
		state := fmt.Sprint(stored, prog)
		if state != last {
			last, lastChange = state, time.Now()
		} else if time.Since(lastChange) > quiet {
			return false, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false, time.Since(start)
}

// report logs the numbers of a variant.
func report(t tb, cfg config, o outcome, results []clientResult) {
	t.Helper()
	raw, lost, dup := o.tally.totals()
	var b strings.Builder
	fmt.Fprintf(&b, "%v, seed %d: faults %+v\n", o.v, o.seed, o.chaos)
	fmt.Fprintf(&b, "  sent %d, stored %d (not stored: %d; retried inserts refused: %d); complete %v after %v of wait\n",
		o.tally.Sent, o.tally.Stored, o.tally.senderLost(), o.retried, o.settled, o.settleTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "  deliveries %d (expected %d), lost %d, duplicated %d\n", raw, o.tally.Stored*len(o.tally.Receivers), lost, dup)
	for i, r := range o.tally.Receivers {
		c := results[i]
		fmt.Fprintf(&b, "  %-4s sent %5d stored %5d | received %6d distinct %6d lost %5d dup %4d | connects %d recovered %d disconnects %v\n",
			r.Name, o.tally.Senders[i].Sent, o.tally.Senders[i].Stored, r.Raw, r.Distinct, len(r.Lost), r.Dup, c.Connects, c.Recovered, c.Disconnects)
	}
	t.Log(b.String())
}

// diagnose logs, for the first lost and duplicated messages of each
// receiver, when they were stored and what happened to that receiver and
// to the proxy around then.
func diagnose(t tb, tl *timeline, rows []row, tly tally, results []clientResult) {
	t.Helper()
	// deliveries[client][id]: when each delivery of id happened; order:
	// its rank among the client's deliveries.
	deliveries := make(map[string]map[int64][]time.Duration)
	order := make(map[string]map[int64][]int)
	for _, c := range results {
		d := make(map[int64][]time.Duration, len(c.Received))
		o := make(map[int64][]int, len(c.Received))
		for i, id := range c.Received {
			o[id] = append(o[id], i)
			if i < len(c.ReceivedAt) {
				d[id] = append(d[id], c.ReceivedAt[i].Round(time.Millisecond))
			}
		}
		deliveries[c.Name], order[c.Name] = d, o
	}
	const window = 1500 * time.Millisecond
	classes := make(map[string]int)
	for _, r := range tly.Receivers {
		for _, id := range r.Lost {
			classes["lost: "+hintLost(tl, r.Name, rows[id-1], deliveries[r.Name])]++
		}
		for _, id := range r.DupIDs {
			classes["duplicated: "+hintDup(order[r.Name], id)]++
		}
	}
	if len(classes) > 0 {
		var keys []string
		for k := range classes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "\n  %4d %s", classes[k], k)
		}
		t.Logf("what the timeline suggests (see README.md, Findings):%s", b.String())
	}
	for _, s := range tly.Senders {
		if len(s.Missing) > 0 {
			t.Logf("%s: %d messages never stored: %v", s.Name, len(s.Missing), head(s.Missing, 10))
		}
	}
	for _, r := range tly.Receivers {
		for _, kind := range []struct {
			what string
			ids  []int64
		}{{"lost", r.Lost}, {"duplicated", r.DupIDs}} {
			if len(kind.ids) == 0 {
				continue
			}
			t.Logf("%s: %d %s: %v", r.Name, len(kind.ids), kind.what, head(kind.ids, 30))
			// One timeline per burst: ids stored within the window of the
			// previous one shown are not shown again.
			var shown time.Duration = -1
			bursts := 0
			for _, id := range kind.ids {
				row := rows[id-1]
				if shown >= 0 && row.At-shown < window {
					continue
				}
				if bursts++; bursts > 3 {
					break
				}
				shown = row.At
				var b strings.Builder
				fmt.Fprintf(&b, "%s %s id %d (%s from %s) stored at %v; %s got id %d at %v, id %d at %v, id %d at %v; around it:\n",
					r.Name, kind.what, id, row.ClientOffset, row.Sender, row.At.Round(time.Millisecond),
					r.Name, id-1, deliveries[r.Name][id-1], id, deliveries[r.Name][id], id+1, deliveries[r.Name][id+1])
				for _, e := range tl.around(r.Name, row.At, window) {
					fmt.Fprintf(&b, "    %s\n", e)
				}
				t.Log(b.String())
			}
		}
	}
}

// hintLost tells what happened to receiver name around the broadcast of
// the message of row, which it never got; deliveries are its receptions.
func hintLost(tl *timeline, name string, row row, deliveries map[int64][]time.Duration) string {
	disconnect := time.Duration(-1) // the receiver's next disconnection
	for _, e := range tl.around(name, row.At, 30*time.Second) {
		if e.Who != name {
			continue
		}
		if strings.Contains(e.What, "connection state recovered") && e.At >= row.At-5*time.Millisecond && e.At <= row.At+50*time.Millisecond {
			return "broadcast while the receiver's session was being restored (finding 1)"
		}
		if disconnect < 0 && strings.Contains(e.What, "client: disconnected") && e.At >= row.At {
			disconnect = e.At
		}
	}
	if disconnect >= 0 && disconnect-row.At < 50*time.Millisecond {
		return "the receiver's connection broke right after (finding 2: a newer broadcast overtook it)"
	}
	newer := 0 // newer messages received before that disconnection
	for id, at := range deliveries {
		if id > row.ID && len(at) > 0 && at[0] >= row.At && (disconnect < 0 || at[0] < disconnect) {
			newer++
		}
	}
	if newer > 0 {
		return "the receiver went on receiving newer messages without a disconnection (finding 3 on polling)"
	}
	return "other"
}

// hintDup tells whether the first delivery of a duplicated id came before
// that of the message stored just before it.
func hintDup(order map[int64][]int, id int64) string {
	first, prev := order[id], order[id-1]
	if len(first) > 0 && len(prev) > 0 && first[0] < prev[0] {
		return "delivered before the message stored just before it (finding 2)"
	}
	return "other"
}

func dumpTimeline(t tb, tl *timeline) {
	t.Helper()
	recs := tl.all()
	slices.SortStableFunc(recs, func(a, b rec) int { return int(a.At - b.At) })
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	t.Logf("timeline:\n%s", b.String())
}
