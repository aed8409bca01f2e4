package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-sio/socketio/client"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/parser/msgpack"
)

// session is a socket connected to a namespace of the server.
type session struct {
	s      *client.Socket
	target string // the URL, for messages
	o      *options
	out    *output

	// lost gets why the connection ended for good, once it was
	// established: disconnected without --reconnect, or by the server, or
	// refused when reconnecting.
	lost chan error
}

// output serialises the writes of the socket's handlers and of the
// command, and drops them once the command has returned (a handler may
// still be running then).
type output struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
	closed         bool
}

func (o *output) print(w *io.Writer, b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		_, _ = (*w).Write(b)
	}
}

// Out writes b to stdout.
func (o *output) Out(b []byte) { o.print(&o.stdout, b) }

// Errf writes a line to stderr.
func (o *output) Errf(format string, args ...any) {
	o.print(&o.stderr, []byte(fmt.Sprintf("sio: "+format+"\n", args...)))
}

func (o *output) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

// serverURL returns the URL to connect to: http:// is assumed when there
// is no scheme, and namespace, when set, replaces the path.
func serverURL(raw, namespace string) (string, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", usagef("invalid URL: %v", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return "", usagef("invalid URL %q: the scheme must be http, https, ws or wss", raw)
	}
	if u.Host == "" {
		return "", usagef("invalid URL %q: no host", raw)
	}
	if namespace != "" {
		if !strings.HasPrefix(namespace, "/") {
			namespace = "/" + namespace
		}
		u.Path, u.RawPath = namespace, ""
	}
	return u.String(), nil
}

// dial connects to the namespace of rawURL and returns once the socket is
// connected. setup registers the event handlers before the connection
// starts, so that no event sent on connection is missed. Without
// --reconnect nothing is retried: a failure is reported at once.
func dial(ctx context.Context, out *output, o *options, rawURL string, setup func(*client.Socket)) (*session, error) {
	target, err := serverURL(rawURL, o.namespace)
	if err != nil {
		return nil, err
	}
	mo := client.ManagerOptions{
		Path:         o.path,
		ExtraHeaders: o.headers.h,
		Reconnection: client.Bool(o.reconnect),
		Timeout:      o.timeout,
		AutoConnect:  client.Bool(false),
	}
	switch o.transport {
	case "polling":
		mo.Transports, mo.Upgrade = []string{"polling"}, client.Bool(false)
	case "websocket":
		mo.Transports = []string{"websocket"}
	}
	if o.parser == "msgpack" {
		mo.Parser = msgpack.Default
	}
	var so client.SocketOptions
	if o.auth != "" {
		so.Auth = json.RawMessage(o.auth)
	}
	// ForceNew: a connection of our own, not one cached by the package.
	s, err := client.Connect(target, &client.Options{ManagerOptions: mo, SocketOptions: so, ForceNew: true})
	if err != nil {
		return nil, usagef("invalid URL %q: %v", rawURL, err)
	}
	ss := &session{s: s, target: target, o: o, out: out, lost: make(chan error, 1)}

	var (
		mu          sync.Mutex
		established bool
		connected   = make(chan struct{}, 1)
		failed      = make(chan error, 1)
	)
	s.OnConnect(func() {
		mu.Lock()
		again := established
		established = true
		mu.Unlock()
		if again {
			out.Errf("reconnected, socket id %s", s.ID())
		}
		notify(connected, struct{}{})
	})
	s.OnConnectError(func(err error) {
		mu.Lock()
		again := established
		mu.Unlock()
		if !again {
			notify(failed, err)
			return
		}
		var ce *client.ConnectError
		if errors.As(err, &ce) || !s.Active() {
			notify(ss.lost, ss.connectFailure(err))
			return
		}
		out.Errf("reconnection failed: %v", err)
	})
	s.OnDisconnect(func(reason string, cause error) {
		if reason == "io client disconnect" || reason == "forced close" {
			return // our own close
		}
		msg := reason
		if cause != nil {
			msg += ": " + cause.Error()
		}
		if o.reconnect && s.Active() {
			out.Errf("disconnected (%s), reconnecting", msg)
			return
		}
		notify(ss.lost, fmt.Errorf("disconnected: %s", msg))
	})
	if setup != nil {
		setup(s)
	}

	s.Connect()
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	select {
	case <-connected:
		return ss, nil
	case err = <-failed:
		err = ss.connectFailure(err)
	case <-timer.C:
		err = fmt.Errorf("cannot connect to %s: timed out after %v", target, o.timeout)
	case <-ctx.Done():
		err = errInterrupted
	}
	ss.close()
	return nil, err
}

var errInterrupted = errors.New("interrupted")

// connectFailure describes a failed connection: the server's refusal
// (connect_error, with its data) or the transport's error.
func (ss *session) connectFailure(err error) error {
	var ce *client.ConnectError
	if errors.As(err, &ce) {
		msg := fmt.Sprintf("connection to %s refused by the server: %s", ss.target, ce.Message)
		if data := strings.TrimSpace(string(ce.Data)); data != "" && data != "null" {
			msg += " (data: " + data + ")"
		}
		return errors.New(msg)
	}
	if err.Error() == "timeout" { // the manager's word for a dial timeout
		return fmt.Errorf("cannot connect to %s: timed out after %v", ss.target, ss.o.timeout)
	}
	// Without the layers above: "dial tcp ...: connection refused", or
	// the refused handshake.
	var op *net.OpError
	var he *engineio.HandshakeError
	switch {
	case errors.As(err, &he):
		if he.Status == http.StatusNotFound {
			return fmt.Errorf("cannot connect to %s: %w (is --path %s right?)", ss.target, he, ss.o.path)
		}
		err = he
	case errors.As(err, &op):
		err = op
	}
	return fmt.Errorf("cannot connect to %s: %w", ss.target, err)
}

// close disconnects the socket (a DISCONNECT packet) and closes the
// connection. The Engine.IO connection writes what it has queued before
// it closes: close waits for that (up to --timeout), which is what makes an
// emit delivered before the command exits.
func (ss *session) close() {
	m := ss.s.Manager()
	conn := m.Engine()
	_ = m.Close()
	if conn == nil {
		return
	}
	timer := time.NewTimer(ss.o.timeout)
	defer timer.Stop()
	select {
	case <-conn.Done():
	case <-timer.C:
		ss.out.Errf("the connection did not close within %v", ss.o.timeout)
	}
}

// flush waits until the Engine.IO connection has written everything
// queued, then linger more, and reports a connection lost meanwhile.
func (ss *session) flush(ctx context.Context, linger time.Duration) error {
	conn := ss.s.Manager().Engine()
	if conn == nil {
		return errors.New("connection lost before the event was written")
	}
	timer := time.NewTimer(ss.o.timeout)
	defer timer.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !conn.Writable() {
		select {
		case <-tick.C:
		case err := <-ss.lost:
			return fmt.Errorf("the event may not have been delivered: %w", err)
		case <-conn.Done():
			return errors.New("the event may not have been delivered: the connection closed")
		case <-timer.C:
			return fmt.Errorf("the event was not written within %v", ss.o.timeout)
		case <-ctx.Done():
			return errInterrupted
		}
	}
	if linger > 0 {
		timer.Reset(linger)
		select {
		case <-timer.C:
		case err := <-ss.lost:
			return fmt.Errorf("the event may not have been handled: %w", err)
		case <-ctx.Done():
			return errInterrupted
		}
	}
	return nil
}

// wait blocks until ctx is done or done is closed (the normal ends: nil)
// or the connection is lost for good.
func (ss *session) wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-ctx.Done():
		return nil
	case <-done:
		return nil
	case err := <-ss.lost:
		return err
	}
}

// notify sends v on ch unless ch is full.
func notify[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
	}
}
