package redis

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/parser"
	"github.com/go-sio/socketio/parser/msgpack"
)

// StreamsOptions configure the Redis Streams adapter (NewStreamsAdapter),
// as the options of createAdapter in @socket.io/redis-streams-adapter
// 0.3. A nil *StreamsOptions, or a zero field, means the default the
// field names. Every node of a cluster must use the same StreamName,
// StreamCount, ChannelPrefix, UseShardedPubSub and SessionKeyPrefix.
type StreamsOptions struct {
	// StreamName is the stream, or the prefix of the streams when
	// StreamCount > 1 ("<name>-<i>"). Default "socket.io".
	StreamName string
	// StreamCount spreads the namespaces over that many streams (a
	// namespace always uses the same, chosen by Node's hash of its name),
	// each read by a connection of its own. Default 1.
	StreamCount int
	// ChannelPrefix starts the pub/sub channels of the messages that are
	// not kept in the stream: "<prefix>#<nsp>#" and
	// "<prefix>#<nsp>#<uid>#". Default "socket.io".
	ChannelPrefix string
	// UseShardedPubSub sends those with SPUBLISH (Redis 7) instead of
	// PUBLISH. Default false.
	UseShardedPubSub bool
	// MaxLen trims the stream to about that many entries (XADD MAXLEN ~).
	// Default 10000.
	MaxLen int64
	// ReadCount is the COUNT of each XREAD. Default 100.
	ReadCount int64
	// BlockTime is the BLOCK of each XREAD (blockTimeInMs). Default 5s.
	BlockTime time.Duration
	// SessionKeyPrefix starts the keys of the sessions kept for
	// connection state recovery. Default "sio:session:".
	SessionKeyPrefix string
	// OnlyPlaintext skips the search for binary data: the data of every
	// entry is JSON. Default false.
	OnlyPlaintext bool
	// RequestTimeout bounds FetchSockets and ServerSideEmit with an
	// acknowledgement (when neither the flags nor the context do), keeps
	// the acknowledgements of a BroadcastWithAck without a timeout of its
	// own, and bounds each command sent to Redis but the XREAD. Default 5s.
	RequestTimeout time.Duration
	// Logger receives the publishing failures and the loss of a
	// connection (Warn), its return (Info), and the entries and messages
	// dropped because they do not decode (Debug). Default: nothing.
	Logger *slog.Logger
	// OnRedisState, when set, is called when the subscription or a
	// stream reader loses Redis (false, with the error) and when all are
	// back (true, nil). It must not block. Default: none.
	OnRedisState func(up bool, err error)
}

// NewStreamsAdapter returns the factory of the adapter that spreads
// namespaces over nodes with Redis Streams, wire-compatible with
// @socket.io/redis-streams-adapter 0.3.1: Go and Node.js nodes can share
// a cluster, and a client can recover its connection state on another
// node than the one it left.
//
// Broadcasts and room and disconnection requests are entries of the
// stream (XADD); the requests that expect answers (FETCH_SOCKETS,
// SERVER_SIDE_EMIT, broadcasts with acknowledgements) and the answers go
// through pub/sub. The namespaces of a factory share one subscription
// connection and one reader per stream, opened with the first namespace
// and closed with the last.
func NewStreamsAdapter(d Driver, opts *StreamsOptions) adapter.Factory {
	var o StreamsOptions
	if opts != nil {
		o = *opts
	}
	if o.StreamName == "" {
		o.StreamName = "socket.io"
	}
	if o.StreamCount <= 0 {
		o.StreamCount = 1
	}
	if o.ChannelPrefix == "" {
		o.ChannelPrefix = "socket.io"
	}
	if o.MaxLen <= 0 {
		o.MaxLen = 10_000
	}
	if o.ReadCount <= 0 {
		o.ReadCount = 100
	}
	if o.BlockTime <= 0 {
		o.BlockTime = 5 * time.Second
	}
	if o.SessionKeyPrefix == "" {
		o.SessionKeyPrefix = "sio:session:"
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f := &streamsFactory{
		d: d, o: o,
		state:    newStateReporter(o.Logger, o.OnRedisState),
		adapters: make(map[string]*StreamsAdapter),
		readers:  make(map[string]*streamReader),
	}
	f.hubs = hubRef{open: func() *subHub {
		return newSubHub(d, o.UseShardedPubSub, o.RequestTimeout, o.Logger, f.state.report)
	}}
	return func(nsp adapter.Namespace) adapter.Adapter { return f.newAdapter(nsp) }
}

type streamsFactory struct {
	d     Driver
	o     StreamsOptions
	state *stateReporter
	hubs  hubRef

	mu       sync.Mutex
	adapters map[string]*StreamsAdapter // by namespace name
	readers  map[string]*streamReader   // by stream name
}

// StreamsAdapter is the adapter of one namespace made by
// NewStreamsAdapter: the cluster adapter of the core over Redis Streams
// and pub/sub, keeping the sessions of connection state recovery in Redis.
type StreamsAdapter struct {
	*adapter.Cluster
	f       *streamsFactory
	nsp     adapter.Namespace
	stream  string
	public  string // <prefix>#<nsp>#
	private string // <prefix>#<nsp>#<uid>#
	hub     *subHub
	reader  *streamReader

	mu     sync.Mutex
	inited bool
	closed bool
}

func (f *streamsFactory) newAdapter(nsp adapter.Namespace) *StreamsAdapter {
	a := &StreamsAdapter{
		f:      f,
		nsp:    nsp,
		stream: streamFor(nsp.Name(), f.o.StreamName, f.o.StreamCount),
		public: f.o.ChannelPrefix + "#" + nsp.Name() + "#",
	}
	a.Cluster = adapter.NewCluster(nsp, streamsBus{a}, &adapter.ClusterOptions{
		RequestTimeout: f.o.RequestTimeout,
		BusOffsets:     true,
		Logger:         f.o.Logger,
	})
	a.private = a.public + a.UID() + "#"
	return a
}

// streamFor returns the stream of a namespace: Node's hashCode of the
// name (Java's String.hashCode, on UTF-16 code units, in int32) modulo
// count, negative values included, as JavaScript computes it.
func streamFor(nsp, name string, count int) string {
	if count <= 1 {
		return name
	}
	return name + "-" + strconv.Itoa(int(hashCode(nsp)%int32(count)))
}

func hashCode(s string) int32 {
	var h int32
	for _, c := range utf16.Encode([]rune(s)) {
		h = h*31 + int32(c)
	}
	return h
}

// Init subscribes to the namespace's channels and starts the reader of
// its stream (shared with the other namespaces of the factory). Without
// Redis it logs the failure and returns nil: the adapter works as soon
// as Redis is back.
func (a *StreamsAdapter) Init() error {
	a.mu.Lock()
	if a.inited || a.closed {
		a.mu.Unlock()
		return nil
	}
	a.inited = true
	a.mu.Unlock()
	a.hub = a.f.hubs.acquire()
	a.hub.add(a, a.onRaw, a.public, a.private)
	a.reader = a.f.register(a)
	ctx, cancel := context.WithTimeout(context.Background(), a.f.o.RequestTimeout)
	defer cancel()
	if err := a.hub.flush(ctx); err != nil {
		a.f.o.Logger.Warn("socketio: redis subscription not confirmed", "nsp", a.nsp.Name(), "err", err)
	}
	a.reader.waitStarted(ctx)
	return nil
}

// Close stops the adapter; the subscription and the readers stop with
// the last adapter of the factory.
func (a *StreamsAdapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	inited := a.inited
	a.mu.Unlock()
	err := a.Cluster.Close()
	if inited {
		a.f.unregister(a)
		a.f.hubs.release(a.hub, a)
	}
	return err
}

// register makes a the adapter of its namespace (as Node, the last one
// created wins) and returns the reader of its stream, started.
func (f *streamsFactory) register(a *StreamsAdapter) *streamReader {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adapters[a.nsp.Name()] = a
	r := f.readers[a.stream]
	if r == nil {
		r = newStreamReader(f, a.stream)
		f.readers[a.stream] = r
	}
	return r
}

// unregister forgets a; with the last adapter, the readers stop.
func (f *streamsFactory) unregister(a *StreamsAdapter) {
	f.mu.Lock()
	if f.adapters[a.nsp.Name()] == a {
		delete(f.adapters, a.nsp.Name())
	}
	var stop []*streamReader
	if len(f.adapters) == 0 {
		for name, r := range f.readers {
			stop = append(stop, r)
			delete(f.readers, name)
		}
	}
	f.mu.Unlock()
	for _, r := range stop {
		r.stop()
	}
}

func (f *streamsFactory) adapterOf(nsp string) *StreamsAdapter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adapters[nsp]
}

// --- the bus -----------------------------------------------------------------

type streamsBus struct{ a *StreamsAdapter }

// ephemeral reports whether m goes through pub/sub rather than the
// stream: the requests that expect answers.
func ephemeral(m *adapter.ClusterMessage) bool {
	switch m.Type {
	case adapter.MsgBroadcast:
		return m.Data != nil && m.Data.RequestID != ""
	case adapter.MsgServerSideEmit, adapter.MsgFetchSockets:
		return true
	}
	return false
}

// Publish appends m to the stream (returning the entry id), or, for a
// request that expects answers, publishes it in MessagePack on the
// namespace's channel.
func (b streamsBus) Publish(ctx context.Context, m *adapter.ClusterMessage) (string, error) {
	a := b.a
	if ephemeral(m) {
		payload, err := msgpack.Marshal(m)
		if err != nil {
			return "", err
		}
		return "", a.f.d.Publish(ctx, a.public, payload, a.f.o.UseShardedPubSub)
	}
	fields, err := streamsEncode(m, a.f.o.OnlyPlaintext)
	if err != nil {
		return "", err
	}
	return a.f.d.XAdd(ctx, a.stream, a.f.o.MaxLen, fields)
}

// PublishResponse publishes m in MessagePack on the channel of node uid.
func (b streamsBus) PublishResponse(ctx context.Context, uid string, m *adapter.ClusterMessage) error {
	payload, err := msgpack.Marshal(m)
	if err != nil {
		return err
	}
	return b.a.f.d.Publish(ctx, b.a.public+uid+"#", payload, b.a.f.o.UseShardedPubSub)
}

// ServerCount is the number of subscribers of the namespace's channel.
func (b streamsBus) ServerCount(ctx context.Context) (int, error) {
	return b.a.f.d.NumSub(ctx, b.a.public, b.a.f.o.UseShardedPubSub)
}

// streamsEncode returns the fields of the entry of m: uid, nsp, type (in
// decimal) and, when m has data, data: JSON, or the base64 of its
// MessagePack when it may carry binary and does.
func streamsEncode(m *adapter.ClusterMessage, onlyPlaintext bool) ([]string, error) {
	fields := []string{"uid", m.UID, "nsp", m.Nsp, "type", strconv.Itoa(int(m.Type))}
	if m.Data == nil {
		return fields, nil
	}
	if !onlyPlaintext && shardedMayHoldBinary(m.Type) && adapter.HasBinary(m.Data) {
		b, err := adapter.Marshal(m.Data, adapter.FormatMsgPack)
		if err != nil {
			return nil, err
		}
		return append(fields, "data", base64.StdEncoding.EncodeToString(b)), nil
	}
	b, err := adapter.Marshal(m.Data, adapter.FormatJSON)
	if err != nil {
		return nil, err
	}
	return append(fields, "data", string(b)), nil
}

// errBadEntry is wrapped by the errors of decoding a stream entry.
var errBadEntry = fmt.Errorf("%w: stream entry", adapter.ErrBadMessage)

// decodeStreamEntry decodes the fields of an entry written by
// streamsEncode (or by Node).
func decodeStreamEntry(fields map[string]string) (*adapter.ClusterMessage, error) {
	t, err := strconv.Atoi(fields["type"])
	if err != nil || t < 0 || t > 1<<16 {
		return nil, fmt.Errorf("%w: type %q", errBadEntry, fields["type"])
	}
	m := &adapter.ClusterMessage{UID: fields["uid"], Nsp: fields["nsp"], Type: adapter.MessageType(t)}
	data := fields["data"]
	if data == "" {
		return m, nil
	}
	var raw []byte
	if data[0] == '{' {
		raw = []byte(data)
	} else {
		if raw, err = base64.StdEncoding.DecodeString(data); err != nil {
			return nil, fmt.Errorf("%w: data: %v", errBadEntry, err)
		}
		if len(raw) == 0 || raw[0] == '{' {
			return nil, fmt.Errorf("%w: data is not MessagePack", errBadEntry)
		}
	}
	if m.Data, err = adapter.DecodeData(m.Type, raw); err != nil {
		return nil, err
	}
	return m, nil
}

// onRaw handles a message of the namespace's channels (MessagePack).
func (a *StreamsAdapter) onRaw(channel string, payload []byte) {
	m, err := adapter.DecodeMessage(payload)
	if err != nil {
		a.f.o.Logger.Debug("socketio: redis message dropped", "channel", channel, "err", err)
		return
	}
	a.OnMessage(m, "")
}

// --- the stream reader ---------------------------------------------------------

// streamReader reads one stream (XREAD BLOCK) on a connection of its own,
// and hands each entry to the adapter of its namespace.
type streamReader struct {
	f       *streamsFactory
	stream  string
	conn    string // "stream <name>": the reader for the state reporter
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	started chan struct{} // closed once the start position is known

	mu          sync.Mutex
	last        string // the id of the last entry handled ("" unknown)
	dispatching bool
}

// streamTail is implemented by drivers that can tell the last entry of a
// stream (GoRedis): the reader then starts right after it, and knows
// which entries were there before it.
type streamTail interface {
	XLastID(ctx context.Context, stream string) (string, error)
}

func newStreamReader(f *streamsFactory, stream string) *streamReader {
	r := &streamReader{f: f, stream: stream, conn: "stream " + stream, done: make(chan struct{}), started: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.run()
	return r
}

func (r *streamReader) lastID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *streamReader) setLast(id string) {
	r.mu.Lock()
	r.last = id
	r.mu.Unlock()
}

// waitStarted waits until the reader knows where it starts, or ctx ends.
func (r *streamReader) waitStarted(ctx context.Context) {
	select {
	case <-r.started:
	case <-ctx.Done():
	}
}

// stop stops the reader and waits for it, unless called from it (an
// adapter closed by the entry it handles).
func (r *streamReader) stop() {
	r.cancel()
	r.mu.Lock()
	self := r.dispatching
	r.mu.Unlock()
	if !self {
		<-r.done
	}
}

const (
	readerMinBackoff = 100 * time.Millisecond
	readerMaxBackoff = 5 * time.Second
)

func (r *streamReader) run() {
	defer close(r.done)
	pos := r.start()
	close(r.started)
	backoff := readerMinBackoff
	for r.ctx.Err() == nil {
		entries, err := r.f.d.XRead(r.ctx, r.stream, pos, r.f.o.ReadCount, r.f.o.BlockTime)
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			r.f.state.set(r.conn, err)
			if !r.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, readerMaxBackoff)
			continue
		}
		r.f.state.set(r.conn, nil)
		backoff = readerMinBackoff
		for _, e := range entries {
			r.dispatch(e)
			pos = e.ID
		}
	}
}

// start returns the position of the first XREAD: after the last entry
// when the driver tells it (retrying while Redis is away), "$" otherwise.
func (r *streamReader) start() string {
	t, ok := r.f.d.(streamTail)
	if !ok {
		return "$"
	}
	backoff := readerMinBackoff
	for {
		ctx, cancel := context.WithTimeout(r.ctx, r.f.o.RequestTimeout)
		id, err := t.XLastID(ctx, r.stream)
		cancel()
		if err == nil {
			if id == "" {
				id = "0-0"
			}
			r.setLast(id)
			r.f.state.set(r.conn, nil)
			return id
		}
		if r.ctx.Err() != nil {
			return "$"
		}
		r.f.state.set(r.conn, err)
		if !r.sleep(backoff) {
			return "$"
		}
		backoff = min(2*backoff, readerMaxBackoff)
	}
}

func (r *streamReader) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// dispatch hands an entry to the adapter of its namespace; the reader's
// position moves in the same section as the delivery (see Attach).
func (r *streamReader) dispatch(e StreamEntry) {
	nsp := e.Fields["nsp"]
	var a *StreamsAdapter
	if nsp != "" {
		a = r.f.adapterOf(nsp)
	}
	if a == nil {
		r.setLast(e.ID)
		return
	}
	m, err := decodeStreamEntry(e.Fields)
	if err != nil {
		r.f.o.Logger.Debug("socketio: redis stream entry dropped", "stream", r.stream, "id", e.ID, "err", err)
		a.Exclusive(func() { r.setLast(e.ID) })
		return
	}
	r.mu.Lock()
	r.dispatching = true
	r.mu.Unlock()
	a.OnMessageSeen(m, e.ID, func() { r.setLast(e.ID) })
	r.mu.Lock()
	r.dispatching = false
	r.mu.Unlock()
}

// --- connection state recovery ---------------------------------------------------

// Offset returns the id of the last entry the reader of the namespace's
// stream handled ("" before the first).
func (a *StreamsAdapter) Offset() string {
	if a.reader == nil {
		return ""
	}
	if id := a.reader.lastID(); id != "0-0" {
		return id
	}
	return ""
}

// streamsSession is a session as Node's socket.io persists it: its
// SessionToPersist, in MessagePack, in base64.
type streamsSession struct {
	SID   string   `json:"sid"`
	PID   string   `json:"pid"`
	Rooms []string `json:"rooms"`
	Data  any      `json:"data"`
}

// PersistSession stores the session in Redis (SET <prefix><pid> PX
// MaxDisconnectionDuration), where any node can restore it.
func (a *StreamsAdapter) PersistSession(s *adapter.Session) {
	cfg := a.nsp.Recovery()
	if cfg == nil || s == nil {
		return
	}
	ss := streamsSession{SID: s.SID, PID: s.PID, Rooms: s.Rooms, Data: s.Data}
	if ss.Rooms == nil {
		ss.Rooms = []string{}
	}
	if ss.Data == nil {
		ss.Data = map[string]any{} // Node's socket.data starts as {}
	}
	b, err := msgpack.Marshal(ss)
	if err != nil {
		a.f.o.Logger.Warn("socketio: session not persisted", "nsp", a.nsp.Name(), "sid", s.SID, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.f.o.RequestTimeout)
	defer cancel()
	if err := a.f.d.Set(ctx, a.f.o.SessionKeyPrefix+s.PID, base64.StdEncoding.EncodeToString(b), cfg.MaxDisconnectionDuration); err != nil {
		a.f.o.Logger.Warn("socketio: session not persisted", "nsp", a.nsp.Name(), "sid", s.SID, "err", err)
	}
}

// streamID is the form of an entry id, and so of an offset.
var streamID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// errBadSession is wrapped by the errors of decoding a stored session.
var errBadSession = errors.New("socketio: invalid stored session")

// RestoreSession takes the session pid back from Redis (GETDEL: once),
// when offset is an entry id still in the stream; nil otherwise. A client
// without an offset is not restored (as Node; RecoverWithoutOffset does
// not apply to this adapter).
func (a *StreamsAdapter) RestoreSession(pid string, offset *string) (*adapter.Session, error) {
	if offset == nil || !streamID.MatchString(*offset) || pid == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.f.o.RequestTimeout)
	defer cancel()
	raw, found, err := a.f.d.GetDel(ctx, a.f.o.SessionKeyPrefix+pid)
	if err != nil {
		return nil, fmt.Errorf("socketio: restore session: %w", err)
	}
	entries, err := a.f.d.XRange(ctx, a.stream, *offset, *offset)
	if err != nil {
		return nil, fmt.Errorf("socketio: restore session: %w", err)
	}
	if !found || len(entries) == 0 {
		return nil, nil
	}
	ss, err := decodeSession(raw)
	if err != nil {
		a.f.o.Logger.Debug("socketio: stored session dropped", "nsp", a.nsp.Name(), "err", err)
		return nil, nil
	}
	return &adapter.Session{SID: ss.SID, PID: ss.PID, Rooms: ss.Rooms, Data: ss.Data, ResumeFrom: *offset}, nil
}

// decodeSession decodes a session stored by PersistSession or by Node.
func decodeSession(raw string) (*streamsSession, error) {
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSession, err)
	}
	var ss streamsSession
	if err := msgpack.Unmarshal(b, &ss); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSession, err)
	}
	if ss.SID == "" {
		return nil, fmt.Errorf("%w: no sid", errBadSession)
	}
	return &ss, nil
}

// Attach runs fn while no broadcast of the namespace is delivered here.
// With from, fn gets the broadcasts of the stream after *from that
// targeted rooms, each with its entry id as last argument: those this
// node delivered before (its own, and those of other nodes up to the
// reader's position); the later ones of other nodes reach the socket
// through the reader, after fn. Volatile broadcasts are not replayed.
func (a *StreamsAdapter) Attach(from *string, rooms []adapter.Room, fn func(missed []*parser.Packet)) {
	if from == nil || !streamID.MatchString(*from) {
		a.Exclusive(func() { fn(nil) })
		return
	}
	a.Exclusive(func() {
		last := ""
		if a.reader != nil {
			last = a.reader.lastID()
		}
		ctx, cancel := context.WithTimeout(context.Background(), a.f.o.RequestTimeout)
		defer cancel()
		entries, err := a.f.d.XRange(ctx, a.stream, nextStreamID(*from), "+")
		if err != nil {
			a.f.o.Logger.Warn("socketio: missed packets not read", "nsp", a.nsp.Name(), "err", err)
			fn(nil)
			return
		}
		var missed []*parser.Packet
		for _, e := range entries {
			if p := a.missed(e, rooms, last); p != nil {
				missed = append(missed, p)
			}
		}
		fn(missed)
	})
}

// missed returns the packet of entry e to replay to a socket in rooms, or
// nil.
func (a *StreamsAdapter) missed(e StreamEntry, rooms []adapter.Room, last string) *parser.Packet {
	if e.Fields["nsp"] != a.nsp.Name() || e.Fields["type"] != "3" {
		return nil
	}
	if e.Fields["uid"] != a.UID() && (last == "" || compareStreamIDs(e.ID, last) > 0) {
		return nil // the reader delivers it
	}
	m, err := decodeStreamEntry(e.Fields)
	if err != nil || m.Data == nil || m.Data.RequestID != "" {
		return nil
	}
	wp, ok := m.Data.Packet.(*adapter.WirePacket)
	if !ok {
		return nil
	}
	p, err := wp.Packet()
	if err != nil {
		return nil
	}
	opts := m.Data.Opts.Options()
	if opts.Flags.Volatile || !adapter.ShouldInclude(rooms, opts) {
		return nil
	}
	p.Namespace, p.HasID, p.ID = a.nsp.Name(), false, 0
	p.Args = append(slices.Clip(p.Args), e.ID)
	return p
}

// parseStreamID splits an entry id; ok is false when it is not one.
func parseStreamID(id string) (ms, seq uint64, ok bool) {
	a, b, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

// compareStreamIDs compares two entry ids (an invalid one is smallest).
func compareStreamIDs(x, y string) int {
	xm, xs, _ := parseStreamID(x)
	ym, ys, _ := parseStreamID(y)
	if c := cmpUint(xm, ym); c != 0 {
		return c
	}
	return cmpUint(xs, ys)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// nextStreamID returns the smallest id after id (exclusive ranges need
// Redis 6.2; this works with any).
func nextStreamID(id string) string {
	ms, seq, ok := parseStreamID(id)
	if !ok {
		return id
	}
	if seq == ^uint64(0) {
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}

var _ adapter.Adapter = (*StreamsAdapter)(nil)
