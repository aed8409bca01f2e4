package main

import (
	"context"
)

// runConnect is "sio connect URL": it prints the socket id and waits until
// ctx is done or the connection is lost.
func runConnect(ctx context.Context, streams streams, o *options, pos []string) error {
	out := &output{stdout: streams.stdout, stderr: streams.stderr}
	defer out.close()
	ss, err := dial(ctx, out, o, pos[0], nil)
	if err != nil {
		return err
	}
	defer ss.close()
	out.Out([]byte(ss.s.ID() + "\n"))
	return ss.wait(ctx, nil)
}
