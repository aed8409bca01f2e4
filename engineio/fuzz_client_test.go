package engineio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/go-sio/socketio/engineio"
	"github.com/go-sio/socketio/engineio/packet"
	"github.com/go-sio/socketio/internal/testutil"
)

// fakePolling is an http.RoundTripper that plays a polling server from
// fuzz bytes, without the network: the first GET (the handshake) gets
// status and first, the second GET gets second, later GETs wait until
// their request is cancelled; every POST gets "ok" and is recorded.
type fakePolling struct {
	status        int
	first, second []byte

	mu    sync.Mutex
	gets  int
	posts [][]byte
}

func (f *fakePolling) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
	}
	f.mu.Lock()
	status, answer := http.StatusOK, []byte("ok")
	if r.Method == http.MethodPost {
		f.posts = append(f.posts, body)
	} else {
		f.gets++
		switch f.gets {
		case 1:
			status, answer = f.status, f.first
		case 2:
			answer = f.second
		default:
			f.mu.Unlock()
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
	}
	f.mu.Unlock()
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"text/plain; charset=UTF-8"}},
		Body:       io.NopCloser(bytes.NewReader(answer)),
		Request:    r,
	}, nil
}

// fuzzClient records what a ClientConn delivers.
type fuzzClient struct {
	mu     sync.Mutex
	opens  int
	msgs   []receivedMsg
	pings  int
	closes []string
}

func (c *fuzzClient) handler() engineio.ClientFuncs {
	return engineio.ClientFuncs{
		Open: func(*engineio.ClientConn) { c.mu.Lock(); c.opens++; c.mu.Unlock() },
		Message: func(data []byte, binary bool) {
			c.mu.Lock()
			c.msgs = append(c.msgs, receivedMsg{string(data), binary})
			c.mu.Unlock()
		},
		Ping:  func() { c.mu.Lock(); c.pings++; c.mu.Unlock() },
		Close: func(reason string, _ error) { c.mu.Lock(); c.closes = append(c.closes, reason); c.mu.Unlock() },
	}
}

// FuzzClientPolling plays a polling server to the Go client: the handshake
// answer is refusal%4 (0: 200, 1: 400, 2: 403, 3: 500) with body first,
// then the next poll returns second. It checks the client's decoders: the
// handshake's error body, the open packet, and the polling payloads.
//
//   - A refused handshake fails Dial with a *HandshakeError of that status
//     that carries the engine.io code and message of a well-formed error
//     body.
//   - Dial succeeds exactly when the payload starts with an open packet
//     whose JSON has a non-empty sid, and the connection has that sid and
//     those timings.
//   - The handler gets OnOpen once, then exactly the messages of the
//     payloads in order, up to a close packet ("transport close") or an
//     invalid packet ("parse error"), then OnClose once; a ping is answered
//     by one pong, and the client posts nothing but pongs and its close.
//   - Every goroutine of the connection ends.
func FuzzClientPolling(f *testing.F) {
	open := `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	f.Add(uint8(0), []byte(open), []byte("4hello\x1ebAQID"))
	f.Add(uint8(0), []byte(open+"\x1e4first\x1e2"), []byte("4a\x1e1\x1e4never"))
	f.Add(uint8(0), []byte(open+"\x1ex"), []byte(""))
	f.Add(uint8(0), []byte(`0{"sid":""}`), []byte(""))
	f.Add(uint8(0), []byte(`4{"sid":"x"}`), []byte(""))
	f.Add(uint8(0), []byte(`0{"sid":"x","pingInterval":"25000"}`), []byte(""))
	f.Add(uint8(1), []byte(testutil.BodyUnsupportedProtocol), []byte(""))
	f.Add(uint8(2), []byte(`{"code":4,"message":"Forbidden"}`), []byte(""))
	f.Add(uint8(3), []byte(`Bad request`), []byte(""))

	f.Fuzz(func(t *testing.T, refusal uint8, first, second []byte) {
		status := [4]int{200, 400, 403, 500}[refusal%4]
		fake := &fakePolling{status: status, first: first, second: second}
		rec := &fuzzClient{}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
		defer cancel()
		c, err := engineio.Dial(ctx, "http://fuzz.invalid", &engineio.DialOptions{
			Transports: []string{engineio.TransportPolling},
			HTTPClient: &http.Client{Transport: fake},
		}, rec.handler())

		if status != http.StatusOK {
			var he *engineio.HandshakeError
			if !errors.As(err, &he) || he.Status != status || he.Transport != engineio.TransportPolling {
				t.Fatalf("refused handshake: error %v, want a HandshakeError with status %d", err, status)
			}
			var body struct {
				Code    *int    `json:"code"`
				Message *string `json:"message"`
			}
			// The client reads a bounded part of the body: an error
			// object longer than that is not parsed.
			if len(first) <= engineio.MaxRefusalBody &&
				json.Unmarshal(first, &body) == nil && body.Code != nil && body.Message != nil &&
				(he.Code != *body.Code || he.Message != *body.Message) {
				t.Fatalf("HandshakeError code %d %q, want %d %q", he.Code, he.Message, *body.Code, *body.Message)
			}
			if len(first) > engineio.MaxRefusalBody && len(he.Message) > engineio.MaxRefusalBody {
				t.Fatalf("HandshakeError holds a %d-byte message out of a %d-byte body", len(he.Message), len(first))
			}
			return
		}

		// What the payloads say, read here with the packet codec.
		var pkts []packet.Packet
		firstErr := packet.DecodePayload(first, func(p packet.Packet) error {
			pkts = append(pkts, packet.Packet{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
			return nil
		})
		var hs struct {
			SID          string   `json:"sid"`
			Upgrades     []string `json:"upgrades"`
			PingInterval float64  `json:"pingInterval"`
			PingTimeout  float64  `json:"pingTimeout"`
			MaxPayload   float64  `json:"maxPayload"`
		}
		valid := len(pkts) > 0 && pkts[0].Type == packet.Open && exactJSON(pkts[0].Data, &hs) && hs.SID != ""
		if err != nil {
			if valid {
				t.Fatalf("Dial refused a valid handshake %q: %v", first, err)
			}
			if rec.opens != 0 || len(rec.closes) != 0 {
				t.Fatalf("failed Dial called the handler: %+v", rec)
			}
			return
		}
		if !valid {
			_ = c.Close()
			<-c.Done()
			t.Fatalf("Dial accepted the handshake %q", first)
		}
		if c.ID() != hs.SID || c.PingInterval() != fuzzMillis(hs.PingInterval) ||
			c.PingTimeout() != fuzzMillis(hs.PingTimeout) {
			t.Fatalf("connection %q %v %v, handshake %+v", c.ID(), c.PingInterval(), c.PingTimeout(), hs)
		}

		// The expected messages and close reason.
		var want []receivedMsg
		pings := 0
		reason := "" // "": the third GET waits, Close ends it
		consume := func(ps []packet.Packet, perr error) bool {
			for _, p := range ps {
				switch p.Type {
				case packet.Message:
					want = append(want, receivedMsg{string(p.Data), p.Binary})
				case packet.Ping:
					pings++
				case packet.Close:
					reason = engineio.ReasonTransportClose
					return false
				}
			}
			if perr != nil {
				reason = engineio.ReasonParseError
				return false
			}
			return true
		}
		if consume(pkts[1:], firstErr) {
			var more []packet.Packet
			err := packet.DecodePayload(second, func(p packet.Packet) error {
				more = append(more, packet.Packet{Type: p.Type, Data: bytes.Clone(p.Data), Binary: p.Binary})
				return nil
			})
			consume(more, err)
		}
		// A short heartbeat may end the connection first: then what came
		// is a prefix of what was sent.
		heartbeat := fuzzMillis(hs.PingInterval)+fuzzMillis(hs.PingTimeout) < 10*time.Second

		if reason == "" {
			waitFor(t, "the payloads delivered", func() bool {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				return len(rec.msgs) >= len(want) || len(rec.closes) > 0
			})
			_ = c.Close()
			reason = engineio.ReasonForcedClose
		}
		select {
		case <-c.Done():
		case <-time.After(testutil.WaitTimeout):
			t.Fatal("the connection's goroutines did not end")
		}

		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.opens != 1 || len(rec.closes) != 1 {
			t.Fatalf("OnOpen %d times, OnClose %q", rec.opens, rec.closes)
		}
		if heartbeat && rec.closes[0] == engineio.ReasonPingTimeout {
			if len(rec.msgs) > len(want) {
				t.Fatalf("%d messages, at most %d sent", len(rec.msgs), len(want))
			}
			want = want[:len(rec.msgs)]
		} else if rec.closes[0] != reason {
			t.Fatalf("closed with %q, want %q", rec.closes[0], reason)
		}
		if len(rec.msgs) != len(want) {
			t.Fatalf("%d messages %+v, want %d %+v", len(rec.msgs), rec.msgs, len(want), want)
		}
		for i := range want {
			if rec.msgs[i] != want[i] {
				t.Fatalf("message %d: %+v, want %+v", i, rec.msgs[i], want[i])
			}
		}
		if rec.pings > pings {
			t.Fatalf("%d pings delivered, %d sent", rec.pings, pings)
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		pongs := 0
		for _, body := range fake.posts {
			if err := packet.DecodePayload(body, func(p packet.Packet) error {
				switch p.Type {
				case packet.Pong:
					pongs++
				case packet.Close:
				default:
					t.Fatalf("the client posted a %v packet", p.Type)
				}
				return nil
			}); err != nil {
				t.Fatalf("the client posted %q: %v", body, err)
			}
		}
		if pongs > pings {
			t.Fatalf("%d pongs for %d pings", pongs, pings)
		}
	})
}

// fuzzMillis is how a client reads a number of milliseconds of the open
// packet: as JavaScript does, fractions included; what is not a positive
// number of a sane size counts as 0.
func fuzzMillis(ms float64) time.Duration {
	if !(ms > 0) || ms > 1e12 {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// exactJSON decodes the JSON object b into the struct v by the exact names
// of its keys, as JavaScript reads them (encoding/json ignores their case).
// It reports whether b is an object whose keys named by v's json tags hold
// values of their fields' types.
func exactJSON(b []byte, v any) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return false
	}
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Tag.Get("json")
		if raw, ok := fields[name]; ok && json.Unmarshal(raw, rv.Field(i).Addr().Interface()) != nil {
			return false
		}
	}
	return true
}
