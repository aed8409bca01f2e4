package delivery

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	socketio "github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
)

// fleet is the clients of one run, of one kind.
type fleet interface {
	// start makes every client send its messages, one every interval;
	// it returns at once.
	start(interval time.Duration)
	// progress returns, per client, what it has sent and received so far.
	progress() []clientProgress
	// finish waits for the sending to end (it has, when the chaos is
	// over), disconnects every client and returns what each received.
	finish(t tb) []clientResult
}

type clientProgress struct {
	Name     string
	Sent     int // messages handed to Emit
	Raw      int // deliveries of "chat message"
	Distinct int // distinct ids among them (for the wait only)
}

// clientResult is what one client did and received, raw.
type clientResult struct {
	Name        string
	Sent        int
	Received    []int64         // ids of every "chat message" delivered, in order, repeats included
	ReceivedAt  []time.Duration // when each was delivered, on the run's timeline
	Connects    int
	Recovered   int // connects where the client saw its session recovered
	Disconnects map[string]int
}

// clientOpts are the options shared by both kinds of client.
type clientOpts struct {
	Transport  string // websocket or polling, the only one used
	Retries    int    // 0: plain Emit, no acknowledgement
	AckTimeout time.Duration
}

const (
	reconnectionDelay    = 50 * time.Millisecond
	reconnectionDelayMax = 500 * time.Millisecond
	connectTimeout       = 2 * time.Second
)

// goFleet is N clients of our client package.
type goFleet struct {
	url     string
	perEach int
	opts    clientOpts
	tl      *timeline
	clients []*goClient
	wg      sync.WaitGroup
	stop    chan struct{}
}

type goClient struct {
	name string
	s    *client.Socket

	mu          sync.Mutex
	sent        int
	received    []int64
	receivedAt  []time.Duration
	distinct    map[int64]struct{}
	connects    int
	recovered   int
	disconnects map[string]int
}

// newGoFleet connects n clients to url and waits until each is connected.
func newGoFleet(t tb, url string, n, perEach int, opts clientOpts, tl *timeline) *goFleet {
	t.Helper()
	f := &goFleet{url: url, perEach: perEach, opts: opts, tl: tl, stop: make(chan struct{})}
	for i := range n {
		c := &goClient{name: fmt.Sprintf("go%d", i), distinct: make(map[int64]struct{}), disconnects: make(map[string]int)}
		s, err := client.Connect(url, &client.Options{
			ForceNew: true,
			ManagerOptions: client.ManagerOptions{
				Transports:           []string{opts.Transport},
				Upgrade:              client.Bool(false),
				ReconnectionDelay:    reconnectionDelay,
				ReconnectionDelayMax: reconnectionDelayMax,
				Timeout:              connectTimeout,
				AutoConnect:          client.Bool(false), // the handlers first
			},
			SocketOptions: client.SocketOptions{
				Auth:       map[string]any{"name": c.name},
				Retries:    opts.Retries,
				AckTimeout: opts.AckTimeout,
			},
		})
		if err != nil {
			f.closeAll()
			t.Fatal(err)
		}
		c.s = s
		s.On("chat message", func(e *socketio.Event) {
			var msg string
			var id int64
			if err := e.Bind(&msg, &id); err != nil {
				tl.add(c.name, "client: bad chat message %v: %v", e.Args, err)
				return
			}
			c.mu.Lock()
			c.received = append(c.received, id)
			c.receivedAt = append(c.receivedAt, time.Since(tl.start))
			c.distinct[id] = struct{}{}
			c.mu.Unlock()
		})
		s.OnConnect(func() {
			recovered := s.Recovered()
			c.mu.Lock()
			c.connects++
			if recovered {
				c.recovered++
			}
			c.mu.Unlock()
			tl.add(c.name, "client: connected %s, recovered %v", s.ID(), recovered)
		})
		s.OnDisconnect(func(reason string, cause error) {
			c.mu.Lock()
			c.disconnects[reason]++
			c.mu.Unlock()
			tl.add(c.name, "client: disconnected: %s (%v)", reason, cause)
		})
		f.clients = append(f.clients, c)
		s.Connect()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range f.clients {
		if err := c.s.WaitConnected(ctx); err != nil {
			f.closeAll()
			t.Fatalf("%s: not connected: %v", c.name, err)
		}
	}
	return f
}

func (f *goFleet) start(interval time.Duration) {
	for _, c := range f.clients {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			next := time.Now()
			for k := range f.perEach {
				clientOffset := fmt.Sprintf("%s-%d", c.name, k)
				// Emit buffers while disconnected; with Retries it queues
				// until the server acknowledges.
				_ = c.s.Emit("chat message", "hello from "+clientOffset, clientOffset)
				c.mu.Lock()
				c.sent++
				c.mu.Unlock()
				next = next.Add(interval)
				select {
				case <-time.After(time.Until(next)):
				case <-f.stop:
					return
				}
			}
		}()
	}
}

func (f *goFleet) progress() []clientProgress {
	out := make([]clientProgress, 0, len(f.clients))
	for _, c := range f.clients {
		c.mu.Lock()
		out = append(out, clientProgress{Name: c.name, Sent: c.sent, Raw: len(c.received), Distinct: len(c.distinct)})
		c.mu.Unlock()
	}
	return out
}

func (f *goFleet) finish(t tb) []clientResult {
	t.Helper()
	close(f.stop)
	f.wg.Wait()
	defer f.closeAll()
	out := make([]clientResult, 0, len(f.clients))
	for _, c := range f.clients {
		c.mu.Lock()
		out = append(out, clientResult{
			Name: c.name, Sent: c.sent, Received: slices.Clone(c.received), ReceivedAt: slices.Clone(c.receivedAt),
			Connects: c.connects, Recovered: c.recovered, Disconnects: copyCounts(c.disconnects),
		})
		c.mu.Unlock()
	}
	return out
}

func (f *goFleet) closeAll() {
	for _, c := range f.clients {
		if c.s != nil {
			_ = c.s.Manager().Close()
		}
	}
}
