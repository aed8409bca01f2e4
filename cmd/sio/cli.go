package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the server cannot be reached, refused, timed out...
	exitUsage   = 2 // bad command line
)

const usageText = `sio pokes a Socket.IO v4 server from the terminal.

Usage:
  sio emit URL EVENT [ARG...] [--ack]   emit an event; with --ack, print the
                                        acknowledgement as one JSON array
  sio listen URL [EVENT...] [--count N] print each incoming event (all when
                                        none given) as ["event",arg...]
  sio connect URL                       connect, print the socket id, wait

URL is the server's address; its path is the namespace ("/" when empty) and
its query is sent with every request, e.g. http://localhost:3000/chat?v=1.
An ARG is a JSON value; a word that is not valid JSON is sent as a string.
{"_binary":"<base64>"} stands for binary data, in ARGs and in the output.

Flags (before or after the other arguments; "--" ends them):
  --namespace NSP  namespace, overriding the URL's path
  --auth JSON      auth payload of the connection (a JSON object)
  --transport T    polling or websocket (default: polling, then upgrade)
  --path PATH      server path (default /socket.io/)
  --parser P       json (default) or msgpack (socket.io-msgpack-parser)
  --timeout D      connection and acknowledgement timeout (default 5s)
  --header 'K: V'  extra HTTP header, may be repeated
  --ack            emit: wait for the acknowledgement and print it
  --linger D       emit without --ack: stay connected D after the event is
                   written, for the server to handle it (default 100ms)
  --count N        listen: exit after N events
  --reconnect      listen, connect: reconnect when the connection is lost

Exit status: 0 on success, 1 on failure (unreachable server, refused
connection, acknowledgement timeout, lost connection), 2 on usage errors.
`

// options are the flags of every command.
type options struct {
	namespace string
	auth      string
	transport string
	parser    string
	path      string
	timeout   time.Duration
	headers   headerList
	reconnect bool
	ack       bool          // emit
	linger    time.Duration // emit
	count     int           // listen
}

// command is a subcommand: its positional arguments and its own flags.
type command struct {
	name    string
	minArgs int
	maxArgs int // -1: unbounded
	flags   func(fs *flag.FlagSet, o *options)
	run     func(ctx context.Context, out streams, o *options, args []string) error
}

// streams are the outputs of a run.
type streams struct {
	stdout, stderr io.Writer
}

var commands = []*command{
	{name: "emit", minArgs: 2, maxArgs: -1, run: runEmit, flags: func(fs *flag.FlagSet, o *options) {
		fs.BoolVar(&o.ack, "ack", false, "")
		fs.DurationVar(&o.linger, "linger", 100*time.Millisecond, "")
	}},
	{name: "listen", minArgs: 1, maxArgs: -1, run: runListen, flags: func(fs *flag.FlagSet, o *options) {
		fs.IntVar(&o.count, "count", 0, "")
		fs.BoolVar(&o.reconnect, "reconnect", false, "")
	}},
	{name: "connect", minArgs: 1, maxArgs: 1, run: runConnect, flags: func(fs *flag.FlagSet, o *options) {
		fs.BoolVar(&o.reconnect, "reconnect", false, "")
	}},
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

var errHelp = errors.New("help requested")

// run runs the command line args (without the program name) and returns
// the exit status. It returns when the command is done or, for the
// commands that wait (listen, connect), when ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	var cmd *command
	for _, c := range commands {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "sio: unknown command %q (want emit, listen or connect; see sio help)\n", args[0])
		return exitUsage
	}
	o, pos, err := parseCommandLine(cmd, args[1:])
	if err == nil {
		err = o.check(cmd, pos)
	}
	if err == nil {
		err = cmd.run(ctx, streams{stdout, stderr}, o, pos)
	}
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, usageText)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "sio %s: %v (see sio help)\n", cmd.name, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "sio %s: %v\n", cmd.name, err)
		return exitFailure
	}
}

// parseCommandLine splits args into flags and positional arguments. Flags
// may come anywhere, as -name or --name, with their value as the next
// argument or after "=". A word that starts with "-" but is a JSON number
// (-1, -2.5) is positional; "--" makes every later word positional.
func parseCommandLine(cmd *command, args []string) (*options, []string, error) {
	o := &options{path: "/socket.io/", timeout: 5 * time.Second}
	fs := flag.NewFlagSet("sio "+cmd.name, flag.ContinueOnError)
	fs.StringVar(&o.namespace, "namespace", "", "")
	fs.StringVar(&o.auth, "auth", "", "")
	fs.StringVar(&o.transport, "transport", "", "")
	fs.StringVar(&o.parser, "parser", "json", "")
	fs.StringVar(&o.path, "path", o.path, "")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "")
	fs.Var(&o.headers, "header", "")
	cmd.flags(fs, o)

	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' || json.Valid([]byte(a)) {
			pos = append(pos, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if name == "h" || name == "help" {
			return nil, nil, errHelp
		}
		f := fs.Lookup(name)
		if f == nil {
			return nil, nil, usagef("unknown flag %s", a)
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 == len(args) {
				return nil, nil, usagef("flag --%s needs a value", name)
			}
			i++
			value = args[i]
		}
		if err := fs.Set(name, value); err != nil {
			return nil, nil, usagef("invalid value %q for flag --%s: %v", value, name, err)
		}
	}
	return o, pos, nil
}

// check validates the options and the number of positional arguments.
func (o *options) check(cmd *command, pos []string) error {
	switch {
	case len(pos) == 0:
		return usagef("missing URL")
	case len(pos) < cmd.minArgs:
		return usagef("missing EVENT")
	case cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs:
		return usagef("unexpected argument %q", pos[cmd.maxArgs])
	}
	switch o.transport {
	case "", "polling", "websocket":
	default:
		return usagef("--transport must be polling or websocket, not %q", o.transport)
	}
	switch o.parser {
	case "json", "msgpack":
	default:
		return usagef("--parser must be json or msgpack, not %q", o.parser)
	}
	if o.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	if o.linger < 0 {
		return usagef("--linger must not be negative")
	}
	if o.count < 0 {
		return usagef("--count must not be negative")
	}
	if o.auth != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(o.auth), &obj); err != nil || obj == nil {
			return usagef("--auth must be a JSON object, not %q", o.auth)
		}
	}
	return nil
}

// headerList is the repeatable --header flag.
type headerList struct{ h http.Header }

func (l *headerList) String() string { return "" }

func (l *headerList) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return errors.New(`want "Name: value"`)
	}
	if l.h == nil {
		l.h = http.Header{}
	}
	l.h.Add(name, strings.TrimSpace(value))
	return nil
}
