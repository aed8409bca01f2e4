// Package delivery measures end-to-end message delivery through a
// fault-injecting proxy (internal/faultproxy): N clients, ours or the
// official JavaScript one, send chat messages to our server, which stores
// each once and broadcasts it; every client counts what it receives, raw,
// and the test compares that with what the server stored. See README.md.
package delivery

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// config is the size of a run, from the environment (see README.md).
type config struct {
	Messages int            // per variant, over all clients (DELIVERY_MESSAGES)
	Clients  int            // DELIVERY_CLIENTS
	Duration time.Duration  // sending and chaos period (DELIVERY_DURATION)
	Rate     float64        // faults per second over the proxy (DELIVERY_RATE)
	Seed     uint64         // of the chaos (DELIVERY_SEED)
	Settle   time.Duration  // bound of the wait after the chaos (DELIVERY_SETTLE; default max(10s, Duration))
	Verbose  bool           // DELIVERY_VERBOSE: timelines even when nothing is lost
	Variants *regexp.Regexp // DELIVERY_VARIANTS: the variants run (matched on "go/polling/recovery"...); nil: all
}

// PerClient is the number of messages each client sends.
func (c config) PerClient() int { return (c.Messages + c.Clients - 1) / c.Clients }

// Interval is the pause between two messages of one client.
func (c config) Interval() time.Duration { return c.Duration / time.Duration(c.PerClient()) }

func (c config) String() string {
	return fmt.Sprintf("%d clients x %d messages, %v of chaos at %.1f faults/s, seed %d",
		c.Clients, c.PerClient(), c.Duration, c.Rate, c.Seed)
}

func loadConfig(t *testing.T) config {
	t.Helper()
	c := config{Messages: 1000, Clients: 2, Rate: 6, Seed: 1}
	intEnv := func(name string, dst *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("%s=%q: want a positive integer", name, v)
			}
			*dst = n
		}
	}
	durEnv := func(name string, dst *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				t.Fatalf("%s=%q: want a positive duration such as 20s", name, v)
			}
			*dst = d
		}
	}
	intEnv("DELIVERY_MESSAGES", &c.Messages)
	intEnv("DELIVERY_CLIENTS", &c.Clients)
	durEnv("DELIVERY_DURATION", &c.Duration)
	durEnv("DELIVERY_SETTLE", &c.Settle)
	if v := os.Getenv("DELIVERY_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 {
			t.Fatalf("DELIVERY_RATE=%q: want a number of faults per second", v)
		}
		c.Rate = r
	}
	if v := os.Getenv("DELIVERY_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DELIVERY_SEED=%q: want an unsigned integer", v)
		}
		c.Seed = s
	}
	if os.Getenv("DELIVERY_CLIENTS") == "" && c.Messages > 1000 {
		c.Clients = 4 // the full run
	}
	c.Verbose = os.Getenv("DELIVERY_VERBOSE") != ""
	if v := os.Getenv("DELIVERY_VARIANTS"); v != "" {
		re, err := regexp.Compile(v)
		if err != nil {
			t.Fatalf("DELIVERY_VARIANTS=%q: %v", v, err)
		}
		c.Variants = re
	}
	if c.Duration == 0 {
		// About 160 messages per second and client, at least 3s of chaos.
		c.Duration = max(3*time.Second, time.Duration(c.PerClient())*6*time.Millisecond)
	}
	if c.Settle == 0 {
		c.Settle = max(10*time.Second, c.Duration)
	}
	if c.Interval() < time.Millisecond {
		t.Fatalf("%v: more than one message per millisecond and client; raise DELIVERY_DURATION", c)
	}
	return c
}
