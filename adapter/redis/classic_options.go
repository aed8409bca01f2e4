package redis

import (
	"log/slog"
	"time"
)

// Options configure the classic adapter (NewAdapter). A nil *Options, or
// a zero field, means the default named in the field's comment. The names
// follow the options of createAdapter in @socket.io/redis-adapter (key,
// requestsTimeout, publishOnSpecificResponseChannel).
type Options struct {
	// Key is the prefix of every channel: "<Key>#<nsp>#" and so on.
	// Default "socket.io". Every node of a cluster must use the same.
	Key string

	// RequestTimeout bounds the wait for the other nodes' answers to
	// FetchSockets, ServerSideEmit with an acknowledgement and AllRooms,
	// and how long the acknowledgements of a BroadcastWithAck without a
	// timeout of its own are taken. It also bounds each command sent to
	// Redis. Default 5s.
	RequestTimeout time.Duration

	// PublishOnSpecificResponseChannel makes this node answer a request
	// on the requester's own channel "<Key>-response#<nsp>#<uid>#"
	// instead of the channel every node listens to,
	// "<Key>-response#<nsp>#". Default false, as in Node.js (where the
	// answers to ServerSideEmit always take the shared channel).
	PublishOnSpecificResponseChannel bool

	// Logger receives what the adapter has to say: publishing failures
	// and the loss of the subscription (Warn), its return (Info), the
	// messages from Redis it drops because they do not decode (Debug).
	// Default: nothing is logged.
	Logger *slog.Logger

	// OnRedisState, when set, is called from the subscription's goroutine
	// when the subscription connection is lost (false, with the error)
	// and when it is back and subscribed again (true, nil). The initial
	// subscription is not reported. It must not block. Default: none.
	OnRedisState func(up bool, err error)
}

// The defaults of Options (named so that the other adapters of the
// package may pick theirs freely).
const (
	classicDefaultKey     = "socket.io"
	classicDefaultTimeout = 5 * time.Second
)

// classicConfig is Options with the defaults applied.
type classicConfig struct {
	key             string
	timeout         time.Duration
	specificChannel bool
	log             *slog.Logger
	onState         func(up bool, err error)
}

func newClassicConfig(o *Options) classicConfig {
	var opts Options
	if o != nil {
		opts = *o
	}
	c := classicConfig{
		key:             opts.Key,
		timeout:         opts.RequestTimeout,
		specificChannel: opts.PublishOnSpecificResponseChannel,
		log:             opts.Logger,
		onState:         opts.OnRedisState,
	}
	if c.key == "" {
		c.key = classicDefaultKey
	}
	if c.timeout <= 0 {
		c.timeout = classicDefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}
