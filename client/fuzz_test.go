package client

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio/packet"
	"github.com/go-sio/socketio/internal/testutil"
	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// gotEvent is an event a socket delivered, or one it should deliver.
type gotEvent struct {
	name string
	args string // each argument's encoded bytes and attachments
}

func eventOf(name string, args []parser.Raw) gotEvent {
	var b bytes.Buffer
	for _, a := range args {
		fmt.Fprintf(&b, "%q%x;", a.Bytes(), a.Attachments())
	}
	return gotEvent{name, b.String()}
}

func rawArgs(v []any) []parser.Raw {
	out := make([]parser.Raw, 0, len(v))
	for _, x := range v {
		if r, ok := x.(parser.Raw); ok {
			out = append(out, r)
		}
	}
	return out
}

// clientRun is what a client socket of namespace "/" made of the messages
// of a server.
type clientRun struct {
	events []gotEvent
	acks   map[uint64][]string // ack id -> what its callbacks got, in order
	closes []string            // the manager's OnClose reasons
}

// pendingAcks are the acknowledgement ids the socket waits for.
var pendingAcks = []uint64{0, 1, 2, 7}

// runClient hands msgs, as the Engine.IO connection would, to a Manager
// and its socket "/" (active, not yet connected, waiting for the acks of
// pendingAcks), then closes the manager.
func runClient(t *testing.T, codec parser.Codec, msgs []parser.Message) clientRun {
	t.Helper()
	off := false
	m, err := NewManager("http://fuzz.invalid", &ManagerOptions{Reconnection: &off, AutoConnect: &off, Parser: codec})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Socket("/", nil)
	var mu sync.Mutex
	run := clientRun{acks: map[uint64][]string{}}
	s.OnAny(func(e *socketio.Event) {
		// The application decodes what it gets: that must not panic.
		for _, a := range e.Args {
			var v any
			_ = a.Decode(&v)
			var b []byte
			_ = a.Decode(&b)
		}
		mu.Lock()
		run.events = append(run.events, eventOf(e.Name, e.Args))
		mu.Unlock()
	})
	m.OnClose(func(reason string, _ error) {
		mu.Lock()
		run.closes = append(run.closes, reason)
		mu.Unlock()
	})
	s.mu.Lock()
	s.active = true
	s.acks = map[uint64]*pendingAck{}
	for _, id := range pendingAcks {
		s.acks[id] = &pendingAck{fn: func(args Args, err error) {
			got := fmt.Sprint(err)
			if err == nil {
				got = eventOf("ack", args).args
			}
			mu.Lock()
			run.acks[id] = append(run.acks[id], got)
			mu.Unlock()
		}}
	}
	s.mu.Unlock()
	m.mu.Lock()
	m.state, m.gen, m.dec = stateOpen, 1, codec.NewDecoder()
	m.mu.Unlock()

	for _, msg := range msgs {
		m.onData(1, msg.Data, msg.Binary)
	}
	_ = m.Close()
	// The socket's events run on its own goroutine: a job queued last
	// runs after them.
	done := make(chan struct{})
	s.enqueue(func() { close(done) })
	select {
	case <-done:
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("the socket's events did not run")
	}
	mu.Lock()
	defer mu.Unlock()
	return run
}

// expectClient computes from the protocol (and socket.io-client's Socket)
// what runClient must give: events of "/" are delivered once the socket is
// connected (those before, when it connects), a CONNECT_ERROR and a
// DISCONNECT end the socket and the manager's connection, an invalid
// message closes it with "parse error", and each waiting ack gets its ACK
// (one with an id: socket.io-client ignores an ACK without one) or, if the
// socket closes, ErrDisconnected.
func expectClient(codec parser.Codec, msgs []parser.Message) clientRun {
	want := clientRun{acks: map[uint64][]string{}}
	dec := codec.NewDecoder()
	connected := false
	var buffered []gotEvent
	waiting := map[uint64]bool{}
	for _, id := range pendingAcks {
		waiting[id] = true
	}
	reason := "forced close"
	// Waiting acks fail when the socket closes: on a parse error, on a
	// DISCONNECT, and at the end if it is connected; a CONNECT_ERROR
	// ends it without a close (as socket.io-client, whose acks of packets
	// buffered while disconnected wait for the next connection).
	failAcks := func() bool { return connected }
loop:
	for _, msg := range msgs {
		p, err := dec.Decode(msg.Data, msg.Binary)
		if err != nil {
			reason = "parse error"
			failAcks = func() bool { return true }
			break
		}
		if p == nil || p.Namespace != "/" {
			continue
		}
		switch p.Type {
		case parser.Connect:
			var data struct {
				SID string `json:"sid"`
			}
			if r, ok := p.Data.(parser.Raw); ok {
				_ = r.Decode(&data)
			}
			if data.SID != "" {
				connected = true
				want.events = append(want.events, buffered...)
				buffered = nil
			}
		case parser.Event:
			ev := eventOf(p.Event, rawArgs(p.Args))
			if connected {
				want.events = append(want.events, ev)
			} else {
				buffered = append(buffered, ev)
			}
		case parser.Ack:
			if p.HasID && waiting[p.ID] {
				delete(waiting, p.ID)
				want.acks[p.ID] = []string{eventOf("ack", rawArgs(p.Args)).args}
			}
		case parser.Disconnect:
			failAcks = func() bool { return true }
			break loop
		case parser.ConnectError:
			failAcks = func() bool { return false }
			break loop
		}
	}
	if failAcks() {
		for id := range waiting {
			want.acks[id] = []string{ErrDisconnected.Error()}
		}
	}
	want.closes = []string{reason}
	return want
}

// FuzzClientPackets feeds the Go client's Socket.IO side the messages of a
// server: data is an Engine.IO payload whose message packets ('4' text,
// 'b' base64 binary) are the messages, up to its first invalid packet;
// with codec&1 the msgpack codec is used instead of JSON. The socket must
// deliver exactly the events, acknowledgements and close that
// expectClient derives from the protocol, and never panic.
func FuzzClientPackets(f *testing.F) {
	for _, seed := range []string{
		`40{"sid":"abc"}` + "\x1e" + `42["news",{"a":1}]` + "\x1e" + `430[1,2]`,
		`42["early"]` + "\x1e" + `40{"sid":"x","pid":"y"}` + "\x1e" + `42["late",1]`,
		`40{"sid":"x"}` + "\x1e" + `451-["bin",{"_placeholder":true,"num":0}]` + "\x1ebAQID",
		`40{"sid":"x"}` + "\x1e" + `461-1[{"_placeholder":true,"num":0}]` + "\x1ebAA==",
		`40` + "\x1e" + `42["after a refused connect"]`,
		`44{"message":"Not authorized","data":{"code":1}}`,
		`40{"sid":"x"}` + "\x1e" + `41`,
		`40/admin,{"sid":"x"}` + "\x1e" + `42/admin,["elsewhere"]`,
		`40{"sid":"x"}` + "\x1e" + `43[]` + "\x1e" + `42["error"]`,
	} {
		f.Add([]byte(seed), uint8(0))
	}
	// The same with the msgpack codec: binary messages.
	var pkts []packet.Packet
	for _, p := range []parser.Packet{
		{Type: parser.Connect, Namespace: "/", Data: map[string]any{"sid": "x"}},
		{Type: parser.Event, Namespace: "/", Event: "news", Args: []any{[]byte{1, 2}, map[string]any{"_placeholder": true, "num": 0}}},
		{Type: parser.Ack, Namespace: "/", ID: 1, HasID: true, Args: []any{"ok"}},
		{Type: parser.Event, Namespace: "/", Event: "error"},
	} {
		msgs, err := msgpack.Default.Encode(&p)
		if err != nil {
			f.Fatal(err)
		}
		pkts = append(pkts, packet.Packet{Type: packet.Message, Data: msgs[0].Data, Binary: true})
	}
	f.Add(packet.AppendPayload(nil, pkts), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, codec uint8) {
		var c parser.Codec = parser.Default
		if codec&1 != 0 {
			c = msgpack.Default
		}
		var msgs []parser.Message
		_ = packet.DecodePayload(data, func(p packet.Packet) error {
			if p.Type == packet.Message {
				msgs = append(msgs, parser.Message{Data: bytes.Clone(p.Data), Binary: p.Binary})
			}
			return nil
		})
		got := runClient(t, c, msgs)
		want := expectClient(c, msgs)
		if fmt.Sprint(got.events) != fmt.Sprint(want.events) {
			t.Fatalf("events:\n got %q\nwant %q", got.events, want.events)
		}
		if fmt.Sprint(got.acks) != fmt.Sprint(want.acks) {
			t.Fatalf("acks:\n got %v\nwant %v", got.acks, want.acks)
		}
		if fmt.Sprint(got.closes) != fmt.Sprint(want.closes) {
			t.Fatalf("manager closes %q, want %q", got.closes, want.closes)
		}
	})
}
