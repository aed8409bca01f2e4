package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logWriter sends the run's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestSoakShort runs the soak's core for a few seconds with a few clients:
// every kind of traffic, faults and misbehaving client, the drain and
// shutdown checks, and the three outputs.
func TestSoakShort(t *testing.T) {
	dir := t.TempDir()
	cfg := &config{
		Duration:         5 * time.Second,
		Clients:          8,
		Rate:             5,
		FaultedShare:     0.4,
		FaultRate:        3,
		StallMax:         2 * time.Second,
		Rogues:           2,
		ResidentShare:    0.3,
		LifeMin:          time.Second,
		LifeMax:          3 * time.Second,
		PingInterval:     2 * time.Second, // short, but not so short that a
		PingTimeout:      3 * time.Second, // loaded CI machine misses pongs
		RecoveryDuration: 5 * time.Second,
		Sample:           250 * time.Millisecond,
		Progress:         time.Second,
		Cooldown:         500 * time.Millisecond,
		Seed:             uint64(time.Now().UnixNano()),
		CSV:              filepath.Join(dir, "soak.csv"),
		PNG:              filepath.Join(dir, "soak.png"),
		MD:               filepath.Join(dir, "soak.md"),
		Command:          "go test ./e2e/soak",
		HeapSlackMiB:     16,
		GoroutineSlack:   10,
		FDSlack:          10,
	}
	t.Logf("seed %d", cfg.Seed)
	r, err := soak(cfg, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.writeOutputs(); err != nil {
		t.Fatal(err)
	}
	if r.failed() {
		md, _ := os.ReadFile(cfg.MD)
		t.Log(string(md))
		t.Fatalf("soak failed:\n%s", strings.Join(r.failures(), "\n"))
	}
	snap := r.st.snapshot()
	for _, c := range []counter{cLives, cConnects, cEchoOK, cSayOK, cRoomMsgs, cJoins} {
		if snap[c] == 0 {
			t.Errorf("%s: none", counterNames[c])
		}
	}
	if len(r.sm.all()) < 10 {
		t.Errorf("%d samples", len(r.sm.all()))
	}
	f, err := os.Open(cfg.PNG)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("png: %v", err)
	}
	csv, err := os.ReadFile(cfg.CSV)
	if err != nil || !strings.HasPrefix(string(csv), "t_s,phase,goroutines") {
		t.Errorf("csv: %v %.40q", err, csv)
	}
}

func TestCounterNames(t *testing.T) {
	if len(counterNames) != int(nCounters) {
		t.Fatalf("%d counter names for %d counters", len(counterNames), nCounters)
	}
}

func TestGoroutinesBySide(t *testing.T) {
	stop := make(chan struct{})
	started := make(chan struct{})
	goLabeled(sideRogue, func() {
		go func() { close(started); <-stop }() // inherits the label
		<-stop
	})
	<-started
	defer close(stop)
	if n := goroutinesBySide()[sideRogue]; n != 2 {
		t.Fatalf("%d goroutines labeled %q, want 2", n, sideRogue)
	}
}
