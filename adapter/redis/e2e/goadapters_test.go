package e2e

import (
	"context"
	"log/slog"
	"testing"

	"github.com/go-sio/socketio/adapter"
	redis "github.com/go-sio/socketio/adapter/redis"
)

// goAdapter returns the factory of our adapter of kind, with the options
// a node of o needs; log receives the adapter's logs (Debug and up: the
// messages it drops because they do not decode are the first clue of a
// wire mismatch).
func goAdapter(t testing.TB, kind adapterKind, d redis.Driver, o nodeOpts, log *slog.Logger) adapter.Factory {
	t.Helper()
	switch kind {
	case classic:
		return redis.NewAdapter(d, &redis.Options{
			RequestTimeout:                   o.RequestTimeout,
			PublishOnSpecificResponseChannel: o.SpecificResponseChannel,
			Logger:                           log,
		})
	case sharded:
		modes := map[string]redis.SubscriptionMode{"": redis.Dynamic, "dynamic": redis.Dynamic,
			"dynamic-private": redis.DynamicPrivate, "static": redis.Static}
		mode, ok := modes[o.SubscriptionMode]
		if !ok {
			t.Fatalf("unknown subscription mode %q", o.SubscriptionMode)
		}
		return redis.NewShardedAdapter(d, &redis.ShardedOptions{RequestTimeout: o.RequestTimeout, SubscriptionMode: mode, Logger: log})
	case streams:
		return redis.NewStreamsAdapter(d, &redis.StreamsOptions{
			RequestTimeout:   o.RequestTimeout,
			StreamCount:      o.StreamCount,
			UseShardedPubSub: o.UseShardedPubSub,
			Logger:           log,
		})
	}
	t.Fatalf("unknown adapter kind %q", kind)
	return nil
}

// journalHandler is a slog.Handler that records each log as a "log" line
// of a journal (printed with the node's last events when a test fails).
type journalHandler struct {
	j     *journal
	attrs []slog.Attr
}

func (h journalHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h journalHandler) Handle(_ context.Context, r slog.Record) error {
	args := []any{r.Level.String(), r.Message}
	add := func(a slog.Attr) bool {
		args = append(args, a.Key+"="+a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.j.add(line{Event: "log", Args: args})
	return nil
}

func (h journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return h
}

func (h journalHandler) WithGroup(string) slog.Handler { return h }
