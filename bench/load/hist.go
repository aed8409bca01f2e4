package main

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// hist is a log-bucket latency histogram in the manner of HDR Histogram:
// values below 2^histSubBits are exact; above, each power of two is cut
// into 2^histSubBits buckets, so a bucket is at most 1/64 (1.6%) of its
// value wide. Its counters are atomic, so that the reader goroutines of
// many connections record into one histogram without a lock, and its
// storage is allocated once (about 30 KiB): recording never allocates.
type hist struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = (64-histSubBits)*histSub + histSub
	nsPerMilli  = 1e6
	msPrecision = 1e3 // round milliseconds to the microsecond
)

func bucketOf(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1 // v>>shift is in [histSub, 2*histSub)
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// bucketBounds returns the smallest value of bucket i and its width.
func bucketBounds(i int) (lo, width uint64) {
	if i < histSub {
		return uint64(i), 1
	}
	shift := i/histSub - 1
	return uint64(i%histSub+histSub) << shift, 1 << shift
}

// record adds one value (nanoseconds); a negative value counts as 0.
func (h *hist) record(v int64) {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	h.counts[bucketOf(u)].Add(1)
	h.total.Add(1)
	h.sum.Add(u)
	for {
		m := h.max.Load()
		if u <= m || h.max.CompareAndSwap(m, u) {
			break
		}
	}
}

// quantile returns the value at quantile q (0..1): the middle of the bucket
// holding it, never above the largest value recorded.
func (h *hist) quantile(q float64) uint64 {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, w := bucketBounds(i)
			v := lo + w/2
			if m := h.max.Load(); v > m {
				v = m
			}
			return v
		}
	}
	return h.max.Load()
}

// Latency is the JSON form of a histogram, in milliseconds.
type Latency struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func ms(ns uint64) float64 { return math.Round(float64(ns)/nsPerMilli*msPrecision) / msPrecision }

func (h *hist) summary() Latency {
	n := h.total.Load()
	l := Latency{Count: n}
	if n == 0 {
		return l
	}
	l.MeanMs = ms(h.sum.Load() / n)
	l.P50Ms = ms(h.quantile(0.50))
	l.P90Ms = ms(h.quantile(0.90))
	l.P99Ms = ms(h.quantile(0.99))
	l.P999Ms = ms(h.quantile(0.999))
	l.MaxMs = ms(h.max.Load())
	return l
}
