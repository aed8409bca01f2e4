package delivery

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tally compares what every receiver got with what the server stored.
type tally struct {
	Sent      int // messages handed to Emit, over all clients
	Stored    int // distinct messages the server stored (and broadcast)
	Senders   []senderTally
	Receivers []receiverTally
	// Problems are inconsistencies of the counting itself: they fail every
	// variant, the baseline included.
	Problems []string
}

type senderTally struct {
	Name    string
	Sent    int
	Stored  int
	Missing []string // client offsets sent and never stored
}

type receiverTally struct {
	Name     string
	Raw      int     // deliveries of "chat message", repeats included
	Distinct int     // stored ids received at least once
	Lost     []int64 // stored ids never received
	Dup      int     // deliveries past the first of an id
	DupIDs   []int64 // ids received more than once
	Unknown  []int64 // ids the server never stored (cannot happen)
}

// Lost and Dup totals over the receivers.
func (t tally) totals() (raw, lost, dup int) {
	for _, r := range t.Receivers {
		raw += r.Raw
		lost += len(r.Lost)
		dup += r.Dup
	}
	return
}

func (t tally) senderLost() int { return t.Sent - t.Stored }

// count builds the tally of the stored rows (ids 1..n, each with the client
// offset "<client>-<k>" of its sender) and of the clients' raw receptions.
func count(rows []row, clients []clientResult) tally {
	var tl tally
	problem := func(format string, args ...any) { tl.Problems = append(tl.Problems, fmt.Sprintf(format, args...)) }

	stored := make(map[int64]row, len(rows))
	storedBy := make(map[string]map[int]bool)
	for i, r := range rows {
		if r.ID != int64(i+1) {
			problem("row %d has id %d: ids are not 1..n", i, r.ID)
		}
		if _, dup := stored[r.ID]; dup {
			problem("id %d stored twice", r.ID)
		}
		stored[r.ID] = r
		name, k, ok := splitOffset(r.ClientOffset)
		if !ok {
			problem("stored client offset %q is not <client>-<k>", r.ClientOffset)
			continue
		}
		if storedBy[name] == nil {
			storedBy[name] = make(map[int]bool)
		}
		if storedBy[name][k] {
			problem("client offset %q stored twice", r.ClientOffset)
		}
		storedBy[name][k] = true
	}
	tl.Stored = len(stored)

	names := make(map[string]bool)
	for _, c := range clients {
		if names[c.Name] {
			problem("two clients named %s", c.Name)
		}
		names[c.Name] = true
		st := senderTally{Name: c.Name, Sent: c.Sent, Stored: len(storedBy[c.Name])}
		for k := range c.Sent {
			if !storedBy[c.Name][k] {
				st.Missing = append(st.Missing, c.Name+"-"+strconv.Itoa(k))
			}
		}
		for k := range storedBy[c.Name] {
			if k >= c.Sent {
				problem("%s-%d stored, but %s sent only %d messages", c.Name, k, c.Name, c.Sent)
			}
		}
		if st.Stored+len(st.Missing) != st.Sent {
			problem("%s: %d stored + %d missing != %d sent", c.Name, st.Stored, len(st.Missing), st.Sent)
		}
		tl.Sent += c.Sent
		tl.Senders = append(tl.Senders, st)
	}
	for name := range storedBy {
		if !names[name] {
			problem("messages stored from %s, which is no client of the run", name)
		}
	}

	for _, c := range clients {
		rt := receiverTally{Name: c.Name, Raw: len(c.Received)}
		seen := make(map[int64]int, len(c.Received))
		for _, id := range c.Received {
			seen[id]++
		}
		for id, n := range seen {
			if _, ok := stored[id]; !ok {
				rt.Unknown = append(rt.Unknown, id)
				continue
			}
			rt.Distinct++
			if n > 1 {
				rt.Dup += n - 1
				rt.DupIDs = append(rt.DupIDs, id)
			}
		}
		for id := range stored {
			if seen[id] == 0 {
				rt.Lost = append(rt.Lost, id)
			}
		}
		slices.Sort(rt.Lost)
		slices.Sort(rt.DupIDs)
		slices.Sort(rt.Unknown)
		if len(rt.Unknown) > 0 {
			problem("%s received ids never stored: %v", c.Name, head(rt.Unknown, 10))
		}
		unknownRaw := 0
		for _, id := range rt.Unknown {
			unknownRaw += seen[id]
		}
		if rt.Distinct+len(rt.Lost) != tl.Stored {
			problem("%s: %d received + %d lost != %d stored", c.Name, rt.Distinct, len(rt.Lost), tl.Stored)
		}
		if rt.Distinct+rt.Dup+unknownRaw != rt.Raw {
			problem("%s: %d distinct + %d duplicates + %d unknown != %d deliveries", c.Name, rt.Distinct, rt.Dup, unknownRaw, rt.Raw)
		}
		tl.Receivers = append(tl.Receivers, rt)
	}
	if tl.Stored > tl.Sent {
		problem("%d stored > %d sent", tl.Stored, tl.Sent)
	}
	return tl
}

// splitOffset parses "<client>-<k>".
func splitOffset(s string) (name string, k int, ok bool) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return "", 0, false
	}
	k, err := strconv.Atoi(s[i+1:])
	if err != nil || k < 0 {
		return "", 0, false
	}
	return s[:i], k, true
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// TestCount checks the counting on a made-up run: it must see every loss,
// every repeat and every inconsistency, and nothing else.
func TestCount(t *testing.T) {
	rows := []row{
		{ID: 1, ClientOffset: "a-0"}, {ID: 2, ClientOffset: "b-0"},
		{ID: 3, ClientOffset: "a-1"}, {ID: 4, ClientOffset: "b-2"},
	}
	clients := []clientResult{
		{Name: "a", Sent: 3, Received: []int64{1, 2, 3, 4}},       // a-2 never stored
		{Name: "b", Sent: 3, Received: []int64{1, 2, 2, 4, 4, 4}}, // b-1 never stored; 3 lost; 2 and 4 repeated
	}
	tl := count(rows, clients)
	if len(tl.Problems) != 0 {
		t.Fatalf("problems on a consistent run: %v", tl.Problems)
	}
	if tl.Sent != 6 || tl.Stored != 4 || tl.senderLost() != 2 {
		t.Errorf("sent %d stored %d sender lost %d, want 6 4 2", tl.Sent, tl.Stored, tl.senderLost())
	}
	if got := tl.Senders[0].Missing; !slices.Equal(got, []string{"a-2"}) {
		t.Errorf("a missing %v", got)
	}
	if got := tl.Senders[1].Missing; !slices.Equal(got, []string{"b-1"}) {
		t.Errorf("b missing %v", got)
	}
	a, b := tl.Receivers[0], tl.Receivers[1]
	if a.Raw != 4 || a.Distinct != 4 || len(a.Lost) != 0 || a.Dup != 0 {
		t.Errorf("a: %+v", a)
	}
	if b.Raw != 6 || b.Distinct != 3 || !slices.Equal(b.Lost, []int64{3}) || b.Dup != 3 || !slices.Equal(b.DupIDs, []int64{2, 4}) {
		t.Errorf("b: %+v", b)
	}
	if raw, lost, dup := tl.totals(); raw != 10 || lost != 1 || dup != 3 {
		t.Errorf("totals %d %d %d, want 10 1 3", raw, lost, dup)
	}

	// Inconsistent runs are reported.
	bad := []struct {
		name    string
		rows    []row
		clients []clientResult
	}{
		{"unknown id", rows, []clientResult{{Name: "a", Sent: 2, Received: []int64{9}}, {Name: "b", Sent: 3}}},
		{"stored past sent", rows, []clientResult{{Name: "a", Sent: 1}, {Name: "b", Sent: 3}}},
		{"stranger", rows, []clientResult{{Name: "a", Sent: 2}}},
		{"offset twice", []row{{ID: 1, ClientOffset: "a-0"}, {ID: 2, ClientOffset: "a-0"}}, []clientResult{{Name: "a", Sent: 1}}},
		{"ids not 1..n", []row{{ID: 2, ClientOffset: "a-0"}}, []clientResult{{Name: "a", Sent: 1}}},
		{"bad offset", []row{{ID: 1, ClientOffset: "nodash"}}, []clientResult{{Name: "a", Sent: 1}}},
	}
	for _, c := range bad {
		if got := count(c.rows, c.clients); len(got.Problems) == 0 {
			t.Errorf("%s: no problem reported", c.name)
		}
	}
}
