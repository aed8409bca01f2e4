package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sio/socketio/bench/internal/cli"
)

// dialResult is what dialMany or dialEach did.
type dialResult[C any] struct {
	clients []C // by index; nil where the connection failed
	dialStats
}

// dialStats are the counts of a dialResult.
type dialStats struct {
	ok       int
	failed   int
	retries  int64
	firstErr error
	elapsed  time.Duration // from the first dial to the last outcome
}

// dialMany opens n connections, conc at a time, the handler of connection i
// being mk(i). Each handshake's duration (from from, or from the start of
// its own dial when from is negative) is recorded in h when h is not nil. A
// failed connection is tried again, after a short backoff, until retryUntil
// (no retry when it is zero).
func (g *gen) dialMany(ctx context.Context, n, conc int, mk func(i int) frameHandler, h *hist, from int64, retryUntil time.Time) *dialResult[*wsClient] {
	return dialEach(ctx, g, n, conc, func(ctx context.Context, i int) (*wsClient, error) { return g.dial(ctx, mk(i)) }, h, from, retryUntil)
}

// dialEach is dialMany for any kind of client, dial opening client i.
func dialEach[C any](ctx context.Context, g *gen, n, conc int, dial func(ctx context.Context, i int) (C, error), h *hist, from int64, retryUntil time.Time) *dialResult[C] {
	res := &dialResult[C]{clients: make([]C, n)}
	if conc > n {
		conc = n
	}
	var (
		next    atomic.Int64
		ok      atomic.Int64
		retries atomic.Int64
		mu      sync.Mutex // guards res.firstErr
		wg      sync.WaitGroup
	)
	// dialOne opens connection i, trying again until retryUntil.
	dialOne := func(i int) {
		for backoff := 20 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
			began := g.now()
			c, err := dial(ctx, i)
			if err == nil {
				if h != nil {
					if from >= 0 {
						began = from
					}
					h.record(g.now() - began)
				}
				res.clients[i] = c
				ok.Add(1)
				return
			}
			if retryUntil.IsZero() || time.Now().Add(backoff).After(retryUntil) || ctx.Err() != nil {
				mu.Lock()
				if res.firstErr == nil {
					res.firstErr = err
				}
				mu.Unlock()
				return
			}
			retries.Add(1)
			if !cli.Sleep(ctx, backoff) {
				return
			}
		}
	}
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				dialOne(i)
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ok = int(ok.Load())
	res.failed = n - res.ok // failed, or not tried once ctx was done
	res.retries = retries.Load()
	if ctx.Err() != nil && res.firstErr == nil {
		res.firstErr = ctx.Err()
	}
	return res
}

// closeAll closes every connection of cs with a close frame.
func closeAll(cs []*wsClient) {
	for _, c := range cs {
		if c != nil {
			c.close()
		}
	}
}

// errString is err's text, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
