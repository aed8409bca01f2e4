package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	socketio "github.com/go-sio/socketio"
	"github.com/go-sio/socketio/client"
)

// A well-behaved client is a Manager of our client package, with sockets
// on "/" and "/chat" (and, for some, a dynamic namespace and "/auth"),
// that lives a random time doing random things, then leaves cleanly. A
// client slot starts a new one when the previous is gone, until the
// traffic stops.

// profile is what one client life is.
type profile struct {
	transport string // "websocket", "polling" or "upgrade" (polling, then WebSocket)
	faulted   bool   // through the fault proxy
	resident  bool   // lives until the traffic stops
	lifetime  time.Duration
	dyn       bool // switches between dynamic namespaces
	retries   bool // its "/chat" socket has Retries (at-least-once)
	auth      int  // 0: no "/auth"; 1: tries it with a bad token; 2: with the good one
}

func (p profile) String() string {
	s := p.transport
	if p.faulted {
		s += "+faults"
	}
	if p.retries {
		s += "+retries"
	}
	return s
}

func (r *run) pickProfile(rng *rand.Rand) profile {
	c := r.cfg
	var p profile
	switch x := rng.Float64(); {
	case x < 0.4:
		p.transport = "websocket"
	case x < 0.7:
		p.transport = "polling"
	default:
		p.transport = "upgrade"
	}
	p.faulted = rng.Float64() < c.FaultedShare
	p.resident = rng.Float64() < c.ResidentShare
	p.lifetime = c.LifeMin + time.Duration(rng.Int64N(int64(c.LifeMax-c.LifeMin)+1))
	p.dyn = rng.Float64() < 0.3
	p.retries = rng.Float64() < 0.15
	switch x := rng.Float64(); {
	case x < 0.10:
		p.auth = 1
	case x < 0.15:
		p.auth = 2
	}
	return p
}

// clientSlot runs client lives one after another until ctx is done.
func (r *run) clientSlot(ctx context.Context, slot int) {
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(slot)+1))
	// Spread the first connections over the ramp-up.
	if !sleepCtx(ctx, time.Duration(float64(r.cfg.RampUp)*float64(slot)/float64(max(1, r.cfg.Clients)))) {
		return
	}
	for gen := 0; ctx.Err() == nil; gen++ {
		p := r.pickProfile(rng)
		r.clientLife(ctx, fmt.Sprintf("c%d.%d", slot, gen), p, rng)
		if !sleepCtx(ctx, time.Duration(rng.Int64N(int64(2*time.Second)))) {
			return
		}
	}
}

// vsock is a client socket that checks what it receives.
type vsock struct {
	r       *run
	name    string // client name and namespace
	faulted bool
	s       *client.Socket

	closing atomic.Bool // disconnecting on purpose

	mu         sync.Mutex
	connects   int
	recoveries int // recovered reconnections so far
	rooms      map[string]*roomState
	leftCh     chan struct{} // signalled when a "left" is handled
}

// roomState is what a socket knows of one room, from the events it got.
type roomState struct {
	in   bool
	next int64 // the number of the next broadcast expected while in
	// recoveries is the socket's count of recovered reconnections when
	// the room's last message (or the join) came.
	recoveries int
	// preJoin is the greatest number received while not a member, and
	// preCount how many (a client behind the proxy gets them in recovery
	// replays).
	preJoin, preCount int64
}

func (r *run) newVsock(m *client.Manager, name, nsp string, faulted bool, opts *client.SocketOptions) *vsock {
	v := &vsock{r: r, name: name + nsp, faulted: faulted, rooms: make(map[string]*roomState), leftCh: make(chan struct{}, 1)}
	v.s = m.Socket(nsp, opts)
	st := r.st
	v.s.OnConnect(v.onConnect)
	v.s.OnDisconnect(func(reason string, cause error) {
		// "io client disconnect" is always ours (Disconnect); the closing
		// flag covers the rest of a deliberate close (Manager.Close).
		if reason == "io client disconnect" || v.closing.Load() {
			return
		}
		if v.faulted {
			v.r.clientDisconnects.add(reason)
			return
		}
		v.r.clientDisconnects.add("without faults: " + reason)
		st.anomaly("clean client: unexpected disconnection", "%s: %s (%v)", v.name, reason, cause)
	})
	v.s.OnConnectError(func(err error) {
		st.inc(cConnectErrors)
		var ce *client.ConnectError
		if nsp == "/auth" && errors.As(err, &ce) {
			return // checked by the caller
		}
		if !v.faulted && !v.closing.Load() {
			st.anomaly("clean client: connect_error", "%s: %v", v.name, err)
		} else {
			st.note("client behind the proxy: connect_error", "%s: %v", v.name, err)
		}
	})
	v.s.On("joined", v.onJoined)
	v.s.On("left", v.onLeft)
	v.s.On("room msg", v.onRoomMsg)
	v.s.On("question", func(e *socketio.Event) {
		var q int64
		if err := e.Bind(&q); err != nil {
			st.anomaly("client: bad event", "%s question: %v", v.name, err)
			return
		}
		_ = e.Ack().Send(2 * q)
	})
	v.s.On("tick", func(*socketio.Event) { st.inc(cTicks) })
	return v
}

func (v *vsock) onConnect() {
	recovered := v.s.Recovered()
	v.mu.Lock()
	v.connects++
	again := v.connects > 1
	if again && recovered {
		v.recoveries++
	}
	if again && !recovered {
		// A new session: the server's socket is in no room.
		for _, rs := range v.rooms {
			rs.in = false
		}
	}
	v.mu.Unlock()
	st := v.r.st
	st.inc(cConnects)
	if again {
		st.inc(cReconnects)
		if recovered {
			st.inc(cRecovered)
		}
	}
}

// roomEvent binds the arguments of a "joined" or a "left": the room and
// the number of its last broadcast.
func (v *vsock) roomEvent(e *socketio.Event) (room string, n int64, ok bool) {
	if err := e.Bind(&room, &n); err != nil {
		v.r.st.anomaly("client: bad event", "%s %s %v: %v", v.name, e.Name, e.Args, err)
		return "", 0, false
	}
	return room, n, true
}

func (v *vsock) onJoined(e *socketio.Event) {
	room, cur, ok := v.roomEvent(e)
	if !ok {
		return
	}
	v.mu.Lock()
	rs := v.roomLocked(room)
	was := rs.in
	pre, preCount := rs.preJoin, rs.preCount
	rs.in, rs.next, rs.preJoin, rs.preCount = true, cur+1, 0, 0
	rs.recoveries = v.recoveries
	v.mu.Unlock()
	if was {
		v.problem("joined twice", "%s: joined %s again at %d", v.name, room, cur)
	}
	switch {
	case preCount == 0:
	case pre <= cur:
		// Connection state recovery replays what was sent after the
		// client's last offset to the rooms the socket is in when it
		// comes back, as Node does: broadcasts sent to a room shortly
		// before the socket joined it come along.
		v.r.st.add(cExtraFaulted, preCount)
		v.r.st.note("client behind the proxy: recovery replayed room messages sent before the join",
			"%s: %d message(s) of %s up to #%d, then joined at #%d", v.name, preCount, room, pre, cur)
	default:
		v.problem("room message from after the join received before it", "%s: %s #%d before joined at %d", v.name, room, pre, cur)
	}
}

func (v *vsock) onLeft(e *socketio.Event) {
	room, last, ok := v.roomEvent(e)
	if !ok {
		return
	}
	v.mu.Lock()
	rs := v.roomLocked(room)
	was, next := rs.in, rs.next
	acrossRecovery := rs.recoveries != v.recoveries
	rs.in = false
	v.mu.Unlock()
	select {
	case v.leftCh <- struct{}{}:
	default:
	}
	if !was {
		v.problem("left a room not joined", "%s: left %s at %d", v.name, room, last)
		return
	}
	if missing := last + 1 - next; missing > 0 {
		kind := "room messages lost"
		if acrossRecovery {
			// Recovery replays to the rooms the socket is in when it
			// comes back, as Node does: what was sent to a room it
			// left in the meantime is not replayed.
			kind = "room messages sent before a leave, not replayed by recovery"
		}
		v.lost(missing, kind, "%s: %s: left at #%d, last got #%d", v.name, room, last, next-1)
	} else if missing < 0 {
		v.problem("room message after leaving", "%s: %s: got #%d, left at #%d", v.name, room, next-1, last)
	}
}

func (v *vsock) onRoomMsg(e *socketio.Event) {
	var room, from, text string
	var seq int64
	var bin []byte
	var sum uint32
	st := v.r.st
	if err := e.Bind(&room, &seq, &from, &text, &bin, &sum); err != nil {
		st.anomaly("client: bad event", "%s room msg: %v", v.name, err)
		return
	}
	st.inc(cRoomMsgs)
	if crc32.ChecksumIEEE(bin) != sum {
		st.anomaly("client: corrupted binary", "%s: %s #%d: %d bytes, crc %08x, want %08x", v.name, room, seq, len(bin), crc32.ChecksumIEEE(bin), sum)
	}
	v.mu.Lock()
	rs := v.roomLocked(room)
	in, next := rs.in, rs.next
	acrossRecovery := rs.recoveries != v.recoveries
	if in {
		rs.recoveries = v.recoveries
	}
	switch {
	case !in:
		rs.preJoin = max(rs.preJoin, seq)
		rs.preCount++
	case seq >= next:
		rs.next = seq + 1
	}
	v.mu.Unlock()
	switch {
	case !in && v.faulted:
		// Classified when the "joined" comes (or at the end).
	case !in:
		v.problem("room message while not a member", "%s: %s #%d", v.name, room, seq)
	case seq > next:
		kind := "room messages lost on a live connection"
		if acrossRecovery {
			kind = "room messages lost across a recovered reconnection"
		}
		v.lost(seq-next, kind, "%s: %s: got #%d, expected #%d", v.name, room, seq, next)
	case seq < next:
		v.problem("room message twice or out of order", "%s: %s: got #%d, expected #%d", v.name, room, seq, next)
	}
}

func (v *vsock) roomLocked(room string) *roomState {
	rs := v.rooms[room]
	if rs == nil {
		rs = &roomState{}
		v.rooms[room] = rs
	}
	return rs
}

// report records what went wrong: for a client behind the proxy, a note
// (faults cause it); for a client without faults, a broken invariant.
func (v *vsock) report(kind, format string, args ...any) {
	if v.faulted {
		v.r.st.note("client behind the proxy: "+kind, format, args...)
		return
	}
	v.r.st.anomaly("clean client: "+kind, format, args...)
}

// lost counts room messages that never came: a broken invariant for a
// client without faults.
func (v *vsock) lost(n int64, kind, format string, args ...any) {
	if v.faulted {
		v.r.st.add(cLostFaulted, n)
	} else {
		v.r.st.add(cLostClean, n)
	}
	v.report(kind, format, args...)
}

// problem counts a delivery oddity: a broken invariant for a client
// without faults.
func (v *vsock) problem(kind, format string, args ...any) {
	if v.faulted && kind == "room message twice or out of order" {
		v.r.st.inc(cDupFaulted)
	}
	v.report(kind, format, args...)
}

// inRooms returns the rooms the socket is a member of, as far as it knows.
func (v *vsock) inRooms() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for name, rs := range v.rooms {
		if rs.in {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

const ackTimeout = 10 * time.Second

// call emits with an acknowledgement and its timeout.
func (v *vsock) call(event string, args ...any) (socketio.Args, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*ackTimeout)
	defer cancel()
	return v.s.Timeout(ackTimeout).EmitWithAck(ctx, event, args...)
}

// connect connects the socket, within 20 s.
func (v *vsock) connect() error {
	v.s.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return v.s.WaitConnected(ctx)
}

// failed counts an emit that got no acknowledgement.
func (v *vsock) failed(c counter, what string, err error) {
	v.r.st.inc(c)
	v.report("no acknowledgement", "%s: %s: %v", v.name, what, err)
}

// life is one client life.
type life struct {
	r     *run
	name  string
	p     profile
	rng   *rand.Rand
	m     *client.Manager
	socks []*vsock // "/" and "/chat"
	dyn   *vsock
	dyns  map[string]*vsock
	seq   int64
}

func (r *run) clientLife(ctx context.Context, name string, p profile, rng *rand.Rand) {
	st := r.st
	st.inc(cLives)
	st.clientsAlive.Add(1)
	defer st.clientsAlive.Add(-1)
	r.lifeProfiles.add(p.String())

	base := r.app.url
	if p.faulted {
		base = "http://" + r.proxy.Addr()
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     15 * time.Second,
	}
	defer closeIdle(tr)
	mo := client.ManagerOptions{
		HTTPClient:           &http.Client{Transport: tr},
		ReconnectionDelay:    100 * time.Millisecond,
		ReconnectionDelayMax: 2 * time.Second,
		Timeout:              10 * time.Second,
		AutoConnect:          client.Bool(false),
		Query:                url.Values{"name": {name + " " + p.String()}},
	}
	switch p.transport {
	case "websocket":
		mo.Transports = []string{"websocket"}
	case "polling":
		mo.Transports, mo.Upgrade = []string{"polling"}, client.Bool(false)
	}
	m, err := client.NewManager(base, &mo)
	if err != nil {
		st.anomaly("client: new manager", "%v", err)
		return
	}
	l := &life{r: r, name: name, p: p, rng: rng, m: m, dyns: make(map[string]*vsock)}
	l.socks = append(l.socks, r.newVsock(m, name, "/", p.faulted, nil))
	var chatOpts *client.SocketOptions
	if p.retries {
		chatOpts = &client.SocketOptions{Retries: 2, AckTimeout: 3 * time.Second}
	}
	l.socks = append(l.socks, r.newVsock(m, name, "/chat", p.faulted, chatOpts))
	for _, v := range l.socks {
		v.s.Connect()
	}
	defer l.close()

	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	for _, v := range l.socks {
		if err := v.s.WaitConnected(wctx); err != nil {
			if p.faulted {
				st.note("client behind the proxy: slow first connection", "%s: %v", v.name, err)
			} else {
				st.anomaly("clean client: cannot connect", "%s (%s): %v", v.name, p, err)
			}
		}
	}
	cancel()
	if p.auth != 0 {
		l.tryAuth()
	}

	var end <-chan time.Time
	if !p.resident {
		t := time.NewTimer(p.lifetime)
		defer t.Stop()
		end = t.C
	}
	rate := r.cfg.Rate
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
		select {
		case <-ctx.Done():
			return
		case <-end:
			return
		case <-timer.C:
		}
		l.act()
	}
}

// act does one random thing.
func (l *life) act() {
	v := l.socks[l.rng.IntN(len(l.socks))]
	switch x := l.rng.Float64(); {
	case x < 0.40:
		if l.dyn != nil && l.rng.IntN(3) == 0 {
			v = l.dyn
		}
		l.echo(v)
	case x < 0.65:
		l.say(v)
	case x < 0.80:
		l.joinOrLeave(v)
	case x < 0.90:
		l.ask(v)
	default:
		if l.p.dyn {
			l.switchDyn()
		} else {
			l.echo(v)
		}
	}
}

// payload returns a random binary payload: often none, sometimes empty,
// usually small, now and then large.
func (l *life) payload() []byte {
	switch x := l.rng.Float64(); {
	case x < 0.4:
		return nil
	case x < 0.45:
		return []byte{}
	case x < 0.98:
		return randBytes(l.rng, 1+l.rng.IntN(32<<10))
	default:
		return randBytes(l.rng, 1+l.rng.IntN(256<<10))
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		x := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(x >> (8 * j))
		}
	}
	return b
}

const textChars = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 éèà€中文😀\"\\/\t\n{}[],:"

func randText(rng *rand.Rand, n int) string {
	runes := []rune(textChars)
	out := make([]rune, n)
	for i := range out {
		out[i] = runes[rng.IntN(len(runes))]
	}
	return string(out)
}

func (l *life) echo(v *vsock) {
	l.seq++
	seq := l.seq
	text := randText(l.rng, l.rng.IntN(200))
	bin := l.payload()
	res, err := v.call("echo", seq, text, bin)
	if err != nil {
		v.failed(cEchoFail, "echo", err)
		return
	}
	var gseq int64
	var gtext string
	var gbin []byte
	var gsum uint32
	var glen int
	if err := res.Bind(&gseq, &gtext, &gbin, &gsum, &glen); err != nil {
		l.r.st.anomaly("echo: bad acknowledgement", "%s: %v", v.name, err)
		return
	}
	if gseq != seq || gtext != text || !bytes.Equal(gbin, bin) || gsum != crc32.ChecksumIEEE(bin) || glen != len(bin) {
		l.r.st.anomaly("echo: wrong acknowledgement", "%s: sent (%d, %.40q, %d bytes), got (%d, %.40q, %d bytes, crc %08x, len %d)",
			v.name, seq, text, len(bin), gseq, gtext, len(gbin), gsum, glen)
		return
	}
	l.r.st.inc(cEchoOK)
}

func (l *life) say(v *vsock) {
	rooms := v.inRooms()
	if len(rooms) == 0 {
		l.join(v, roomNames[l.rng.IntN(len(roomNames))])
		return
	}
	room := rooms[l.rng.IntN(len(rooms))]
	var bin []byte
	if l.rng.IntN(5) == 0 {
		bin = randBytes(l.rng, 1+l.rng.IntN(4<<10))
	}
	res, err := v.call("say", room, randText(l.rng, 1+l.rng.IntN(100)), bin)
	if err != nil {
		v.failed(cSayFail, "say", err)
		return
	}
	var seq int64
	if err := res.Bind(&seq); err != nil || seq <= 0 {
		l.r.st.anomaly("say: bad acknowledgement", "%s: %v %v", v.name, res, err)
		return
	}
	l.r.st.inc(cSayOK)
}

func (l *life) joinOrLeave(v *vsock) {
	rooms := v.inRooms()
	if len(rooms) >= 3 || len(rooms) >= 1 && l.rng.IntN(2) == 0 {
		l.leave(v, rooms[l.rng.IntN(len(rooms))])
		return
	}
	l.join(v, roomNames[l.rng.IntN(len(roomNames))])
}

func (l *life) join(v *vsock, room string) {
	if _, err := v.call("join", room); err != nil {
		v.failed(cSayFail, "join", err)
		return
	}
	l.r.st.inc(cJoins)
}

func (l *life) leave(v *vsock, room string) bool {
	if _, err := v.call("leave", room); err != nil {
		v.failed(cSayFail, "leave", err)
		return false
	}
	l.r.st.inc(cLeaves)
	return true
}

func (l *life) ask(v *vsock) {
	q := l.rng.Int64N(1 << 40)
	res, err := v.call("ask", q)
	if err != nil {
		v.failed(cAskFail, "ask", err)
		return
	}
	var ok bool
	var got int64
	if err := res.Bind(&ok, &got); err != nil {
		l.r.st.anomaly("ask: bad acknowledgement", "%s: %v", v.name, err)
		return
	}
	if !ok {
		v.failed(cAskFail, "ask (the server's question)", errors.New("no acknowledgement from the client"))
		return
	}
	if got != 2*q {
		l.r.st.anomaly("ask: wrong answer", "%s: %d*2 = %d?", v.name, q, got)
		return
	}
	l.r.st.inc(cAskOK)
}

// switchDyn leaves the current dynamic namespace, if any, and joins
// another (on the same connection).
func (l *life) switchDyn() {
	if l.dyn != nil {
		l.dyn.closing.Store(true)
		l.dyn.s.Disconnect()
		l.dyn = nil
	}
	nsp := fmt.Sprintf("/dyn-%d", l.rng.IntN(20))
	v := l.dyns[nsp]
	if v == nil {
		v = l.r.newVsock(l.m, l.name, nsp, l.p.faulted, nil)
		l.dyns[nsp] = v
	}
	v.mu.Lock()
	v.connects = 0 // joined again on purpose: not a reconnection
	v.mu.Unlock()
	v.closing.Store(false)
	if err := v.connect(); err != nil {
		if !l.p.faulted {
			l.r.st.anomaly("clean client: cannot connect", "%s: %v", v.name, err)
		}
		v.closing.Store(true)
		v.s.Disconnect()
		return
	}
	l.r.st.inc(cDynSwitches)
	l.dyn = v
	l.echo(v)
}

// tryAuth connects to "/auth" with a bad or good token, checks the
// answer, and disconnects.
func (l *life) tryAuth() {
	tok := "wrong"
	if l.p.auth == 2 {
		tok = authToken
	}
	v := l.r.newVsock(l.m, l.name, "/auth", l.p.faulted, &client.SocketOptions{Auth: map[string]any{"token": tok}})
	err := v.connect()
	var ce *client.ConnectError
	switch {
	case l.p.auth == 1 && errors.As(err, &ce) && ce.Message == "unauthorized":
		l.r.st.inc(cAuthRefused)
	case l.p.auth == 2 && err == nil:
		l.echo(v)
	default:
		v.report("/auth", "%s (token %q): %v", v.name, tok, err)
	}
	v.closing.Store(true)
	v.s.Disconnect()
}

// close leaves every room (a client without faults then checks it got
// every message of them), disconnects and closes the manager.
func (l *life) close() {
	for _, v := range l.socks {
		for _, room := range v.inRooms() {
			l.leave(v, room)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, v := range l.socks {
		for len(v.inRooms()) > 0 && time.Now().Before(deadline) {
			select {
			case <-v.leftCh:
			case <-time.After(50 * time.Millisecond):
			}
		}
		if rooms := v.inRooms(); len(rooms) > 0 && !v.faulted {
			l.r.st.anomaly("clean client: no \"left\" after leaving", "%s: %v", v.name, rooms)
		}
	}
	for _, v := range l.socks {
		v.closing.Store(true)
		v.mu.Lock()
		for room, rs := range v.rooms {
			if rs.preCount > 0 {
				v.r.st.add(cExtraFaulted, rs.preCount)
				v.r.st.note("client behind the proxy: room messages while not a member, no join after",
					"%s: %d message(s) of %s up to #%d", v.name, rs.preCount, room, rs.preJoin)
			}
		}
		v.mu.Unlock()
	}
	for _, v := range l.dyns {
		v.closing.Store(true)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.m.Close()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		l.r.st.anomaly("client: Manager.Close hangs", "%s (%s)", l.name, l.p)
		<-done
	}
}

// closeIdle closes the idle connections of tr, twice: a connection whose
// response was just read goes back to the idle pool a moment later
// (http.Transport's readLoop).
func closeIdle(tr *http.Transport) {
	tr.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
	tr.CloseIdleConnections()
}

// sleepCtx sleeps d, or less when ctx is done first; it reports whether
// it slept all of d.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
