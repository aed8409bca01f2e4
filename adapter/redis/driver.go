package redis

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Driver is what the adapters and the emitter need of a Redis client. Use
// GoRedis to wrap a *redis.Client or *redis.ClusterClient of go-redis v9;
// another client library can implement it.
type Driver interface {
	// Publish sends payload on channel (SPUBLISH when sharded).
	Publish(ctx context.Context, channel string, payload []byte, sharded bool) error
	// NumSub returns the number of subscribers of channel (PUBSUB NUMSUB,
	// or SHARDNUMSUB when sharded; summed over a cluster's nodes).
	NumSub(ctx context.Context, channel string, sharded bool) (int, error)
	// Subscribe opens a subscription connection whose messages go to fn,
	// one at a time, in order. It is re-established after a connection loss
	// (onState is told: nil when (re)subscribed, the error when lost).
	Subscribe(ctx context.Context, sharded bool, fn func(Message), onState func(error)) (Subscription, error)

	// XAdd appends an entry (field, value pairs) to stream, trimmed to
	// about maxLen entries, and returns its id.
	XAdd(ctx context.Context, stream string, maxLen int64, fields []string) (string, error)
	// XRead waits up to block for entries after id ("$": new ones only).
	XRead(ctx context.Context, stream, id string, count int64, block time.Duration) ([]StreamEntry, error)
	// XRange returns the entries from start to end ("-", "+" for the ends).
	XRange(ctx context.Context, stream, start, end string) ([]StreamEntry, error)
	// Set stores value with a time to live; GetDel takes it back once.
	Set(ctx context.Context, key, value string, ttl time.Duration) error
	GetDel(ctx context.Context, key string) (string, bool, error)
}

// Message is one pub/sub message.
type Message struct {
	Channel string
	Pattern string // the pattern it matched, for PSUBSCRIBE
	Payload []byte
}

// StreamEntry is one entry of a stream.
type StreamEntry struct {
	ID     string
	Fields map[string]string
}

// Subscription is an open subscription connection.
type Subscription interface {
	Subscribe(ctx context.Context, channels ...string) error
	PSubscribe(ctx context.Context, patterns ...string) error
	Unsubscribe(ctx context.Context, channels ...string) error
	Close() error
}

// GoRedis returns the Driver of a go-redis v9 client: *redis.Client,
// *redis.ClusterClient or any redis.UniversalClient.
func GoRedis(c goredis.UniversalClient) Driver { return goRedis{c} }

type goRedis struct{ c goredis.UniversalClient }

func (g goRedis) Publish(ctx context.Context, channel string, payload []byte, sharded bool) error {
	if sharded {
		return g.c.SPublish(ctx, channel, payload).Err()
	}
	return g.c.Publish(ctx, channel, payload).Err()
}

func (g goRedis) NumSub(ctx context.Context, channel string, sharded bool) (int, error) {
	if sharded {
		m, err := g.c.PubSubShardNumSub(ctx, channel).Result()
		return int(m[channel]), err
	}
	if cc, ok := g.c.(*goredis.ClusterClient); ok {
		// Every node of a cluster knows only its own subscribers.
		var mu sync.Mutex
		total := 0
		err := cc.ForEachShard(ctx, func(ctx context.Context, n *goredis.Client) error {
			m, err := n.PubSubNumSub(ctx, channel).Result()
			mu.Lock()
			total += int(m[channel])
			mu.Unlock()
			return err
		})
		return total, err
	}
	m, err := g.c.PubSubNumSub(ctx, channel).Result()
	return int(m[channel]), err
}

func (g goRedis) XAdd(ctx context.Context, stream string, maxLen int64, fields []string) (string, error) {
	vals := make([]any, len(fields))
	for i, f := range fields {
		vals[i] = f
	}
	return g.c.XAdd(ctx, &goredis.XAddArgs{Stream: stream, MaxLen: maxLen, Approx: true, Values: vals}).Result()
}

func (g goRedis) XRead(ctx context.Context, stream, id string, count int64, block time.Duration) ([]StreamEntry, error) {
	args := &goredis.XReadArgs{Streams: []string{stream, id}, Count: count, Block: block}
	node := g.nodeFor(ctx, stream)
	if block <= 0 || ctx.Done() == nil || node == nil {
		return readEntries(g.c.XRead(ctx, args).Result())
	}
	// go-redis does not interrupt a blocked read when ctx is canceled:
	// the XREAD runs on a connection of its own, which CLIENT UNBLOCK
	// releases when ctx ends.
	conn := node.Conn()
	defer conn.Close()
	cid, err := conn.ClientID(ctx).Result()
	if err != nil {
		return nil, err
	}
	returned := make(chan struct{})
	unblocked := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(unblocked)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			// 0 until the XREAD blocks: try again until it returns.
			if n, err := node.ClientUnblock(context.Background(), cid).Result(); err == nil && n == 1 {
				return
			}
			select {
			case <-returned:
				return
			case <-tick.C:
			}
		}
	})
	res, err := conn.XRead(context.WithoutCancel(ctx), args).Result()
	close(returned)
	if !stop() {
		<-unblocked
	}
	out, err := readEntries(res, err)
	if len(out) == 0 && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return out, err
}

// nodeFor returns the client of the node that holds key, or nil.
func (g goRedis) nodeFor(ctx context.Context, key string) *goredis.Client {
	switch c := g.c.(type) {
	case *goredis.Client:
		return c
	case *goredis.ClusterClient:
		if n, err := c.MasterForKey(ctx, key); err == nil {
			return n
		}
	}
	return nil
}

func readEntries(res []goredis.XStream, err error) ([]StreamEntry, error) {
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil || len(res) == 0 {
		return nil, err
	}
	return entries(res[0].Messages), nil
}

// XLastID returns the id of the last entry of stream, "" when it has none.
// (Not part of Driver: the streams adapter uses it when the driver has it.)
func (g goRedis) XLastID(ctx context.Context, stream string) (string, error) {
	res, err := g.c.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil || len(res) == 0 {
		return "", err
	}
	return res[0].ID, nil
}

func (g goRedis) XRange(ctx context.Context, stream, start, end string) ([]StreamEntry, error) {
	res, err := g.c.XRange(ctx, stream, start, end).Result()
	return entries(res), err
}

func entries(ms []goredis.XMessage) []StreamEntry {
	out := make([]StreamEntry, 0, len(ms))
	for _, m := range ms {
		e := StreamEntry{ID: m.ID, Fields: make(map[string]string, len(m.Values))}
		for k, v := range m.Values {
			switch x := v.(type) {
			case string:
				e.Fields[k] = x
			case int64:
				e.Fields[k] = strconv.FormatInt(x, 10)
			}
		}
		out = append(out, e)
	}
	return out
}

func (g goRedis) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	return g.c.Set(ctx, key, value, ttl).Err()
}

func (g goRedis) GetDel(ctx context.Context, key string) (string, bool, error) {
	v, err := g.c.GetDel(ctx, key).Result()
	if errors.Is(err, goredis.Nil) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (g goRedis) Subscribe(ctx context.Context, sharded bool, fn func(Message), onState func(error)) (Subscription, error) {
	var ps *goredis.PubSub
	if sharded {
		ps = g.c.SSubscribe(ctx)
	} else {
		ps = g.c.Subscribe(ctx)
	}
	s := &goSub{ps: ps, sharded: sharded, done: make(chan struct{})}
	go s.loop(fn, onState)
	return s, nil
}

type goSub struct {
	ps      *goredis.PubSub
	sharded bool
	done    chan struct{}
	once    sync.Once
}

// loop reads the subscription; go-redis reconnects and subscribes again
// after an error, and loop reports the loss and the return.
func (s *goSub) loop(fn func(Message), onState func(error)) {
	lost := false
	delay := 50 * time.Millisecond
	for {
		msg, err := s.ps.Receive(context.Background())
		select {
		case <-s.done:
			return
		default:
		}
		if err != nil {
			if !lost && onState != nil {
				onState(err)
			}
			lost = true
			select {
			case <-s.done:
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 2*time.Second)
			// A ping on the subscription connection makes go-redis dial
			// again and restore the subscriptions.
			_ = s.ps.Ping(context.Background())
			continue
		}
		delay = 50 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Subscription:
			if lost && onState != nil {
				onState(nil)
			}
			lost = false
		case *goredis.Message:
			if lost && onState != nil {
				onState(nil)
			}
			lost = false
			fn(Message{Channel: m.Channel, Pattern: m.Pattern, Payload: []byte(m.Payload)})
		case *goredis.Pong:
			if lost && onState != nil {
				onState(nil)
			}
			lost = false
		}
	}
}

func (s *goSub) Subscribe(ctx context.Context, channels ...string) error {
	if s.sharded {
		return s.ps.SSubscribe(ctx, channels...)
	}
	return s.ps.Subscribe(ctx, channels...)
}

func (s *goSub) PSubscribe(ctx context.Context, patterns ...string) error {
	return s.ps.PSubscribe(ctx, patterns...)
}

func (s *goSub) Unsubscribe(ctx context.Context, channels ...string) error {
	if s.sharded {
		return s.ps.SUnsubscribe(ctx, channels...)
	}
	return s.ps.Unsubscribe(ctx, channels...)
}

func (s *goSub) Close() error {
	s.once.Do(func() { close(s.done) })
	return s.ps.Close()
}

// PUnsubscribe drops patterns of the subscription (the classic adapter
// uses it, through an optional interface, when a namespace closes).
func (s *goSub) PUnsubscribe(ctx context.Context, patterns ...string) error {
	return s.ps.PUnsubscribe(ctx, patterns...)
}
