package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// pollClient is one Socket.IO client over HTTP long-polling, as a browser
// without WebSocket runs it: a GET always pending (its poll loop), and
// POSTs for what it sends, each on a keep-alive connection of the client's
// own http.Transport.
type pollClient struct {
	g      *gen
	tr     *http.Transport
	hc     *http.Client // for the polls: no timeout, ctx ends them
	postc  *http.Client // for the POSTs: -timeout each
	url    string       // with the sid
	ctx    context.Context
	cancel context.CancelFunc

	acks      chan ackMsg   // answers, from the poll loop
	pings     chan struct{} // Engine.IO pings to answer
	connected chan error    // the namespace CONNECT (or its refusal)
	pollDone  chan struct{} // closed when the poll loop ends
	rbuf      bytes.Buffer  // the poll loop's response buffer
	wbuf      []byte        // the sender's request buffer
	postBuf   bytes.Buffer  // POST responses
}

type ackMsg struct {
	id   uint64
	same bool
}

var (
	pollPong        = []byte("3")
	pollClose       = []byte("1")
	sioConnectError = []byte("44")
)

// pollConnect opens an Engine.IO session over polling and connects it to
// the namespace "/".
func (g *gen) pollConnect(ctx context.Context) (*pollClient, error) {
	tr := &http.Transport{
		DialContext:         g.dialer.DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	pctx, cancel := context.WithCancel(context.Background())
	p := &pollClient{
		g: g, tr: tr, hc: &http.Client{Transport: tr}, postc: &http.Client{Transport: tr, Timeout: g.opts.timeout},
		ctx: pctx, cancel: cancel,
		acks: make(chan ackMsg, 8), pings: make(chan struct{}, 1),
		connected: make(chan error, 1), pollDone: make(chan struct{}),
		wbuf: make([]byte, 0, 64+g.opts.payload),
	}
	fail := func(err error) (*pollClient, error) {
		cancel()
		tr.CloseIdleConnections()
		return nil, err
	}
	hctx, hcancel := context.WithTimeout(ctx, g.opts.timeout)
	defer hcancel()
	open, err := p.do(hctx, p.postc, http.MethodGet, g.pollURL, nil, &p.rbuf)
	if err != nil {
		return fail(fmt.Errorf("polling handshake: %w", err))
	}
	if i := bytes.IndexByte(open, 0x1e); i >= 0 {
		open = open[:i]
	}
	var hs struct {
		Sid string `json:"sid"`
	}
	if len(open) < 2 || open[0] != '0' || json.Unmarshal(open[1:], &hs) != nil || hs.Sid == "" {
		return fail(fmt.Errorf("polling handshake: want an open packet, got %q", clip(open)))
	}
	p.url = g.pollURL + "&sid=" + url.QueryEscape(hs.Sid)
	if err := p.post(hctx, sioConnect); err != nil {
		return fail(fmt.Errorf("socket.io connect: %w", err))
	}
	go p.pollLoop()
	select {
	case err = <-p.connected:
	case <-hctx.Done():
		err = hctx.Err()
	}
	if err != nil {
		p.close()
		return nil, fmt.Errorf("socket.io connect: %w", err)
	}
	return p, nil
}

// pollMany connects n polling clients, conc at a time, recording each
// one's connection time (handshake and namespace CONNECT) in h when h is
// not nil.
func (g *gen) pollMany(ctx context.Context, n, conc int, h *hist) *dialResult[*pollClient] {
	return dialEach(ctx, g, n, conc, func(ctx context.Context, _ int) (*pollClient, error) { return g.pollConnect(ctx) }, h, -1, time.Time{})
}

// isOpen reports whether p (nil: a failed connection) still has its
// session.
func (p *pollClient) isOpen() bool {
	if p == nil {
		return false
	}
	select {
	case <-p.pollDone:
		return false
	default:
		return true
	}
}

// closePolls closes every client of ps, all at once.
func closePolls(ps []*pollClient) {
	var wg sync.WaitGroup
	for _, p := range ps {
		if p != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.close() }()
		}
	}
	wg.Wait()
}

// idle keeps an idle client's session open: it answers the server's pings
// until the session ends. The connection of each POST is then closed, so
// that the client holds one socket: its pending GET.
func (p *pollClient) idle() {
	p.tr.CloseIdleConnections()
	var buf bytes.Buffer // close may post at the same time, with postBuf
	for {
		select {
		case <-p.pings:
			_, _ = p.do(p.ctx, p.postc, http.MethodPost, p.url, pollPong, &buf)
			p.tr.CloseIdleConnections()
		case <-p.pollDone:
			return
		}
	}
}

// do sends one request and reads the whole answer into buf.
func (p *pollClient) do(ctx context.Context, hc *http.Client, method, u string, body []byte, buf *bytes.Buffer) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s: %q", method, resp.Status, clip(buf.Bytes()))
	}
	return buf.Bytes(), nil
}

func (p *pollClient) post(ctx context.Context, body []byte) error {
	_, err := p.do(ctx, p.postc, http.MethodPost, p.url, body, &p.postBuf)
	return err
}

// pollLoop keeps a GET pending until the session or the client ends, and
// hands on what comes back.
func (p *pollClient) pollLoop() {
	defer close(p.pollDone)
	for {
		data, err := p.do(p.ctx, p.hc, http.MethodGet, p.url, nil, &p.rbuf)
		if err != nil {
			select {
			case p.connected <- err:
			default:
			}
			return
		}
		for len(data) > 0 {
			pkt := data
			if i := bytes.IndexByte(data, 0x1e); i >= 0 {
				pkt, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			switch {
			case len(pkt) == 1 && pkt[0] == '2':
				select {
				case p.pings <- struct{}{}:
				default:
				}
			case len(pkt) == 1 && pkt[0] == '1': // the server closed the session
				select {
				case p.connected <- errors.New("session closed by the server"):
				default:
				}
				return
			case bytes.HasPrefix(pkt, sioConnect):
				select {
				case p.connected <- nil:
				default:
				}
			case bytes.HasPrefix(pkt, sioConnectError):
				select {
				case p.connected <- fmt.Errorf("CONNECT refused: %q", clip(pkt)):
				default:
				}
			default:
				if id, same, ok := p.g.codec.ack(pkt); ok {
					select {
					case p.acks <- ackMsg{id, same}:
					case <-p.ctx.Done():
						return
					}
				}
			}
		}
	}
}

// close ends the session (a close packet), then the poll loop.
func (p *pollClient) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = p.post(ctx, pollClose)
	cancel()
	p.cancel()
	<-p.pollDone
	p.tr.CloseIdleConnections()
}

// echoLoop is one polling client's closed loop: POST an echo, wait for its
// answer on the poll loop (answering pings meanwhile), repeat until the
// run's end.
func (p *pollClient) echoLoop(r *echoRun) {
	defer r.done.Done()
	defer r.active.Add(-1)
	g := p.g
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var id uint64
	for !r.stop.Load() {
		id++
		p.wbuf = g.codec.echo(p.wbuf[:0], id)
		sentAt := g.now()
		if err := p.post(p.ctx, p.wbuf); err != nil {
			r.errors.Add(1)
			return
		}
		timer.Reset(g.opts.timeout)
	wait:
		for {
			select {
			case a := <-p.acks:
				if a.id != id || !a.same {
					r.bad.Add(1)
					if a.id != id {
						continue
					}
				}
				now := g.now()
				end := r.endNs.Load()
				if now >= r.startNs.Load() && now <= end {
					r.h.record(now - sentAt)
				}
				if now >= end {
					return
				}
				break wait // the next Reset drops a late expiry (Go 1.23 timers)
			case <-p.pings:
				if err := p.post(p.ctx, pollPong); err != nil {
					r.errors.Add(1)
					return
				}
			case <-timer.C:
				r.errors.Add(1)
				return
			case <-p.pollDone:
				r.errors.Add(1)
				return
			}
		}
	}
}

// runPollingEcho is echo over HTTP long-polling (transport=polling only).
func runPollingEcho(ctx context.Context, g *gen) (any, error) {
	o := g.opts
	res := &EchoResult{}
	pd := g.pollMany(ctx, o.c, o.dialConc, nil)
	clients := pd.clients
	res.Clients, res.Failed, res.FirstError = pd.ok, pd.failed, errString(pd.firstErr)
	defer closePolls(clients)
	if res.Clients == 0 {
		return res, fmt.Errorf("no client could connect: %s", res.FirstError)
	}
	g.logf("polling-echo: %d clients connected, running %s + %s warm-up", res.Clients, o.duration, o.warmup)

	r := newEchoRun(g)
	for _, p := range clients {
		if p != nil {
			r.done.Add(1)
			r.active.Add(1)
			go p.echoLoop(r)
		}
	}
	measured := r.runWindow(ctx, o.warmup, o.duration)
	r.stop.Store(true)
	if waitTimeout(&r.done, o.timeout+o.drain) {
		res.Unfinished = int(r.active.Load())
	}
	r.fill(res, measured)
	return res, ctx.Err()
}
