package main

import (
	"context"
	"sync"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
)

// runListen is "sio listen URL [EVENT...] [--count N]": each event that
// arrives (only those named, when some are) prints as one JSON line
// ["event",arg...], until ctx is done, N events have printed, or the
// connection is lost.
func runListen(ctx context.Context, streams streams, o *options, pos []string) error {
	var only map[string]bool
	if len(pos) > 1 {
		only = make(map[string]bool, len(pos)-1)
		for _, name := range pos[1:] {
			only[name] = true
		}
	}
	enough := make(chan struct{}) // closed once --count events printed

	out := &output{stdout: streams.stdout, stderr: streams.stderr}
	defer out.close()
	var (
		mu      sync.Mutex
		printed int
	)
	handle := func(e *socketio.Event) {
		if only != nil && !only[e.Name] {
			return
		}
		line, err := formatLine([]string{e.Name}, e.Args)
		if err != nil {
			out.Errf("event %q: %v", e.Name, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if o.count > 0 && printed >= o.count {
			return
		}
		out.Out(line)
		printed++
		if o.count > 0 && printed == o.count {
			close(enough)
		}
	}
	ss, err := dial(ctx, out, o, pos[0], func(s *client.Socket) { s.OnAny(handle) })
	if err != nil {
		return err
	}
	defer ss.close()
	return ss.wait(ctx, enough)
}
