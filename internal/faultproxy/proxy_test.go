package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer echoes every byte back, and closes its write side when its
// peer does.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func newProxy(t *testing.T, target string, opts *Options) *Proxy {
	t.Helper()
	p, err := New(target, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, p *Proxy) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// waitConns waits until the proxy has n open connections.
func waitConns(t *testing.T, p *Proxy, n int) []*Conn {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conns := p.Conns()
		if len(conns) == n {
			return conns
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d open connections, want %d", len(conns), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// roundTrip writes msg and reads it back within d.
func roundTrip(c net.Conn, msg []byte, d time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(d))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return errors.New("echo differs")
	}
	return nil
}

// readUntilClosed reads until an error other than a timeout, within d,
// and returns the bytes read and that error.
func readUntilClosed(c net.Conn, d time.Duration) (int, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := io.Copy(io.Discard, c)
	if err == nil {
		err = io.EOF
	}
	return int(n), err
}

func waitRefused(t *testing.T, p *Proxy, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Refused < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestForward(t *testing.T) {
	p := newProxy(t, echoServer(t), nil)
	c := dial(t, p)
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: many reads
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		if err == nil {
			err = c.CloseWrite() // the EOF goes through, and comes back
		}
		errc <- err
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if werr := <-errc; werr != nil {
		t.Fatalf("write: %v", werr)
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("got %d bytes back, want the %d sent", len(got), len(big))
	}
	waitConns(t, p, 0)
	if st := p.Stats(); st.Accepted != 1 || st.Drops+st.Cuts+st.Stalls != 0 {
		t.Errorf("Stats = %+v, want 1 accepted and no fault", st)
	}
}

func TestDrop(t *testing.T) {
	var mu sync.Mutex
	var faults []Fault
	p := newProxy(t, echoServer(t), &Options{OnFault: func(_ *Conn, f Fault) {
		mu.Lock()
		faults = append(faults, f)
		mu.Unlock()
	}})
	c := dial(t, p)
	if err := roundTrip(c, []byte("hello"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	conns := waitConns(t, p, 1)
	if !conns[0].Drop() {
		t.Fatal("Drop = false on an open connection")
	}
	if conns[0].Drop() {
		t.Error("second Drop = true")
	}
	select {
	case <-conns[0].Done():
	case <-time.After(time.Second):
		t.Fatal("Done not closed after Drop")
	}
	if _, err := readUntilClosed(c, 5*time.Second); isTimeout(err) {
		t.Fatalf("client read after Drop: %v, want the connection closed", err)
	}
	waitConns(t, p, 0)
	if st := p.Stats(); st.Drops != 1 {
		t.Errorf("Stats.Drops = %d, want 1", st.Drops)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(faults) != 1 || faults[0] != Drop {
		t.Errorf("OnFault saw %v, want [drop]", faults)
	}
}

func TestDropAll(t *testing.T) {
	p := newProxy(t, echoServer(t), nil)
	var cs []net.Conn
	for range 3 {
		c := dial(t, p)
		if err := roundTrip(c, []byte("x"), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	if n := p.DropAll(); n != 3 {
		t.Fatalf("DropAll = %d, want 3", n)
	}
	for i, c := range cs {
		if _, err := readUntilClosed(c, 5*time.Second); isTimeout(err) {
			t.Errorf("conn %d still open after DropAll", i)
		}
	}
	waitConns(t, p, 0)
	// New connections still work.
	if err := roundTrip(dial(t, p), []byte("again"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestCut(t *testing.T) {
	// The target counts what it receives.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	received := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer c.Close()
		n, _ := readUntilClosed(c, 5*time.Second)
		received <- n
	}()
	p := newProxy(t, ln.Addr().String(), nil)
	c := dial(t, p)
	conns := waitConns(t, p, 1)
	if !conns[0].Cut() {
		t.Fatal("Cut = false")
	}
	if conns[0].Cut() {
		t.Error("Cut armed twice")
	}
	msg := bytes.Repeat([]byte("f"), 1000) // a "frame"
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	n := <-received
	if n < 0 || n >= len(msg) {
		t.Fatalf("target received %d bytes of a cut %d-byte frame, want part of it", n, len(msg))
	}
	if _, err := readUntilClosed(c, 5*time.Second); isTimeout(err) {
		t.Fatal("client connection open after the cut")
	}
	waitConns(t, p, 0)
	if st := p.Stats(); st.Cuts != 1 {
		t.Errorf("Stats.Cuts = %d, want 1", st.Cuts)
	}
	t.Logf("target received %d of %d bytes", n, len(msg))
}

func TestCutWithoutTrafficDrops(t *testing.T) {
	p := newProxy(t, echoServer(t), &Options{CutWait: 50 * time.Millisecond})
	c := dial(t, p)
	conns := waitConns(t, p, 1)
	start := time.Now()
	conns[0].Cut()
	if _, err := readUntilClosed(c, 5*time.Second); isTimeout(err) {
		t.Fatal("connection open after CutWait")
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("closed after %v, before CutWait", d)
	}
	if st := p.Stats(); st.Cuts != 1 {
		t.Errorf("Stats.Cuts = %d, want 1", st.Cuts)
	}
}

func TestStallResume(t *testing.T) {
	p := newProxy(t, echoServer(t), nil)
	c := dial(t, p)
	if err := roundTrip(c, []byte("before"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	conn := waitConns(t, p, 1)[0]
	if !conn.Stall(300*time.Millisecond, false) {
		t.Fatal("Stall = false")
	}
	if conn.Stall(time.Second, true) {
		t.Error("Stall on a stalled connection = true")
	}
	if !conn.Stalled() {
		t.Error("Stalled = false")
	}
	start := time.Now()
	if err := roundTrip(c, []byte("during"), 100*time.Millisecond); !isTimeout(err) {
		t.Fatalf("round trip during a stall: %v, want a timeout", err)
	}
	// The bytes were held, not lost: they come once the stall ends.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len("during"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "during" {
		t.Fatalf("after the stall: %q, %v", got, err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("echo came after %v, inside the stall", d)
	}
	if err := roundTrip(c, []byte("after"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Stalls != 1 || st.Resumed != 1 || st.StallDrops != 0 {
		t.Errorf("Stats = %+v, want 1 stall, resumed", st)
	}
}

func TestStallDrop(t *testing.T) {
	p := newProxy(t, echoServer(t), nil)
	c := dial(t, p)
	conn := waitConns(t, p, 1)[0]
	start := time.Now()
	conn.Stall(150*time.Millisecond, true)
	if _, err := c.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	n, err := readUntilClosed(c, 5*time.Second)
	if isTimeout(err) {
		t.Fatal("connection open after a dropping stall")
	}
	if n != 0 {
		t.Errorf("%d bytes came through a stall", n)
	}
	if d := time.Since(start); d < 140*time.Millisecond {
		t.Errorf("dropped after %v, before the stall's end", d)
	}
	if st := p.Stats(); st.Stalls != 1 || st.StallDrops != 1 {
		t.Errorf("Stats = %+v, want 1 stall ended by a drop", st)
	}
}

func TestResume(t *testing.T) {
	p := newProxy(t, echoServer(t), nil)
	c := dial(t, p)
	conn := waitConns(t, p, 1)[0]
	conn.Stall(time.Hour, true)
	if !conn.Resume() {
		t.Fatal("Resume = false on a stalled connection")
	}
	if conn.Resume() {
		t.Error("Resume = true on a running connection")
	}
	if err := roundTrip(c, []byte("go on"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestMaxConns(t *testing.T) {
	p := newProxy(t, echoServer(t), &Options{MaxConns: 1})
	c1 := dial(t, p)
	if err := roundTrip(c1, []byte("one"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if c2, err := net.Dial("tcp", p.Addr()); err == nil { // the reset may come before the dial returns
		defer c2.Close()
		if _, err := readUntilClosed(c2, 5*time.Second); isTimeout(err) {
			t.Fatal("connection past MaxConns left open")
		}
	}
	waitRefused(t, p, 1)
	if err := roundTrip(c1, []byte("still"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Refused != 1 {
		t.Errorf("Stats.Refused = %d, want 1", st.Refused)
	}
}

func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newProxy(t, addr, nil)
	c, err := net.Dial("tcp", p.Addr())
	if err == nil { // the reset may also come before the dial returns
		defer c.Close()
		if _, err := readUntilClosed(c, 5*time.Second); isTimeout(err) {
			t.Fatal("client connection open while the target refuses")
		}
	}
	waitRefused(t, p, 1)
	if st := p.Stats(); st.Refused != 1 || st.Accepted != 0 {
		t.Errorf("Stats = %+v, want 1 refused", st)
	}
}

// TestChaos runs traffic on several connections, reopened when a fault
// closes them, while Chaos injects faults; it checks that Chaos returns
// with its context, injected faults of every kind, and that the proxy
// still forwards once it stops.
func TestChaos(t *testing.T) {
	p := newProxy(t, echoServer(t), &Options{StallMin: 10 * time.Millisecond, StallMax: 50 * time.Millisecond, CutWait: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	trips, broken := 0, 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := net.Dial("tcp", p.Addr())
				if err != nil {
					return
				}
				for ctx.Err() == nil {
					if err := roundTrip(c, bytes.Repeat([]byte("m"), 512), time.Second); err != nil {
						mu.Lock()
						broken++
						mu.Unlock()
						break
					}
					mu.Lock()
					trips++
					mu.Unlock()
				}
				_ = c.Close()
			}
		}()
	}
	start := time.Now()
	st := p.Chaos(ctx, 40, 42)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Chaos returned %v after start, its context ended at 1.5s", d)
	}
	wg.Wait()
	t.Logf("chaos: %+v; proxy: %+v; %d round trips, %d broken", st, p.Stats(), trips, broken)
	if st.Drops == 0 || st.Cuts == 0 || st.Stalls == 0 {
		t.Errorf("Chaos injected %+v, want every kind", st)
	}
	if broken == 0 || trips == 0 {
		t.Errorf("%d round trips and %d broken connections, want both", trips, broken)
	}
	for _, c := range p.Conns() { // let the stalls still under way end
		c.Resume()
	}
	if err := roundTrip(dial(t, p), []byte("calm"), 5*time.Second); err != nil {
		t.Fatalf("after Chaos: %v", err)
	}
}

func TestChaosZeroRate(t *testing.T) {
	p := newProxy(t, echoServer(t), nil)
	c := dial(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if st := p.Chaos(ctx, 0, 1); st != (Stats{}) {
		t.Errorf("Chaos at rate 0 = %+v", st)
	}
	if err := roundTrip(c, []byte("ok"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWaits closes a proxy with stalled and busy connections and a
// chaos loop running: Close returns, the loop too, and every connection is
// closed (TestMain checks that no goroutine is left).
func TestCloseWaits(t *testing.T) {
	p, err := New(echoServer(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := dial(t, p), dial(t, p)
	conns := waitConns(t, p, 2)
	conns[0].Stall(time.Hour, false)
	conns[1].Cut()
	_, _ = c1.Write([]byte("held"))
	chaosDone := make(chan Stats, 1)
	go func() { chaosDone <- p.Chaos(context.Background(), 1, 7) }()
	time.Sleep(20 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	select {
	case <-chaosDone:
	case <-time.After(time.Second):
		t.Fatal("Chaos still running after Close")
	}
	for i, c := range []net.Conn{c1, c2} {
		if _, err := readUntilClosed(c, 5*time.Second); isTimeout(err) {
			t.Errorf("conn %d open after Close", i)
		}
	}
	if err := p.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Error("proxy still accepting after Close")
	}
	if st := p.Chaos(context.Background(), 10, 1); st != (Stats{}) {
		t.Errorf("Chaos after Close = %+v", st)
	}
}
