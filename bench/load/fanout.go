package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
)

// FanoutResult is the results of the fanout scenario.
type FanoutResult struct {
	Mode               string  `json:"mode"`
	Receivers          int     `json:"receivers"`
	Failed             int     `json:"failed"`
	FirstError         string  `json:"first_error"`
	BroadcastsSent     uint64  `json:"broadcasts_sent"`
	BroadcastsMeasured uint64  `json:"broadcasts_measured"`
	MeasuredS          float64 `json:"measured_s"`
	BroadcastsPerS     float64 `json:"broadcasts_per_s"`
	Deliveries         uint64  `json:"deliveries"`
	DeliveriesExpected uint64  `json:"deliveries_expected"`
	DeliveriesPerS     float64 `json:"deliveries_per_s"`
	Latency            Latency `json:"latency"`
	Lost               uint64  `json:"lost"`
	Duplicated         uint64  `json:"duplicated"`
	OutOfOrder         uint64  `json:"out_of_order"`
	Malformed          uint64  `json:"malformed"`
	SenderLagMaxMs     float64 `json:"sender_lag_max_ms"`
	Stalled            bool    `json:"stalled"`
	DrainS             float64 `json:"drain_s"`
}

// fanRun is the state the receivers of one fan-out run share.
type fanRun struct {
	g         *gen
	receivers int
	h         hist // latency of the deliveries of measured broadcasts
	measureNs int64

	unique     atomic.Uint64 // first deliveries, all broadcasts
	measured   atomic.Uint64 // first deliveries of measured broadcasts
	lastNs     atomic.Int64  // time of the last first delivery of a measured broadcast
	dup        atomic.Uint64
	outOfOrder atomic.Uint64
	malformed  atomic.Uint64

	// Max-rate mode: ring counts the receivers that got each broadcast in
	// flight; the one completing it hands a token back to the sender.
	ring   []atomic.Int32
	tokens chan struct{}
}

// fanRecv is one receiver. Its fields belong to its reader goroutine.
type fanRecv struct {
	run    *fanRun
	seen   []uint64 // bit per sequence number
	maxSeq int64
	joined bool
	joinCh chan struct{} // closed once the join is answered
	join   []byte        // the answer to the join request (shared, read-only)
}

func (f *fanRecv) onFrame(c *wsClient, data []byte) {
	if !f.joined {
		if bytes.HasPrefix(data, f.join) {
			f.joined = true
			close(f.joinCh)
		}
		return
	}
	r := f.run
	seq, t, ok := r.g.codec.delivery(data)
	if !ok {
		r.malformed.Add(1)
		return
	}
	now := r.g.now()
	w := int(seq / 64)
	if w >= len(f.seen) {
		f.seen = append(f.seen, make([]uint64, w+1-len(f.seen)+len(f.seen)/2)...)
	}
	bit := uint64(1) << (seq % 64)
	if f.seen[w]&bit != 0 {
		r.dup.Add(1)
		return
	}
	f.seen[w] |= bit
	if int64(seq) < f.maxSeq {
		r.outOfOrder.Add(1)
	} else {
		f.maxSeq = int64(seq)
	}
	r.unique.Add(1)
	if t >= r.measureNs {
		r.measured.Add(1)
		r.h.record(now - t)
		for {
			l := r.lastNs.Load()
			if now <= l || r.lastNs.CompareAndSwap(l, now) {
				break
			}
		}
	}
	if r.ring != nil {
		slot := &r.ring[seq&uint64(len(r.ring)-1)]
		if slot.Add(1) == int32(r.receivers) {
			slot.Store(0)
			select {
			case r.tokens <- struct{}{}:
			default:
			}
		}
	}
}

// runFanout joins n receivers to one room, then one more client (not in
// the room) broadcasts to it: -rate broadcasts per second, or with -rate 0
// as fast as the receivers keep up (-window in flight), for -warmup then
// -duration, and waits up to -drain for the last deliveries.
func runFanout(ctx context.Context, g *gen) (any, error) {
	o := g.opts
	r := &fanRun{g: g, measureNs: 1 << 62}
	res := &FanoutResult{Mode: "rate"}
	if o.rate == 0 {
		res.Mode = "max"
		size := 1 << bits.Len(uint(4*o.window-1))
		r.ring = make([]atomic.Int32, size)
		r.tokens = make(chan struct{}, o.window)
	}
	expect := 1024
	if o.rate > 0 {
		expect += int(o.rate * (o.warmup + o.duration).Seconds())
	}
	joinReq, joinAck := g.codec.join(o.room, 1)
	recvs := make([]*fanRecv, o.n)
	d := g.dialMany(ctx, o.n, o.dialConc, func(i int) frameHandler {
		recvs[i] = &fanRecv{run: r, seen: make([]uint64, expect/64+1), maxSeq: -1, joinCh: make(chan struct{}), join: joinAck}
		return recvs[i]
	}, nil, -1, time.Time{})
	var all []*wsClient
	defer func() { closeAll(all) }()
	all = append(all, d.clients...)
	res.Receivers, res.Failed, res.FirstError = d.ok, d.failed, errString(d.firstErr)
	if d.failed > 0 {
		return res, fmt.Errorf("%d of %d receivers could not connect: %v", d.failed, o.n, d.firstErr)
	}
	r.receivers = d.ok

	// Join, and wait until every receiver is in the room.
	for _, c := range d.clients {
		if err := c.write(joinReq); err != nil {
			return res, fmt.Errorf("join: %w", err)
		}
	}
	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	for i := range recvs {
		select {
		case <-recvs[i].joinCh:
		case <-deadline.C:
			return res, errors.New("join: not every receiver was answered within -timeout")
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	sender, err := g.dial(ctx, idle{})
	if err != nil {
		return res, fmt.Errorf("sender: %w", err)
	}
	all = append(all, sender)
	g.logf("fanout: %d receivers joined %q; broadcasting (%s) for %s + %s warm-up", d.ok, o.room, res.Mode, o.duration, o.warmup)

	var (
		buf        = make([]byte, 0, 128+o.payload+len(o.room))
		seq        uint64
		measuredN  uint64
		firstMeaNs int64 = -1
		maxLag     int64
		sendErr    error
	)
	send := func() bool {
		t := g.now()
		buf = g.codec.bcast(buf[:0], seq, t)
		if err := sender.write(buf); err != nil {
			sendErr = err
			return false
		}
		seq++
		if t >= r.measureNs {
			measuredN++
			if firstMeaNs < 0 {
				firstMeaNs = t
			}
		}
		return true
	}
	startNs := g.now()
	r.measureNs = startNs + int64(o.warmup)
	endNs := r.measureNs + int64(o.duration)
	var cpu cpuMark
	cpuMarked := false
	// ticks is the turns of the send loops: it yields the time until the
	// end of the window (or of ctx), and marks the CPU when the measured
	// part begins.
	ticks := func(yield func(now int64) bool) {
		for ctx.Err() == nil {
			now := g.now()
			if now >= endNs {
				return
			}
			if !cpuMarked && now >= r.measureNs {
				cpu, cpuMarked = markCPU(), true
			}
			if !yield(now) {
				return
			}
		}
	}
	if o.rate > 0 {
		interval := float64(time.Second) / o.rate
	rateLoop:
		for now := range ticks {
			due := uint64(float64(now-startNs)/interval) + 1
			for seq < due {
				if lag := now - (startNs + int64(float64(seq)*interval)); lag > maxLag {
					maxLag = lag
				}
				if !send() {
					break rateLoop
				}
			}
			next := min(startNs+int64(float64(seq)*interval), endNs)
			time.Sleep(time.Duration(next - g.now()))
		}
	} else {
		for i := 0; i < o.window; i++ {
			r.tokens <- struct{}{}
		}
		stall := time.NewTimer(time.Hour)
		defer stall.Stop()
	maxLoop:
		for range ticks {
			select {
			case <-r.tokens:
			default:
				stall.Reset(o.timeout)
				select {
				case <-r.tokens:
				case <-stall.C:
					res.Stalled = true
					g.warn("fanout: no broadcast was completed within -timeout %s: a receiver misses a delivery", o.timeout)
					break maxLoop
				case <-ctx.Done():
					break maxLoop
				}
			}
			if !send() {
				break
			}
		}
	}
	sentEnd := g.now()
	if cpuMarked {
		g.measure(cpu)
	}
	res.SenderLagMaxMs = ms(uint64(maxLag))

	// Drain: wait for the deliveries still due.
	want := seq * uint64(r.receivers)
	drainUntil := time.Now().Add(o.drain)
	for r.unique.Load() < want && time.Now().Before(drainUntil) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	res.DrainS = secs(time.Duration(g.now() - sentEnd))

	res.BroadcastsSent = seq
	res.BroadcastsMeasured = measuredN
	measured := time.Duration(min(sentEnd, endNs) - r.measureNs)
	res.MeasuredS = secs(max(measured, 0))
	res.BroadcastsPerS = perSec(float64(measuredN), measured)
	res.DeliveriesExpected = want
	res.Deliveries = r.unique.Load()
	if res.Deliveries < want {
		res.Lost = want - res.Deliveries
	}
	res.Duplicated = r.dup.Load()
	res.OutOfOrder = r.outOfOrder.Load()
	res.Malformed = r.malformed.Load()
	res.Latency = r.h.summary()
	if firstMeaNs >= 0 {
		res.DeliveriesPerS = perSec(float64(r.measured.Load()), time.Duration(r.lastNs.Load()-firstMeaNs))
	}
	if sendErr != nil {
		return res, fmt.Errorf("sender: %w", sendErr)
	}
	return res, ctx.Err()
}
