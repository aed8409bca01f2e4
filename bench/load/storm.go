package main

import (
	"context"
	"fmt"
	"time"
)

// StormResult is the results of the storm scenario.
type StormResult struct {
	Clients              int     `json:"clients"`
	Failed               int     `json:"failed"`
	FirstError           string  `json:"first_error"`
	InitialConnectS      float64 `json:"initial_connect_s"`
	ReconnectConcurrency int     `json:"reconnect_concurrency"`
	Reconnected          int     `json:"reconnected"`
	ReconnectFailed      int     `json:"reconnect_failed"`
	ReconnectFirstError  string  `json:"reconnect_first_error"`
	Retries              int64   `json:"retries"`
	DropS                float64 `json:"drop_s"`
	ReconnectS           float64 `json:"reconnect_s"`
	ReconnectRate        float64 `json:"reconnect_rate"`
	Reconnect            Latency `json:"reconnect_latency"`
}

// runStorm connects n clients, drops all their connections at once (TCP
// closed without a close frame, as a network failure), and reconnects them
// all at once: -dial-concurrency at a time (by default min(n, 1000)), each
// failed attempt tried again after a short backoff until -storm-timeout.
// It reports the time from the drop until the last client is back (for
// Socket.IO: connected to "/" again).
func runStorm(ctx context.Context, g *gen) (any, error) {
	o := g.opts
	res := &StormResult{}
	first := g.dialMany(ctx, o.n, o.dialConc, idleConn, nil, -1, time.Time{})
	res.Clients, res.Failed, res.FirstError = first.ok, first.failed, errString(first.firstErr)
	res.InitialConnectS = secs(first.elapsed)
	if first.failed > 0 {
		closeAll(first.clients)
		return res, fmt.Errorf("%d of %d clients could not connect: %v", first.failed, o.n, first.firstErr)
	}
	g.logf("storm: %d clients connected in %.3fs; dropping them all", first.ok, first.elapsed.Seconds())
	conc := o.dialConc
	if !g.dialConcSet {
		conc = min(o.n, 1000)
	}
	res.ReconnectConcurrency = conc

	var h hist
	cpu := markCPU()
	from := g.now()
	for _, c := range first.clients {
		c.drop()
	}
	res.DropS = secs(time.Duration(g.now() - from))
	again := g.dialMany(ctx, o.n, conc, idleConn, &h, from, time.Now().Add(o.stormTimeout))
	took := time.Duration(g.now() - from)
	g.measure(cpu)
	defer closeAll(again.clients)
	res.Reconnected, res.ReconnectFailed = again.ok, again.failed
	res.ReconnectFirstError = errString(again.firstErr)
	res.Retries = again.retries
	res.ReconnectS = secs(took)
	res.ReconnectRate = perSec(float64(again.ok), took)
	res.Reconnect = h.summary()
	if again.failed > 0 {
		return res, fmt.Errorf("%d of %d clients did not reconnect within -storm-timeout: %v", again.failed, o.n, again.firstErr)
	}
	return res, ctx.Err()
}
