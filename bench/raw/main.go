// Command rawbench is the ceiling of the benchmarks: a plain WebSocket
// server on github.com/lxzan/gws (the library and version our engineio
// uses) with the echo and room fan-out of the benchmark contract over plain
// text frames (package rawsrv documents the framing). The load generator
// drives it with -proto raw.
//
//	go build -o /tmp/rawbench ./bench/raw   # from the repository root
//	/tmp/rawbench -addr 127.0.0.1:3002 [-fanout prepared|copy]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-sio/socketio/bench/internal/cli"
	"github.com/go-sio/socketio/bench/raw/rawsrv"
)

func main() { cli.Main("rawbench", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("rawbench", flag.ContinueOnError)
	fset.SetOutput(stderr)
	addr := fset.String("addr", "127.0.0.1:3002", "`host:port` to listen on")
	fanout := fset.String("fanout", rawsrv.FanoutPrepared, "fan-out writes: prepared (frame encoded once, gws.Broadcaster) or copy (gws.WriteAsync per receiver)")
	if err := cli.Parse(fset, args); err != nil {
		return err
	}
	if *fanout != rawsrv.FanoutPrepared && *fanout != rawsrv.FanoutCopy {
		return fmt.Errorf("-fanout %q: want prepared or copy", *fanout)
	}
	rs := rawsrv.New(&rawsrv.Options{Fanout: *fanout})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rs, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "rawbench: listening on ws://%s (gws, fanout %s, pid %d)\n", ln.Addr(), *fanout, os.Getpid())
	return cli.Serve(ctx, srv, ln, func(context.Context) { rs.Close() })
}
