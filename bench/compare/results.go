package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// runResult is one generator run: one scenario, one target, one round.
type runResult struct {
	Scenario  string
	Target    string
	Round     int
	OK        bool
	Err       string
	Values    map[string]float64 // by metric key
	Saturated bool               // the generator was near one core busy
	Warnings  []string
}

// results are every run of a comparison.
type results struct {
	runs []runResult
}

func (r *results) add(rr runResult) { r.runs = append(r.runs, rr) }

// values returns the values of metric key of the successful runs of
// scenario on target, in round order.
func (r *results) values(scenario, target, key string) []float64 {
	var out []float64
	for _, rr := range r.runs {
		if rr.Scenario != scenario || rr.Target != target || !rr.OK {
			continue
		}
		if v, ok := rr.Values[key]; ok {
			out = append(out, v)
		}
	}
	return out
}

// of returns the runs of scenario on target, successful or not.
func (r *results) of(scenario, target string) []runResult {
	var out []runResult
	for _, rr := range r.runs {
		if rr.Scenario == scenario && rr.Target == target {
			out = append(out, rr)
		}
	}
	return out
}

// summary is what the tables show of several rounds.
type summary struct {
	N                int
	Median, Min, Max float64
	Sum              float64
}

func summarize(vs []float64) summary {
	if len(vs) == 0 {
		return summary{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	var med float64
	if n := len(s); n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return summary{N: len(s), Median: med, Min: s[0], Max: s[len(s)-1], Sum: sum}
}

// median returns the median of metric key of scenario on target.
func (r *results) median(scenario, target, key string) (float64, bool) {
	s := summarize(r.values(scenario, target, key))
	return s.Median, s.N > 0
}

// check is one of the performance targets of the project, met or not.
type check struct {
	Name   string
	Status string // "met", "not met" or "not measured"
	Detail string
}

const (
	met         = "met"
	notMet      = "not met"
	notMeasured = "not measured"
)

// checks evaluates the targets on the medians of r. scens are all the
// scenarios of the sizes compared, run or not (their titles name the
// sizes); a target whose numbers were not measured says so.
func checks(r *results, scens []scenario) []check {
	title := map[string]string{}
	for _, s := range scens {
		title[s.Key] = s.Title
	}
	// atLeast checks that ours' median of metric key (in unit) of scenario
	// scn is at least factor times other's (raw's or Node's).
	atLeast := func(name, scn, key, unit string, factor float64, other string) check {
		c := check{Name: name}
		o, ok1 := r.median(scn, ours, key)
		w, ok2 := r.median(scn, other, key)
		if ok1 && ok2 && w > 0 {
			otherName := "raw"
			if other == node {
				otherName = "Node"
			}
			c.Detail = fmt.Sprintf("ours %s %s = %s %s (%s)", num(o), unit, ratio(o, w), otherName, num(w))
			c.Status = status(o >= factor*w)
		}
		return c
	}
	var out []check

	// Idle memory per WebSocket connection.
	{
		c := check{Name: "idle memory per WebSocket connection ≤ 1.1× raw and ≤ 0.6× Node"}
		o, ok1 := r.median("connections", ours, "mem")
		w, ok2 := r.median("connections", raw, "mem")
		n, ok3 := r.median("connections", node, "mem")
		if ok1 && ok2 && ok3 && w > 0 && n > 0 {
			c.Detail = fmt.Sprintf("ours %s KiB = %s raw (%s KiB), %s Node (%s KiB)", num(o), ratio(o, w), num(w), ratio(o, n), num(n))
			c.Status = status(o <= 1.1*w && o <= 0.6*n)
		}
		out = append(out, c)
	}
	// Idle memory per polling session: the raw server has no polling.
	{
		c := check{Name: "idle memory per polling session ≤ 0.6× Node"}
		o, ok1 := r.median("polling-connections", ours, "mem")
		n, ok2 := r.median("polling-connections", node, "mem")
		if ok1 && ok2 && n > 0 {
			c.Detail = fmt.Sprintf("ours %s KiB = %s Node (%s KiB)", num(o), ratio(o, n), num(n))
			c.Status = status(o <= 0.6*n)
		}
		out = append(out, c)
	}
	// Echo throughput and tail latency.
	for _, key := range []string{"echo-small", "echo-large"} {
		c := check{Name: fmt.Sprintf("echo acks/s ≥ 0.85× raw with p99 ≤ Node's (%s)", strings.TrimPrefix(title[key], "echo with ack over WebSocket, "))}
		o, ok1 := r.median(key, ours, "acks")
		w, ok2 := r.median(key, raw, "acks")
		op, ok3 := r.median(key, ours, "p99")
		np, ok4 := r.median(key, node, "p99")
		if ok1 && ok2 && ok3 && ok4 && w > 0 {
			c.Detail = fmt.Sprintf("ours %s acks/s = %s raw; p99 ours %s ms, Node %s ms", num(o), ratio(o, w), num(op), num(np))
			c.Status = status(o >= 0.85*w && op <= np)
		}
		out = append(out, c)
	}
	// Fan-out throughput.
	for _, key := range []string{"fanout-small-max", "fanout-large-max"} {
		name := fmt.Sprintf("fan-out deliveries/s ≥ 1.0× raw (%s)", strings.TrimPrefix(title[key], "fan-out to "))
		out = append(out, atLeast(name, key, "deliveries", "deliveries/s", 1, raw))
	}
	// Connect rate, polling echo.
	out = append(out,
		atLeast("connect rate ≥ 0.8× raw", "connections", "rate", "conn/s", 0.8, raw),
		atLeast("polling echo acks/s ≥ 2× Node", "polling-echo", "acks", "acks/s", 2, node))
	// No loss, no duplicate, in every fan-out run of ours.
	{
		c := check{Name: "zero lost and duplicated deliveries in every fan-out run (ours)"}
		runs, failed := 0, 0
		var lost, dup float64
		for _, s := range scens {
			if s.Group != "fanout" {
				continue
			}
			for _, rr := range r.of(s.Key, ours) {
				runs++
				if !rr.OK {
					failed++
					continue
				}
				lost += rr.Values["lost"]
				dup += rr.Values["dup"]
			}
		}
		if runs > 0 {
			c.Detail = fmt.Sprintf("%d runs: %s lost, %s duplicated", runs, num(lost), num(dup))
			if failed > 0 {
				c.Detail += fmt.Sprintf(", %d failed", failed)
			}
			c.Status = status(lost == 0 && dup == 0 && failed == 0)
		}
		out = append(out, c)
	}
	for i := range out {
		if out[i].Status == "" {
			out[i].Status = notMeasured
		}
	}
	return out
}

func status(ok bool) string {
	if ok {
		return met
	}
	return notMet
}

// ratio writes a/b as "1.23×".
func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) || math.IsInf(a/b, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// num writes a measured value with 3 significant digits (integers above
// 1000 in full, with separators).
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1000:
		return thousands(int(math.Round(v)))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
