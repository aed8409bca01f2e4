package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Misbehaving clients speak raw Engine.IO over a hand-made WebSocket (or
// plain HTTP, or plain TCP) and do what SECURITY.md says the server must
// survive: malformed packets, oversized frames, half a frame then
// silence, garbage instead of HTTP, oversized and malformed polling
// bodies, a reader that never reads, a flood of events for a slow handler,
// a flood of dynamic namespaces, unmasked frames. Each must be cut off (or
// refused) within a bound, by the server, without the well-behaved
// clients noticing: their invariants are the other half of the check.

// errStopped ends a misbehaviour because the traffic stopped: not a
// failure.
var errStopped = errors.New("stopped")

// orStopped returns err, or errStopped once the traffic has stopped (err
// is then the stop's doing).
func (g *rogue) orStopped(err error) error {
	if g.ctx.Err() != nil {
		return errStopped
	}
	return err
}

type rogueKind struct {
	name   string
	weight int
	run    func(g *rogue) (reason string, err error)
}

var rogueKinds = []rogueKind{
	{"malformed packet", 3, (*rogue).malformed},
	{"oversized frame", 1, (*rogue).oversized},
	{"half a frame, then silence", 1, (*rogue).halfFrame},
	{"garbage instead of HTTP", 2, (*rogue).garbage},
	{"oversized polling body", 1, (*rogue).oversizedPost},
	{"malformed polling body", 2, (*rogue).badPost},
	{"never reads", 1, (*rogue).neverReads},
	{"event flood for a slow handler", 1, (*rogue).flood},
	{"dynamic namespace flood", 1, (*rogue).namespaceFlood},
	{"unmasked frame", 1, (*rogue).unmasked},
}

// The malformed Socket.IO packets (after the CONNECT to "/"), each of
// which closes the connection that sent it (malformed_test.go).
var malformedPackets = []string{
	"4abc",
	"42{}",
	`42abc["echo"]`,
	`42["disconnect"]`,
	`42[]`,
	`452-["echo",{"_placeholder":true,"num":5}]`,
	`4511-["echo"]`,
	`40{"a":` + strings.Repeat("[", 100) + `}`,
	`41/nowhere,`,
	"40",
	"9",
	"4\x00\xff",
}

// rogueResult is the tally of one kind of misbehaviour.
type rogueResult struct {
	Attempts, Cut, Failed int
	MaxTime               time.Duration // longest time to be cut off
	Reasons               map[string]int64
}

type rogueTally struct {
	mu sync.Mutex
	m  map[string]*rogueResult
}

func (t *rogueTally) record(kind, reason string, d time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*rogueResult)
	}
	r := t.m[kind]
	if r == nil {
		r = &rogueResult{Reasons: make(map[string]int64)}
		t.m[kind] = r
	}
	r.Attempts++
	if err != nil {
		r.Failed++
		return
	}
	r.Cut++
	r.MaxTime = max(r.MaxTime, d)
	if reason != "" {
		r.Reasons[reason]++
	}
}

func (t *rogueTally) snapshot() map[string]rogueResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]rogueResult, len(t.m))
	for k, v := range t.m {
		c := *v
		c.Reasons = maps.Clone(v.Reasons)
		out[k] = c
	}
	return out
}

// rogue is one misbehaving client's attempt.
type rogue struct {
	r    *run
	ctx  context.Context
	rng  *rand.Rand
	addr string // host:port of the server
	hc   *http.Client
}

func (r *run) rogueWorker(ctx context.Context, id int) {
	rng := rand.New(rand.NewPCG(r.cfg.Seed^0xbad, uint64(id)+1))
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 5 * time.Second}
	defer closeIdle(tr)
	g := &rogue{r: r, ctx: ctx, rng: rng, addr: strings.TrimPrefix(r.app.url, "http://"),
		hc: &http.Client{Transport: tr, Timeout: 15 * time.Second}}
	total := 0
	for _, k := range rogueKinds {
		total += k.weight
	}
	for {
		if !sleepCtx(ctx, time.Second+time.Duration(rng.Int64N(int64(3*time.Second)))) {
			return
		}
		x := rng.IntN(total)
		var kind rogueKind
		for _, k := range rogueKinds {
			if x < k.weight {
				kind = k
				break
			}
			x -= k.weight
		}
		start := time.Now()
		reason, err := kind.run(g)
		if errors.Is(err, errStopped) || ctx.Err() != nil && err != nil {
			continue
		}
		r.st.inc(cRogueAttempts)
		r.rogues.record(kind.name, reason, time.Since(start), err)
		if err != nil {
			r.st.inc(cRogueFailed)
			r.st.anomaly("misbehaving client not cut off", "%s: %v", kind.name, err)
		} else {
			r.st.inc(cRogueCut)
		}
	}
}

// cutBound is how long the server may take to notice a peer that went
// silent: a heartbeat and its timeout, and some slack.
func (g *rogue) cutBound() time.Duration {
	return g.r.cfg.PingInterval + g.r.cfg.PingTimeout + 5*time.Second
}

// dial connects to the server; the connection is closed when the traffic
// stops, so that no wait outlives it.
func (g *rogue) dial() (net.Conn, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(g.ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", g.addr)
	if err != nil {
		return nil, err
	}
	return &stopConn{Conn: c, stop: context.AfterFunc(g.ctx, func() { _ = c.Close() })}, nil
}

type stopConn struct {
	net.Conn
	stop func() bool
}

func (c *stopConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// --- raw WebSocket ---------------------------------------------------------------

type rawWS struct {
	c   net.Conn
	br  *bufio.Reader
	rng *rand.Rand
	sid string
}

// dialWS opens a WebSocket to the Engine.IO server and reads its open
// packet.
func (g *rogue) dialWS() (*rawWS, error) {
	c, err := g.dial()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	for i := range key {
		key[i] = byte(g.rng.Uint32())
	}
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + g.addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		_ = c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_ = c.Close()
		return nil, fmt.Errorf("websocket handshake: %s", resp.Status)
	}
	w := &rawWS{c: c, br: br, rng: g.rng}
	op, data, err := w.read()
	if err != nil || op != 1 || len(data) == 0 || data[0] != '0' {
		_ = c.Close()
		return nil, fmt.Errorf("open packet: %d %q %v", op, data, err)
	}
	var hs struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(data[1:], &hs); err != nil || hs.SID == "" {
		_ = c.Close()
		return nil, fmt.Errorf("open packet %q: %v", data, err)
	}
	w.sid = hs.SID
	_ = c.SetDeadline(time.Time{})
	return w, nil
}

// frame encodes a final frame of opcode op, masked unless told otherwise.
func (w *rawWS) frame(op byte, payload []byte, masked bool) []byte {
	n := len(payload)
	b := make([]byte, 0, 14+n)
	b = append(b, 0x80|op)
	var m byte
	if masked {
		m = 0x80
	}
	switch {
	case n < 126:
		b = append(b, m|byte(n))
	case n <= 0xffff:
		b = append(b, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !masked {
		return append(b, payload...)
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], w.rng.Uint32())
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range payload {
		b[start+i] ^= key[i&3]
	}
	return b
}

func (w *rawWS) write(b []byte) error {
	_ = w.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := w.c.Write(b)
	return err
}

func (w *rawWS) text(s string) error { return w.write(w.frame(1, []byte(s), true)) }

// read reads one frame (the server's are not masked), bounded in size.
func (w *rawWS) read() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return 0, nil, err
	}
	op = h[0] & 0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(w.br, e[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(w.br, e[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if n > 16<<20 {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	if h[1]&0x80 != 0 {
		var key [4]byte
		if _, err := io.ReadFull(w.br, key[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.br, payload)
	return op, payload, err
}

// connect joins namespace nsp and returns the server's answer: a CONNECT
// ("40...") or a CONNECT_ERROR ("44..."). Pings are answered.
func (w *rawWS) connect(nsp string) (string, error) {
	pkt := "40"
	if nsp != "/" {
		pkt += nsp + ","
	}
	if err := w.text(pkt); err != nil {
		return "", err
	}
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = w.c.SetReadDeadline(time.Time{}) }()
	for {
		op, data, err := w.read()
		if err != nil {
			return "", err
		}
		s := string(data)
		switch {
		case op == 1 && s == "2":
			if err := w.text("3"); err != nil {
				return "", err
			}
		case op == 1 && (strings.HasPrefix(s, "40") || strings.HasPrefix(s, "44")):
			return s, nil
		}
	}
}

// expectCut waits until the server has closed session sid (its close
// reason comes from the Engine.IO hook) and the TCP connection, within
// bound.
func (g *rogue) expectCut(w *rawWS, closed <-chan string, bound time.Duration) (string, error) {
	deadline := time.Now().Add(bound)
	// The connection: read (and drop) until it ends.
	_ = w.c.SetReadDeadline(deadline)
	var rerr error
	buf := make([]byte, 32<<10)
	for {
		_, err := w.br.Read(buf)
		if g.ctx.Err() != nil {
			return "", errStopped
		}
		if err != nil {
			rerr = err
			break
		}
	}
	var ne net.Error
	if errors.As(rerr, &ne) && ne.Timeout() {
		return "", fmt.Errorf("connection still open after %v (session %s)", bound, w.sid)
	}
	if closed == nil {
		return "", nil
	}
	select {
	case reason := <-closed:
		return reason, nil
	case <-time.After(time.Until(deadline) + time.Second):
		return "", fmt.Errorf("connection closed, but session %s still open after %v", w.sid, bound)
	case <-g.ctx.Done():
		return "", errStopped
	}
}

// wsSession dials, watches the session's close and, with nsp, connects.
func (g *rogue) wsSession(nsp string) (*rawWS, <-chan string, error) {
	w, err := g.dialWS()
	if err != nil {
		return nil, nil, g.orStopped(fmt.Errorf("dial: %w", err))
	}
	closed := g.r.app.watchRogue(w.sid)
	if nsp != "" {
		ans, err := w.connect(nsp)
		if err != nil || !strings.HasPrefix(ans, "40") {
			g.r.app.unwatchRogue(w.sid)
			_ = w.c.Close()
			return nil, nil, fmt.Errorf("connect %s: %q %v", nsp, ans, err)
		}
	}
	return w, closed, nil
}

// --- the misbehaviours ----------------------------------------------------------------

func (g *rogue) malformed() (string, error) {
	w, closed, err := g.wsSession("/")
	if err != nil {
		return "", err
	}
	defer w.c.Close()
	pkt := malformedPackets[g.rng.IntN(len(malformedPackets))]
	if err := w.text(pkt); err != nil {
		return "", err
	}
	if strings.HasPrefix(pkt, "452-") {
		_ = w.write(w.frame(2, []byte{1}, true))
		_ = w.write(w.frame(2, []byte{2}, true))
	}
	reason, err := g.expectCut(w, closed, 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("%q: %w", pkt, err)
	}
	return reason, nil
}

func (g *rogue) oversized() (string, error) {
	w, closed, err := g.wsSession("")
	if err != nil {
		return "", err
	}
	defer w.c.Close()
	big := make([]byte, 1_000_001) // MaxHTTPBufferSize (1e6) + 1
	big[0] = '4'
	for i := 1; i < len(big); i++ {
		big[i] = 'x'
	}
	_ = w.write(w.frame(1, big, true)) // may fail half-way: the server closes
	return g.expectCut(w, closed, 5*time.Second)
}

func (g *rogue) halfFrame() (string, error) {
	w, closed, err := g.wsSession("/")
	if err != nil {
		return "", err
	}
	defer w.c.Close()
	f := w.frame(1, bytes.Repeat([]byte("4"), 64<<10), true)
	if err := w.write(f[:100]); err != nil {
		return "", err
	}
	return g.expectCut(w, closed, g.cutBound())
}

func (g *rogue) unmasked() (string, error) {
	w, closed, err := g.wsSession("/")
	if err != nil {
		return "", err
	}
	defer w.c.Close()
	if err := w.write(w.frame(1, []byte(`42["echo",1,"x",null]`), false)); err != nil {
		return "", err
	}
	return g.expectCut(w, closed, 5*time.Second)
}

// neverReads asks for large echoes and never reads them, nor the pings:
// the slow-consumer bound or the heartbeat must cut it off.
func (g *rogue) neverReads() (string, error) {
	w, closed, err := g.wsSession("/")
	if err != nil {
		return "", err
	}
	defer w.c.Close()
	bin := make([]byte, 256<<10)
	for i := range 16 {
		pkt := fmt.Sprintf(`451-["echo",%d,"x",{"_placeholder":true,"num":0}]`, i)
		if w.text(pkt) != nil || w.write(w.frame(2, bin, true)) != nil {
			break
		}
	}
	return g.waitClosed(w.sid, closed, g.cutBound())
}

// flood sends more events for the slow handler than MaxPendingEvents.
func (g *rogue) flood() (string, error) {
	w, closed, err := g.wsSession("/")
	if err != nil {
		return "", err
	}
	defer w.c.Close()
	var buf []byte
	for range 3000 {
		buf = append(buf, w.frame(1, []byte(`42["slow"]`), true)...)
	}
	_ = w.write(buf)
	return g.expectCut(w, closed, 10*time.Second)
}

// namespaceFlood joins dynamic namespaces until refused: the 101st must
// get "Too many namespaces" and the connection stay open; then it leaves.
func (g *rogue) namespaceFlood() (string, error) {
	w, closed, err := g.wsSession("")
	if err != nil {
		return "", err
	}
	defer w.c.Close()
	base := 1000 + g.rng.IntN(1_000_000)
	for k := 0; ; k++ {
		if g.ctx.Err() != nil {
			return "", errStopped
		}
		nsp := fmt.Sprintf("/dyn-%d", base+k)
		ans, err := w.connect(nsp)
		if err != nil {
			return "", fmt.Errorf("connect %s: %w", nsp, err)
		}
		if strings.HasPrefix(ans, "44") {
			if k != 100 || !strings.Contains(ans, "Too many namespaces") {
				return "", fmt.Errorf("namespace %d refused: %q", k+1, ans)
			}
			break
		}
		if k >= 100 {
			return "", fmt.Errorf("namespace %d accepted", k+1)
		}
	}
	// Still open: an event on "/" after connecting to it is answered.
	ans, err := w.connect("/")
	if err != nil || !strings.HasPrefix(ans, "40") {
		return "", fmt.Errorf("after the refusal, connect /: %q %v", ans, err)
	}
	_ = w.write(w.frame(8, []byte{0x03, 0xe8}, true)) // close 1000
	return g.expectCut(w, closed, 5*time.Second)
}

// garbage sends random bytes instead of an HTTP request.
func (g *rogue) garbage() (string, error) {
	c, err := g.dial()
	if err != nil {
		return "", g.orStopped(err)
	}
	defer c.Close()
	junk := make([]byte, 1+g.rng.IntN(4096))
	for i := range junk {
		junk[i] = byte(g.rng.Uint32())
	}
	terminated := g.rng.IntN(2) == 0
	if terminated {
		junk = append(junk, "\r\n\r\n"...)
	}
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(junk)
	// Without an end of headers, net/http waits for ReadHeaderTimeout (10s).
	bound := 15 * time.Second
	_ = c.SetReadDeadline(time.Now().Add(bound))
	buf := make([]byte, 4096)
	var status string
	for {
		n, err := c.Read(buf)
		if status == "" && n > 0 {
			status, _, _ = strings.Cut(string(buf[:n]), "\r\n")
		}
		if g.ctx.Err() != nil {
			return "", errStopped
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return "", fmt.Errorf("connection still open after %v", bound)
			}
			break
		}
	}
	if status == "" {
		status = "closed"
	}
	if len(status) > 40 {
		status = status[:40]
	}
	return status, nil
}

// pollingOpen opens a polling session and returns its id.
func (g *rogue) pollingOpen() (string, error) {
	resp, err := g.get("http://" + g.addr + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		return "", g.orStopped(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 || body[0] != '0' {
		return "", fmt.Errorf("polling handshake: %s %q", resp.Status, body)
	}
	var hs struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body[1:], &hs); err != nil || hs.SID == "" {
		return "", fmt.Errorf("polling handshake %q: %v", body, err)
	}
	return hs.SID, nil
}

func (g *rogue) get(url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(g.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return g.hc.Do(req)
}

func (g *rogue) post(sid string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(g.ctx, http.MethodPost, "http://"+g.addr+"/socket.io/?EIO=4&transport=polling&sid="+sid, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := g.hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// waitClosed waits, within bound, for the close reason of session sid.
func (g *rogue) waitClosed(sid string, closed <-chan string, bound time.Duration) (string, error) {
	select {
	case reason := <-closed:
		return reason, nil
	case <-time.After(bound):
		return "", fmt.Errorf("session %s still open after %v", sid, bound)
	case <-g.ctx.Done():
		return "", errStopped
	}
}

// oversizedPost sends a body past MaxHTTPBufferSize: 413, and the session,
// abandoned, ends by the heartbeat.
func (g *rogue) oversizedPost() (string, error) {
	sid, err := g.pollingOpen()
	if err != nil {
		return "", err
	}
	closed := g.r.app.watchRogue(sid)
	body := bytes.Repeat([]byte("4"), 1_000_001)
	status, err := g.post(sid, body)
	if err != nil {
		if g.ctx.Err() != nil {
			return "", errStopped
		}
		// The server may close the connection while the body is arriving.
		status = 413
	}
	if status != http.StatusRequestEntityTooLarge {
		return "", fmt.Errorf("oversized POST: status %d, want 413", status)
	}
	return g.waitClosed(sid, closed, g.cutBound())
}

// badPost sends a malformed payload: 400 and the session closes.
func (g *rogue) badPost() (string, error) {
	sid, err := g.pollingOpen()
	if err != nil {
		return "", err
	}
	closed := g.r.app.watchRogue(sid)
	bodies := []string{"x\x1e\x1e", "9garbage", "4\x1ez", "b!!!not base64", ""}
	body := bodies[g.rng.IntN(len(bodies))]
	status, err := g.post(sid, []byte(body))
	if err != nil {
		return "", g.orStopped(err)
	}
	if status != http.StatusBadRequest && status != http.StatusOK {
		return "", fmt.Errorf("malformed POST %q: status %d", body, status)
	}
	if status == http.StatusOK {
		// Some bodies are valid (an empty message): leave, by the heartbeat.
		return g.waitClosed(sid, closed, g.cutBound())
	}
	reason, err := g.waitClosed(sid, closed, 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("malformed POST %q: %w", body, err)
	}
	// The session is gone for good.
	resp, err := g.get("http://" + g.addr + "/socket.io/?EIO=4&transport=polling&sid=" + sid)
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			return "", fmt.Errorf("GET on a closed session: %s", resp.Status)
		}
	}
	return reason, nil
}
