package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	s := summarize([]float64{3, 1, 2})
	if s.N != 3 || s.Median != 2 || s.Min != 1 || s.Max != 3 || s.Sum != 6 {
		t.Fatalf("summarize(3,1,2) = %+v", s)
	}
	if s := summarize([]float64{4, 1, 2, 3}); s.Median != 2.5 {
		t.Fatalf("median of 1..4 = %v, want 2.5", s.Median)
	}
	if s := summarize(nil); s.N != 0 {
		t.Fatalf("summarize(nil) = %+v", s)
	}
}

func TestLookupAndLastJSON(t *testing.T) {
	out := []byte("sioload: noise\n{\"ok\":false}\n{\"ok\":true,\"results\":{\"latency\":{\"p99_ms\":1.5},\"stalled\":true}}\n")
	m, err := lastJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := m["ok"].(bool); !ok {
		t.Fatalf("took %v, want the last JSON line", m)
	}
	res := m["results"].(map[string]any)
	if v, ok := lookup(res, "latency.p99_ms"); !ok || v != 1.5 {
		t.Fatalf("latency.p99_ms = %v, %v", v, ok)
	}
	if v, ok := lookup(res, "stalled"); !ok || v != 1 {
		t.Fatalf("stalled = %v, %v", v, ok)
	}
	if _, ok := lookup(res, "latency.p50_ms"); ok {
		t.Fatal("found a missing key")
	}
	if _, err := lastJSON([]byte("no json\n")); err == nil {
		t.Fatal("no error without a JSON line")
	}
}

func TestSpliceRegion(t *testing.T) {
	in := []byte("# Bench\n\ntext\n\n" + beginMarker + "\nold\n" + endMarker + "\n\nafter\n")
	out, err := spliceRegion(in, "new report\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Bench\n\ntext\n\n" + beginMarker + "\nnew report\n" + endMarker + "\n\nafter\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	// No markers: the section is appended, then filled.
	out, err = spliceRegion([]byte("# Bench\n"), "r")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "# Bench\n\n## Comparison") || !strings.Contains(string(out), beginMarker+"\nr\n"+endMarker) {
		t.Fatalf("got\n%s", out)
	}
	if _, err := spliceRegion([]byte(beginMarker+endMarker+beginMarker), "r"); err == nil {
		t.Fatal("no error with two begin markers")
	}
}

// fakeResults are 3 rounds of every scenario of the quick sizes, every
// value of ours and Node a fixed multiple of raw's.
func fakeResults(scens []scenario) *results {
	r := &results{}
	for round := 1; round <= 3; round++ {
		for _, s := range scens {
			for _, t := range s.Targets {
				rr := runResult{Scenario: s.Key, Target: t, Round: round, OK: true, Values: map[string]float64{}}
				for _, m := range s.Metrics {
					v := 100 * float64(round)
					switch t {
					case ours:
						v *= 1.05
					case node:
						v *= 2
					}
					if m.Sum {
						v = 0
					}
					rr.Values[m.Key] = v
				}
				r.add(rr)
			}
		}
	}
	return r
}

func TestChecksAndMarkdown(t *testing.T) {
	scens := scenarios(quickSizes())
	r := fakeResults(scens)
	cks := checks(r, scens)
	want := map[string]string{
		"idle memory per WebSocket connection ≤ 1.1× raw and ≤ 0.6× Node": met,
		"idle memory per polling session ≤ 0.6× Node":                     met, // 1.05/2
		"connect rate ≥ 0.8× raw":                                         met,
		"polling echo acks/s ≥ 2× Node":                                   notMet, // 1.05/2
		"zero lost and duplicated deliveries in every fan-out run (ours)": met,
	}
	for _, c := range cks {
		if w, ok := want[c.Name]; ok && c.Status != w {
			t.Errorf("%s: %s (%s), want %s", c.Name, c.Status, c.Detail, w)
		}
		if strings.HasPrefix(c.Name, "echo") && c.Status != met { // 1.05× raw, p99 below Node's
			t.Errorf("%s: %s (%s), want met", c.Name, c.Status, c.Detail)
		}
		if strings.HasPrefix(c.Name, "fan-out") && c.Status != met {
			t.Errorf("%s: %s (%s), want met", c.Name, c.Status, c.Detail)
		}
	}
	// A failed fan-out run of ours is no proof of zero loss.
	r.add(runResult{Scenario: "fanout-small-max", Target: ours, Round: 4, Err: "boom"})
	for _, c := range checks(r, scens) {
		if strings.HasPrefix(c.Name, "zero lost") && c.Status != notMet {
			t.Errorf("with a failed run: %s %s", c.Status, c.Detail)
		}
	}
	md := markdown(meta{Command: "go run ./bench/compare", Rounds: 3, PNG: "compare.png"}, r, scens, targetNames, cks)
	for _, s := range []string{"| target | status | medians |", "| acks/s | 210 (105–315) | 400 (200–600) | 200 (100–300) | 1.05× | 0.53× |",
		"round 4: failed: boom", "![ours, Node and raw", "| acks/s | 210 (105–315) | 400 (200–600) | n/a |  | 0.53× |"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	// Nothing measured: every target says so.
	for _, c := range checks(&results{}, scens) {
		if c.Status != notMeasured {
			t.Errorf("%s: %s with no results", c.Name, c.Status)
		}
	}
}

func TestPlot(t *testing.T) {
	scens := scenarios(quickSizes())
	groups := plotGroups(fakeResults(scens), scens, targetNames)
	if len(groups) != 9 {
		t.Fatalf("%d groups, want 9", len(groups))
	}
	for _, g := range groups {
		if g.Ref == raw && g.Values[raw] != 1 {
			t.Errorf("%q: raw = %v, want 1", g.Label, g.Values[raw])
		}
	}
	data, err := plotPNG("test", groups, targetNames)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 300 {
		t.Fatalf("plot of %v", b)
	}
	if dir := os.Getenv("COMPARE_PLOT_DIR"); dir != "" { // to look at it
		if err := os.WriteFile(filepath.Join(dir, "compare-test.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRotate(t *testing.T) {
	if got := strings.Join(rotate([]string{"a", "b", "c"}, 4), ""); got != "bca" {
		t.Fatalf("rotate by 4 = %s", got)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{999: "999", 1000: "1,000", 19000: "19,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %s, want %s", n, got, want)
		}
	}
}
