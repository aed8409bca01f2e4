package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy is a TCP relay on a loopback port, standing for the load balancer
// in front of a cluster: it sends new connections to its current target,
// can drop every open connection and refuse new ones (paused), so that a
// client loses its node and comes back through the same URL to another.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	paused bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is the http:// URL clients use.
func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		paused, target := p.paused, p.target
		p.mu.Unlock()
		if paused {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// drop closes every open connection; with pause, new ones are refused
// until resume.
func (p *proxy) drop(pause bool) {
	p.mu.Lock()
	p.paused = pause
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// resume sends new connections to target.
func (p *proxy) resume(target string) {
	p.mu.Lock()
	p.paused, p.target = false, target
	p.mu.Unlock()
}

func (p *proxy) close() {
	_ = p.ln.Close()
	p.drop(true)
	p.wg.Wait()
}
