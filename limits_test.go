package socketio_test

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sio/socketio"
	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/internal/testutil"
	"github.com/go-sio/socketio/parser"
)

// The Socket.IO limits of SECURITY.md, each at its boundary, and its
// security defaults. No test measures time: every wait is a hang guard.

// --- binary attachments ----------------------------------------------------------

// binaryEvent is a BINARY_EVENT "bin" with n placeholders, and its n
// attachments.
func binaryEvent(n int) (string, [][]byte) {
	var b strings.Builder
	fmt.Fprintf(&b, `45%d-["bin"`, n)
	atts := make([][]byte, n)
	for i := range n {
		fmt.Fprintf(&b, `,{"_placeholder":true,"num":%d}`, i)
		atts[i] = []byte{byte(i)}
	}
	b.WriteString("]")
	return b.String(), atts
}

// TestLimitAttachments: a packet may announce up to 10 binary attachments
// (Node's default): 10 are delivered, 11 close the connection, before any
// attachment is read. The bound is the codec's option.
func TestLimitAttachments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codec parser.Codec
		limit int
	}{
		{"default", nil, 10},
		{"MaxAttachments 2", parser.NewJSON(&parser.JSONOptions{MaxAttachments: 2}), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startServer(t, &socketio.ServerOptions{Parser: tc.codec}, func(srv *socketio.Server) {
				srv.OnConnection(func(s *socketio.Socket) {
					s.On("bin", func(e *socketio.Event) {
						got := 0
						for _, a := range e.Args {
							var b []byte
							if a.Decode(&b) == nil && len(b) == 1 {
								got++
							}
						}
						_ = s.Emit("got", got)
					})
				})
			})
			bystander, _ := h.connect()

			c, _ := h.connect()
			text, atts := binaryEvent(tc.limit)
			c.SendText(text)
			for _, a := range atts {
				c.SendBinary(a)
			}
			c.ExpectTextSkippingPings(fmt.Sprintf(`42["got",%d]`, tc.limit))

			c, s := h.connect()
			reason := make(chan string, 1)
			s.OnDisconnect(func(r string) { reason <- r })
			text, _ = binaryEvent(tc.limit + 1)
			c.SendText(text)
			if frames := testutil.WithoutPings(c.ExpectClosed()); len(frames) > 0 {
				t.Fatalf("%d attachments: got %v before the close, want nothing", tc.limit+1, frames)
			}
			t.Logf("%d attachments: disconnected with %q", tc.limit+1, receive(t, "disconnect", reason))

			bystander.SendText(`42["bin"]`)
			bystander.ExpectTextSkippingPings(`42["got",0]`)
		})
	}
}

// --- JSON nesting ------------------------------------------------------------------

// TestLimitJSONNesting: arguments nested 100,000 levels deep ([[[...]]] and
// {"a":{"a":...}}), which Node's server does not survive when a handler
// echoes them back. A handler that echoes them relays them unchanged
// (they are validated without recursion and never decoded); a handler
// that decodes them gets an error (encoding/json stops at 10,000 levels);
// the connection stays open and other clients are served all along.
func TestLimitJSONNesting(t *testing.T) {
	const depth = 100_000
	var bindErrors atomic.Int64
	opts := &socketio.ServerOptions{}
	opts.Hooks.BindError = func(*socketio.Socket, string, error) { bindErrors.Add(1) }
	h := startServer(t, opts, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("echo", func(e *socketio.Event) { _ = s.Emit("echo-back", e.Args.Values()...) })
			s.On("decode", socketio.Func1(func(v any, ack socketio.Ack) { _ = ack.Send("decoded") }))
		})
	})
	bystander, _ := h.connect()
	c, _ := h.connect()

	for _, deep := range []string{
		strings.Repeat("[", depth) + strings.Repeat("]", depth),
		strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth),
	} {
		c.SendText(`42["echo",` + deep + `]`)
		bystander.SendText(`42["echo","meanwhile"]`)
		bystander.ExpectTextSkippingPings(`42["echo-back","meanwhile"]`)
		f := c.NextSkippingPings()
		if want := `42["echo-back",` + deep + `]`; f.Binary || string(f.Data) != want {
			t.Fatalf("echo of the nested argument: %d bytes %.40q..., want it unchanged (%d bytes)", len(f.Data), f.Data, len(want))
		}

		c.SendText(`427["decode",` + deep + `]`)
		f = c.NextSkippingPings()
		if !strings.HasPrefix(string(f.Data), `437[{"error":`) {
			t.Fatalf("decoding the nested argument: got %.80q, want an error acknowledgement", f.Data)
		}
	}
	if n := bindErrors.Load(); n != 2 {
		t.Fatalf("BindError hook called %d times, want 2", n)
	}
	c.SendText(`42["echo","after"]`)
	c.ExpectTextSkippingPings(`42["echo-back","after"]`)
}

// --- namespaces per connection -------------------------------------------------------

// TestLimitNamespacesPerConnection: one connection may join at most
// MaxNamespacesPerConnection distinct dynamic namespaces (default 100).
// The next CONNECT gets a CONNECT_ERROR and creates no namespace; the
// connection goes on, and joining again a namespace it had joined is not
// counted again. Static namespaces do not count; another connection has
// its own count; a negative value removes the bound.
func TestLimitNamespacesPerConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int // option; 0: default
		want  int // distinct dynamic namespaces accepted; -1: no bound
	}{
		{"default", 0, 100},
		{"3", 3, 3},
		{"no bound", -1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var parent *socketio.ParentNamespace
			h := startServer(t, &socketio.ServerOptions{MaxNamespacesPerConnection: tc.limit}, func(srv *socketio.Server) {
				parent = srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
				srv.Of("/static-a")
				srv.Of("/static-b")
				echo := func(s *socketio.Socket) {
					s.On("ping", func(*socketio.Event) { _ = s.Emit("pong", s.Namespace().Name()) })
				}
				srv.OnConnection(echo)
				parent.OnConnection(echo)
			})
			c, _ := h.connect()
			c.join("/static-a", "")
			c.join("/static-b", "")
			accepted := tc.want
			if accepted < 0 {
				accepted = 150
			}
			for i := range accepted {
				c.join(fmt.Sprintf("/dyn-%d", i), "")
			}
			next := fmt.Sprintf("/dyn-%d", accepted)
			c.SendText("40" + next + ",")
			if tc.want < 0 {
				wantConnectAnswer(t, c.NextSkippingPings(), "40"+next+",")
				return
			}
			c.ExpectTextSkippingPings("44" + next + `,{"message":"Too many namespaces"}`)
			if n := len(parent.Children()); n != accepted {
				t.Fatalf("%d dynamic namespaces exist, want %d (none for the refused CONNECT)", n, accepted)
			}
			// The connection and its sockets go on.
			c.SendText(`42["ping"]`)
			c.ExpectTextSkippingPings(`42["pong","/"]`)
			c.SendText(`42/dyn-0,["ping"]`)
			c.ExpectTextSkippingPings(`42/dyn-0,["pong","/dyn-0"]`)
			// Leaving a dynamic namespace and joining it again is free.
			c.SendText("41/dyn-1,")
			c.join("/dyn-1", "")
			// A namespace created by another connection counts the same.
			other, _ := h.connect()
			other.join(next, "")
			c.SendText("40" + next + ",")
			c.ExpectTextSkippingPings("44" + next + `,{"message":"Too many namespaces"}`)
		})
	}
}

// --- send buffer (slow consumer) ---------------------------------------------------

// TestLimitSlowConsumer: a client that stops reading. Once the socket
// buffers are full, what is emitted to it queues up; past
// MaxBufferedBytes its connection is closed ("transport error", cause
// ErrSlowConsumer), while a client that reads, sent the same events at the
// same pace, stays connected and gets them all.
func TestLimitSlowConsumer(t *testing.T) {
	const limit = 256 << 10
	opts := &socketio.ServerOptions{}
	opts.MaxBufferedBytes = limit
	causes := make(chan error, 4)
	opts.Hooks.Engine.Close = func(_ *engineio.Session, _ string, cause error) { causes <- cause }
	h := startServer(t, opts, nil)
	reader, readerSocket := h.connect()

	slow := dialSIORaw(t, h)
	slowSocket, ok := h.srv.Of("/").Socket(slow.sid)
	if !ok {
		t.Fatal("slow socket not found")
	}
	reason := make(chan string, 1)
	slowSocket.OnDisconnect(func(r string) { reason <- r })
	stayed := make(chan string, 1)
	readerSocket.OnDisconnect(func(r string) { stayed <- r })

	payload := strings.Repeat("z", 32<<10)
	want := `42["big","` + payload + `"]`
	// Past about 4 MiB of socket buffers plus the limit, the slow client
	// must be cut off: 1000 events of 32 KiB bound the loop.
	sent := 0
	for ; sent < 1000; sent++ {
		select {
		case <-slowSocket.Conn().Closed():
		default:
			_ = slowSocket.Emit("big", payload)
			if err := readerSocket.Emit("big", payload); err != nil {
				t.Fatalf("event %d to the reading client: %v", sent, err)
			}
			reader.ExpectTextSkippingPings(want)
			continue
		}
		break
	}
	if sent == 1000 {
		t.Fatalf("slow client still connected after 1000 events of 32 KiB (limit %d bytes)", limit)
	}
	if r := receive(t, "slow client's disconnection", reason); r != socketio.ReasonTransportError {
		t.Fatalf("slow client disconnected with %q, want %q", r, socketio.ReasonTransportError)
	}
	if cause := receive(t, "engine close", causes); !errors.Is(cause, engineio.ErrSlowConsumer) {
		t.Fatalf("engine closed with cause %v, want ErrSlowConsumer", cause)
	}
	t.Logf("slow client cut off after %d events of 32 KiB", sent)
	reader.SendText(`42["still"]`)
	_ = readerSocket.Emit("after")
	reader.ExpectTextSkippingPings(`42["after"]`)
	select {
	case r := <-stayed:
		t.Fatalf("the reading client disconnected too (%q)", r)
	default:
	}
}

// --- events waiting for their handlers ---------------------------------------------

// TestLimitPendingEvents: while a handler runs, up to MaxPendingEvents
// events of its socket wait: exactly that many are all handled, one more
// disconnects the client ("forced server close").
func TestLimitPendingEvents(t *testing.T) {
	const limit = 4
	for _, waiting := range []int{limit, limit + 1} {
		t.Run(strconv.Itoa(waiting), func(t *testing.T) {
			started := make(chan struct{}, 1)
			release := make(chan struct{})
			var handled atomic.Int64
			h := startServer(t, &socketio.ServerOptions{MaxPendingEvents: limit}, func(srv *socketio.Server) {
				srv.OnConnection(func(s *socketio.Socket) {
					s.On("block", func(*socketio.Event) {
						started <- struct{}{}
						<-release
					})
					s.On("ev", func(*socketio.Event) {
						if handled.Add(1) == int64(waiting) {
							_ = s.Emit("all handled")
						}
					})
				})
			})
			c, s := h.connect()
			reason := make(chan string, 1)
			s.OnDisconnect(func(r string) { reason <- r })
			c.SendText(`42["block"]`)
			receive(t, "blocking handler started", started)
			for range waiting {
				c.SendText(`42["ev"]`)
			}
			if waiting > limit {
				c.ExpectClosed()
				close(release)
				if r := receive(t, "disconnect", reason); r != socketio.ReasonForcedServerClose {
					t.Fatalf("disconnected with %q, want %q", r, socketio.ReasonForcedServerClose)
				}
				return
			}
			close(release)
			c.ExpectTextSkippingPings(`42["all handled"]`)
		})
	}
}

// --- connect timeout -----------------------------------------------------------------

// TestLimitConnectTimeout: an Engine.IO session that joins no namespace
// within ConnectTimeout is closed ("forced close", as Node's
// connectTimeout), though its client answers every ping; one that joined
// stays.
func TestLimitConnectTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	opts := &socketio.ServerOptions{ConnectTimeout: timeout}
	opts.PingInterval = 50 * time.Millisecond
	var mu sync.Mutex
	closes := map[string]string{}
	opts.Hooks.Engine.Close = func(s *engineio.Session, reason string, _ error) {
		mu.Lock()
		closes[s.ID()] = reason
		mu.Unlock()
	}
	h := startServer(t, opts, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("ping", func(*socketio.Event) { _ = s.Emit("pong") })
		})
	})
	joined, _ := h.connect()
	idle, open := h.openWS(true)
	idle.ExpectClosed()
	var reason string
	eventually(t, "idle session closed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		r, ok := closes[open.SID]
		reason = r
		return ok
	})
	if reason != engineio.ReasonForcedClose {
		t.Fatalf("idle session closed with %q, want %q", reason, engineio.ReasonForcedClose)
	}
	time.Sleep(2 * timeout) // not a measure: past the joined client's own timeout
	joined.SendText(`42["ping"]`)
	joined.ExpectTextSkippingPings(`42["pong"]`)
}

// --- security defaults -------------------------------------------------------------

// TestSecurityNoEventBeforeConnect: a packet for a namespace the client
// has not joined (an event, a binary event, an ack, before any CONNECT or
// for another namespace) reaches no handler and closes the connection, as
// in Node; a bystander is served.
func TestSecurityNoEventBeforeConnect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		join   string // namespace joined first, "" for none
		frames []string
	}{
		{"event before CONNECT", "", []string{`42["message","early"]`}},
		{"event with ack before CONNECT", "", []string{`421["message"]`}},
		{"binary event before CONNECT", "", []string{`451-["message",{"_placeholder":true,"num":0}]`, "\x00binary"}},
		{"ack before CONNECT", "", []string{`431["x"]`}},
		{"event for a namespace not joined", "/", []string{`42/custom,["message","early"]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var events atomic.Int64
			opts := &socketio.ServerOptions{}
			opts.Hooks.EventIn = func(*socketio.Socket, string, []parser.Raw) { events.Add(1) }
			h := startServer(t, opts, func(srv *socketio.Server) {
				count := func(s *socketio.Socket) { s.OnAny(func(*socketio.Event) { events.Add(1) }) }
				srv.OnConnection(count)
				srv.Of("/custom").OnConnection(count)
			})
			bystander, _ := h.connect()
			c, _ := h.openWS(true)
			if tc.join != "" {
				c.join(tc.join, "")
			}
			for _, f := range tc.frames {
				if f[0] == 0 {
					c.SendBinary([]byte(f[1:]))
					continue
				}
				c.SendText(f)
			}
			c.ExpectClosed()
			if n := events.Load(); n != 0 {
				t.Fatalf("%d events reached handlers or hooks", n)
			}
			bystander.SendText(`42["message"]`)
			eventually(t, "bystander's event handled (hook and handler)", func() bool { return events.Load() == 2 })
		})
	}
}

// TestSecurityReservedEventNames: an event a client names like a reserved
// one (connect, connect_error, disconnect, disconnecting, newListener,
// removeListener), in any spelling JSON allows, reaches no handler, not
// even one registered under that name, and closes the connection.
func TestSecurityReservedEventNames(t *testing.T) {
	for name := range parser.ReservedEvents {
		escaped := `\u` + fmt.Sprintf("%04x", name[0]) + name[1:]
		for _, frame := range []string{
			`42["` + name + `"]`,
			`421["` + name + `",{}]`,
			`42["` + escaped + `"]`,
			`451-["` + name + `",{"_placeholder":true,"num":0}]`,
		} {
			t.Run(frame, func(t *testing.T) {
				var handled atomic.Int64
				h := startServer(t, nil, func(srv *socketio.Server) {
					srv.OnConnection(func(s *socketio.Socket) {
						s.OnAny(func(*socketio.Event) { handled.Add(1) })
						for name := range parser.ReservedEvents {
							s.On(name, func(*socketio.Event) { handled.Add(1) })
						}
					})
				})
				bystander, _ := h.connect()
				c, _ := h.connect()
				c.SendText(frame)
				if strings.HasPrefix(frame, "451-") {
					c.SendBinary([]byte{1}) // may find the connection closed already
				}
				c.ExpectClosed()
				if n := handled.Load(); n != 0 {
					t.Fatalf("%d handlers ran", n)
				}
				bystander.SendText(`42["fine"]`)
				eventually(t, "an ordinary event handled", func() bool { return handled.Load() == 1 })
			})
		}
	}
}

// TestSecurityIDs: socket ids (and recovery's private ids) are 20
// characters of URL-safe base64 (15 random bytes, 120 bits), distinct from
// each other and from the Engine.IO session id, over many sockets.
func TestSecurityIDs(t *testing.T) {
	const n = 300
	h := startServer(t, &socketio.ServerOptions{ConnectionStateRecovery: &socketio.RecoveryOptions{}}, nil)
	c, open := h.openWS(true)
	seen := map[string]bool{open.SID: true}
	check := func(id string) {
		t.Helper()
		b, err := base64.RawURLEncoding.DecodeString(id)
		if len(id) != 20 || err != nil || len(b) != 15 {
			t.Fatalf("id %q is not 20 characters of URL-safe base64", id)
		}
		if seen[id] {
			t.Fatalf("id %q given twice", id)
		}
		seen[id] = true
	}
	for range n {
		c.SendText("40")
		f := c.NextSkippingPings()
		var d struct{ SID, PID string }
		if err := json.Unmarshal([]byte(strings.TrimPrefix(string(f.Data), "40")), &d); err != nil {
			t.Fatalf("CONNECT answer %v: %v", f, err)
		}
		check(d.SID)
		check(d.PID)
		c.SendText("41")
	}
}

// --- a raw Socket.IO client that can stop reading ------------------------------

// sioRaw is a WebSocket client on a bare TCP connection, joined to "/".
// It reads nothing after the CONNECT answer unless asked.
type sioRaw struct {
	conn net.Conn
	br   *bufio.Reader
	sid  string
}

// dialSIORaw connects to h over WebSocket with a small receive buffer,
// joins "/" and returns the client; it is closed at cleanup.
func dialSIORaw(t *testing.T, h *harness) *sioRaw {
	t.Helper()
	// A small receive buffer, set before the connection exists so that
	// the window never grows: the server's writes block soon.
	d := net.Dialer{Timeout: testutil.WaitTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10)
		})
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", h.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(testutil.WaitTimeout))
	c := &sioRaw{conn: conn, br: bufio.NewReader(conn)}
	_, _ = io.WriteString(conn, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if p := c.readText(t); !strings.HasPrefix(p, "0{") {
		t.Fatalf("open packet %q", p)
	}
	c.writeText(t, "40")
	p := c.readText(t)
	sid := wantConnectAnswer(t, testutil.Frame{Data: []byte(p)}, "40")
	c.sid = sid
	_ = conn.SetDeadline(time.Time{})
	return c
}

func (c *sioRaw) writeText(t *testing.T, s string) {
	t.Helper()
	f := []byte{0x81, 0x80 | byte(len(s)), 0, 0, 0, 0} // masked with a zero key
	if _, err := c.conn.Write(append(f, s...)); err != nil {
		t.Fatal(err)
	}
}

// readText reads one small unmasked text frame.
func (c *sioRaw) readText(t *testing.T) string {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		if _, err := io.ReadFull(c.br, l[:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}
