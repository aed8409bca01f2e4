package main

import (
	"context"
	"fmt"
	"time"

	"github.com/go-sio/socketio/bench/internal/cli"
)

// ConnectionsResult is the results of the connections scenario.
type ConnectionsResult struct {
	Connections     int     `json:"connections"`
	Failed          int     `json:"failed"`
	FirstError      string  `json:"first_error"`
	ConnectS        float64 `json:"connect_s"`
	ConnectRate     float64 `json:"connect_rate"`
	Handshake       Latency `json:"handshake_latency"`
	HeldS           float64 `json:"held_s"`
	OpenAfterHold   int     `json:"open_after_hold"`
	RSSBeforeBytes  uint64  `json:"rss_before_bytes"`
	RSSUpBytes      uint64  `json:"rss_up_bytes"`
	RSSHeldBytes    uint64  `json:"rss_held_bytes"`
	RSSBytesPerConn float64 `json:"rss_bytes_per_conn"`
	RSSError        string  `json:"rss_error"`
}

// idle handles the frames of an idle connection: none is expected but the
// Engine.IO pings, which wsClient answers itself.
type idle struct{}

func (idle) onFrame(*wsClient, []byte) {}

// idleConn is dialMany's handler maker of idle connections.
func idleConn(int) frameHandler { return idle{} }

// runConnections opens n idle connections (Socket.IO: connected to "/";
// polling-connections: Socket.IO clients over HTTP long-polling, each with
// a GET pending), dialConc at a time, reports the connect rate, prints a ready line on
// stderr once all are up, holds them for -hold and closes them. With
// -server-pid, it reads the server's VmRSS before, once all are up, and at
// the end of the hold.
func runConnections(ctx context.Context, g *gen) (any, error) {
	o := g.opts
	res := &ConnectionsResult{}
	// rss reads the server's VmRSS (0 without -server-pid), keeping the
	// first error.
	rss := func() uint64 {
		if o.serverPID <= 0 {
			return 0
		}
		v, err := readRSS(o.serverPID)
		if err != nil && res.RSSError == "" {
			res.RSSError = err.Error()
		}
		return v
	}
	res.RSSBeforeBytes = rss()
	var h hist
	cpu := markCPU()
	var held heldConns
	if o.scenario == "polling-connections" {
		d := g.pollMany(ctx, o.n, o.dialConc, &h)
		defer closePolls(d.clients)
		for _, p := range d.clients {
			if p != nil {
				go p.idle()
			}
		}
		held = hold(d)
	} else {
		d := g.dialMany(ctx, o.n, o.dialConc, idleConn, &h, -1, time.Time{})
		defer closeAll(d.clients)
		held = hold(d)
	}
	g.measure(cpu)
	ok := held.ok
	res.Connections, res.Failed, res.FirstError = ok, held.failed, errString(held.firstErr)
	res.ConnectS = secs(held.elapsed)
	res.ConnectRate = perSec(float64(ok), held.elapsed)
	res.Handshake = h.summary()
	g.logf("ready: %d connections up (%d failed) in %.3fs, holding %s", ok, held.failed, held.elapsed.Seconds(), o.hold)

	res.RSSUpBytes = rss()
	last := res.RSSUpBytes
	if o.hold > 0 {
		began := time.Now()
		cli.Sleep(ctx, o.hold)
		res.HeldS = secs(time.Since(began))
		res.RSSHeldBytes = rss()
		last = res.RSSHeldBytes
	}
	res.OpenAfterHold = held.open()
	if o.serverPID > 0 && ok > 0 && last > 0 && res.RSSBeforeBytes > 0 {
		res.RSSBytesPerConn = round3((float64(last) - float64(res.RSSBeforeBytes)) / float64(ok))
	}
	if ok == 0 {
		return res, fmt.Errorf("no connection could be opened: %v", held.firstErr)
	}
	return res, ctx.Err()
}

// heldConns is what runConnections needs of the connections it holds,
// WebSocket or polling.
type heldConns struct {
	dialStats
	open func() int // how many are still open
}

// hold is heldConns of d.
func hold[C interface{ isOpen() bool }](d *dialResult[C]) heldConns {
	return heldConns{dialStats: d.dialStats, open: func() int {
		n := 0
		for _, c := range d.clients {
			if c.isOpen() {
				n++
			}
		}
		return n
	}}
}
