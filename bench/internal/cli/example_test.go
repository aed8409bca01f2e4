package cli_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/go-sio/socketio/bench/internal/cli"
)

func ExampleParse() {
	fset := flag.NewFlagSet("cmd", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	addr := fset.String("addr", "127.0.0.1:3000", "")
	fmt.Println(cli.Parse(fset, []string{"-addr", ":4000"}), *addr)
	fmt.Println(cli.Parse(fset, []string{"extra"}))
	// Output:
	// <nil> :4000
	// unexpected argument "extra"
}

func ExampleSleep() {
	ctx, cancel := context.WithCancel(context.Background())
	fmt.Println(cli.Sleep(ctx, time.Millisecond))
	cancel()
	fmt.Println(cli.Sleep(ctx, time.Hour))
	// Output:
	// true
	// false
}
