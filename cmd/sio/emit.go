package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-sio/socketio/client"
	"github.com/go-sio/socketio/parser"
)

// runEmit is "sio emit URL EVENT [ARG...] [--ack] [--linger D]".
//
// With --ack, the acknowledgement proves that the server handled the event.
// Without it, sio does not ask for one (a server is free not to answer an
// event that asks for none, and would then cost every emit the whole
// --timeout). Instead the event is delivered in two steps before the
// command exits:
//
//  1. flush: sio waits until the Engine.IO connection has nothing queued
//     or in flight (the polling POST that carries the event was answered,
//     or the WebSocket frame written);
//  2. linger: it stays connected --linger more (100ms by default) before
//     it leaves the namespace. Servers hand an event to its handlers
//     asynchronously (Node on the next tick, ours on the socket's
//     goroutine) and drop it when the socket has disconnected meanwhile,
//     which a DISCONNECT packet right behind the event would cause.
//
// It then disconnects (DISCONNECT packet, Engine.IO close) and waits for
// the connection to close.
func runEmit(ctx context.Context, streams streams, o *options, pos []string) error {
	event := pos[1]
	if parser.ReservedEvents[event] {
		return usagef("%q is a reserved event name", event)
	}
	args := make([]any, 0, len(pos)-2)
	for i, w := range pos[2:] {
		v, err := parseArg(w)
		if err != nil {
			return usagef("argument %d: %v", i+1, err)
		}
		args = append(args, v)
	}

	out := &output{stdout: streams.stdout, stderr: streams.stderr}
	defer out.close()
	ss, err := dial(ctx, out, o, pos[0], nil)
	if err != nil {
		return err
	}
	defer ss.close()

	if !o.ack {
		if err := ss.s.Emit(event, args...); err != nil {
			return err
		}
		return ss.flush(ctx, o.linger)
	}
	reply, err := ss.s.Timeout(o.timeout).EmitWithAck(ctx, event, args...)
	switch {
	case errors.Is(err, client.ErrTimeout):
		return fmt.Errorf("no acknowledgement of %q within %v", event, o.timeout)
	case errors.Is(err, context.Canceled):
		return errInterrupted
	case errors.Is(err, client.ErrDisconnected):
		// The disconnect handler, which tells why, runs after the
		// acknowledgement has failed.
		timer := time.NewTimer(time.Second)
		defer timer.Stop()
		select {
		case lost := <-ss.lost:
			return fmt.Errorf("no acknowledgement of %q: %w", event, lost)
		case <-timer.C:
			return fmt.Errorf("no acknowledgement of %q: disconnected", event)
		}
	case err != nil:
		return err
	}
	line, err := formatLine(nil, reply)
	if err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}
	out.Out(line)
	return nil
}
