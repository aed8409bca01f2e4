package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
)

// The namespaces of the cluster scenarios: each scenario has its own, so
// that its sockets and rooms do not meet another's.
var clusterNsps = []string{"/", "/acks", "/fetch", "/rooms", "/disconnect", "/serverside", "/allrooms"}

// pairings of node kinds: two Go nodes, one Go and one Node node (every
// scenario runs from each node, so both directions are covered), and two
// Node nodes, the reference the scenarios are checked against.
var pairings = []struct{ name, a, b string }{
	{"go+go", "go", "go"},
	{"go+node", "go", "node"},
	{"node+node", "node", "node"},
}

// startNode starts a node of lang ("go" or "node") named name.
func startNode(t testing.TB, env nodeEnv, lang, name string, kind adapterKind, srv *redistest.Server, o nodeOpts) clusterNode {
	t.Helper()
	if lang == "go" {
		return startGoNode(t, name, kind, srv.Addr, o)
	}
	return startNodeNode(t, env, name, kind, srv.URL(), o)
}

// nodeNames returns distinct names for the two nodes of a pairing.
func nodeNames(a, b string) (string, string) {
	if a == b {
		return a + "1", b + "2"
	}
	return a + "1", b + "1"
}

// runMixed runs every cluster scenario for adapter kind on the pairings
// named in pairs (all when none is), the nodes configured by o (its
// Namespaces is set here). Each pairing has its own redis-server.
func runMixed(t *testing.T, kind adapterKind, o nodeOpts, pairs ...string) {
	for _, p := range pairings {
		if len(pairs) > 0 && !slices.Contains(pairs, p.name) {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			env := requireNode(t)
			srv := redistest.Start(t)
			na, nb := nodeNames(p.a, p.b)
			o.Namespaces = clusterNsps
			a := startNode(t, env, p.a, na, kind, srv, o)
			b := startNode(t, env, p.b, nb, kind, srv, o)
			cl := startClients(t, env)
			waitServerCount(t, 2, clusterNsps, a, b)

			t.Run("serverCount", func(t *testing.T) { scenarioServerCount(t, a, b) })
			t.Run("broadcast", func(t *testing.T) { scenarioBroadcast(t, a, b, cl) })
			t.Run("acks", func(t *testing.T) { scenarioAcks(t, a, b, cl) })
			t.Run("fetchSockets", func(t *testing.T) { scenarioFetch(t, a, b, cl) })
			t.Run("socketsJoinLeave", func(t *testing.T) { scenarioRooms(t, a, b, cl) })
			t.Run("disconnectSockets", func(t *testing.T) { scenarioDisconnect(t, a, b, cl) })
			t.Run("serverSideEmit", func(t *testing.T) { scenarioServerSide(t, kind, a, b) })
			if kind == classic {
				t.Run("allRooms", func(t *testing.T) { scenarioAllRooms(t, a, b, cl) })
			}
		})
	}
}

// TestMixedClassic: the classic pub/sub adapter (NewAdapter, =
// createAdapter(pub, sub) of @socket.io/redis-adapter 8.3.0).
func TestMixedClassic(t *testing.T) { runMixed(t, classic, nodeOpts{}) }

// TestMixedClassicSpecificResponseChannel: the same with
// publishOnSpecificResponseChannel on both sides (each node answers on the
// requester's own response channel).
func TestMixedClassicSpecificResponseChannel(t *testing.T) {
	runMixed(t, classic, nodeOpts{SpecificResponseChannel: true}, "go+node", "node+node")
}

// TestMixedSharded: the sharded pub/sub adapter (NewShardedAdapter, =
// createShardedAdapter of @socket.io/redis-adapter 8.3.0), subscription
// mode "dynamic" (the default: a channel per public room).
func TestMixedSharded(t *testing.T) { runMixed(t, sharded, nodeOpts{}) }

// TestMixedShardedDynamicPrivate: subscription mode "dynamic-private" on
// both sides (a channel per socket id room too).
func TestMixedShardedDynamicPrivate(t *testing.T) {
	runMixed(t, sharded, nodeOpts{SubscriptionMode: "dynamic-private"}, "go+node", "node+node")
}

// TestMixedShardedStatic: subscription mode "static" on both sides (the
// two channels of each namespace only).
func TestMixedShardedStatic(t *testing.T) {
	runMixed(t, sharded, nodeOpts{SubscriptionMode: "static"}, "go+node", "node+node")
}

// TestMixedStreams: the streams adapter (NewStreamsAdapter, =
// createAdapter of @socket.io/redis-streams-adapter 0.3.1).
func TestMixedStreams(t *testing.T) { runMixed(t, streams, nodeOpts{}) }

// TestMixedStreamsMultipleStreams: streamCount 3 on both sides: each
// namespace goes to the stream Node's hash of its name picks, so both
// sides must pick the same.
func TestMixedStreamsMultipleStreams(t *testing.T) {
	runMixed(t, streams, nodeOpts{StreamCount: 3}, "go+node", "node+node")
}

// TestMixedStreamsShardedPubSub: useShardedPubSub on both sides (the
// messages not kept in the stream go by SPUBLISH).
func TestMixedStreamsShardedPubSub(t *testing.T) {
	runMixed(t, streams, nodeOpts{UseShardedPubSub: true}, "go+node", "node+node")
}

// other returns the node of {a, b} that is not n.
func other(n, a, b clusterNode) clusterNode {
	if n == a {
		return b
	}
	return a
}

func scenarioServerCount(t *testing.T, a, b clusterNode) {
	for _, n := range []clusterNode{a, b} {
		for _, nsp := range clusterNsps {
			got, err := n.ServerCount(nsp)
			if err != nil || got != 2 {
				t.Errorf("%s: serverCount(%s) = %d, %v; want 2", n.Name(), nsp, got, err)
			}
		}
	}
}

// scenarioBroadcast: broadcasts from each node, to all, to rooms, except
// rooms, to a socket id of the other node, except it, local, volatile,
// with binary arguments (nested too), to WebSocket and polling clients of
// both nodes; every client gets each event meant for it exactly once and
// no other.
func scenarioBroadcast(t *testing.T, a, b clusterNode, cl *clients) {
	const nsp = "/"
	specs := []clientSpec{
		{Name: "a1", Node: a, Rooms: []string{"r1"}},
		{Name: "a2", Node: a, Rooms: []string{"r2"}, Transport: "polling"},
		{Name: "b1", Node: b, Rooms: []string{"r1"}},
		{Name: "b2", Node: b, Rooms: []string{"r2"}, Transport: "polling"},
	}
	ids := cl.connectAll(t, nsp, specs)
	defer cl.closeAll(t, specs)
	all := []string{"a1", "a2", "b1", "b2"}
	cl.sync(t, nsp, all, a, b)

	bin := []byte{0, 1, 2, 0xfe, 0xff}
	for _, origin := range []clusterNode{a, b} {
		prefix := origin.Name() + ":"
		local, remote := []string{"a1", "a2"}, "b1"
		if origin == b {
			local, remote = []string{"b1", "b2"}, "a1"
		}
		steps := []struct {
			tag  string
			s    sel
			args []any
			want []string
		}{
			{"all", sel{}, nil, all},
			{"to-r1", sel{Rooms: []string{"r1"}}, nil, []string{"a1", "b1"}},
			{"except-r1", sel{Except: []string{"r1"}}, nil, []string{"a2", "b2"}},
			{"r1-r2-except-r2", sel{Rooms: []string{"r1", "r2"}, Except: []string{"r2"}}, nil, []string{"a1", "b1"}},
			{"to-remote-sid", sel{Rooms: []string{ids[remote]}}, nil, []string{remote}},
			{"except-remote-sid", sel{Except: []string{ids[remote]}}, nil, slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == remote })},
			{"local", sel{Local: true}, nil, local},
			{"binary", sel{Rooms: []string{"r2"}}, []any{bin, map[string]any{"nested": bin, "n": 1}}, []string{"a2", "b2"}},
			{"end", sel{}, nil, all},
			// A volatile packet may rightly be dropped while a transport
			// is busy (Node drops it when the WebSocket has a write in
			// flight, or between two polls); it is sent once everything
			// before it has arrived, to the WebSocket clients only.
			{"volatile-r1", sel{Rooms: []string{"r1"}, Volatile: true}, nil, []string{"a1", "b1"}},
			{"end2", sel{}, nil, all},
		}
		for _, st := range steps {
			st.s.Nsp = nsp
			origin.Emit(t, st.s, "step", append([]any{prefix + st.tag}, st.args...)...)
			if st.tag == "end" || st.tag == "end2" {
				for _, n := range all {
					cl.waitRecv(t, n, "step", prefix+st.tag)
				}
			}
		}
		// Each client gets each broadcast meant for it exactly once. The
		// order is not compared: in Node's ClusterAdapter (sharded,
		// streams) a local broadcast overtakes the cluster ones sent
		// before it, which wait for Redis.
		for _, n := range all {
			var want, got []string
			for _, st := range steps {
				if slices.Contains(st.want, n) {
					want = append(want, prefix+st.tag)
				}
			}
			for _, l := range cl.find(isRecv(n, "step", nil)) {
				if tag := str(l.Args[0]); strings.HasPrefix(tag, prefix) {
					got = append(got, tag)
					if tag == prefix+"binary" {
						wantArgs := canon([]any{prefix + "binary", bin, map[string]any{"nested": bin, "n": 1}})
						if canon(l.Args) != wantArgs {
							t.Errorf("%s got binary broadcast of %s as %s; want %s", n, origin.Name(), canon(l.Args), wantArgs)
						}
					}
				}
			}
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("client %s (on %s) got broadcasts of %s:\n  %v\nwant\n  %v",
					n, map[bool]string{true: a.Name(), false: b.Name()}[n[0] == 'a'], origin.Name(), sorted(got), sorted(want))
			}
		}
	}
}

// scenarioAcks: EmitWithAck started on each node collects the
// acknowledgements of the clients of both nodes: to all, to a room on
// both nodes, to a room on one node only, to a room nobody is in (an
// immediate empty answer, not a timeout), except a room, with binary
// arguments echoed back in the acknowledgements.
func scenarioAcks(t *testing.T, a, b clusterNode, cl *clients) {
	const nsp = "/acks"
	specs := []clientSpec{
		{Name: "k-a1", Node: a, Rooms: []string{"x"}},
		{Name: "k-a2", Node: a, Transport: "polling"},
		{Name: "k-b1", Node: b, Rooms: []string{"x"}},
		{Name: "k-b2", Node: b, Rooms: []string{"x"}},
		{Name: "k-b3", Node: b, Rooms: []string{"y"}, Transport: "polling"},
	}
	cl.connectAll(t, nsp, specs)
	defer cl.closeAll(t, specs)
	all := []string{"k-a1", "k-a2", "k-b1", "k-b2", "k-b3"}
	cl.sync(t, nsp, all, a, b)

	bin := []byte{0xca, 0xfe, 0, 1}
	for _, origin := range []clusterNode{a, b} {
		for _, c := range []struct {
			name string
			s    sel
			args []any
			want []string
		}{
			{"all", sel{}, nil, all},
			{"to-x", sel{Rooms: []string{"x"}}, nil, []string{"k-a1", "k-b1", "k-b2"}},
			{"to-y", sel{Rooms: []string{"y"}}, nil, []string{"k-b3"}},
			{"to-nobody", sel{Rooms: []string{"nobody"}}, nil, nil},
			{"except-x", sel{Except: []string{"x"}}, nil, []string{"k-a2", "k-b3"}},
			{"binary", sel{Rooms: []string{"x"}}, []any{bin, map[string]any{"deep": []any{bin}}}, []string{"k-a1", "k-b1", "k-b2"}},
		} {
			c.s.Nsp, c.s.Timeout = nsp, 5*time.Second
			args := append([]any{origin.Name(), c.name}, c.args...)
			start := time.Now()
			res, err := origin.EmitWithAck(t, c.s, "question", args...)
			elapsed := time.Since(start)
			if err != nil {
				t.Errorf("%s: emitWithAck %s: %v (after %v; responses %s)", origin.Name(), c.name, err, elapsed, canon(res))
				continue
			}
			if elapsed > 3*time.Second {
				t.Errorf("%s: emitWithAck %s took %v (the acknowledgements were all in long before)", origin.Name(), c.name, elapsed)
			}
			var who []string
			for _, r := range res {
				who = append(who, str(field(r, "client")))
				if got, want := canon(field(r, "args")), canon(args); got != want {
					t.Errorf("%s: emitWithAck %s: ack of %s carries %s; want %s", origin.Name(), c.name, str(field(r, "client")), got, want)
				}
			}
			if !slices.Equal(sorted(who), sorted(c.want)) {
				t.Errorf("%s: emitWithAck %s: acks from %v; want %v (responses %s)", origin.Name(), c.name, sorted(who), sorted(c.want), canon(res))
			}
		}
	}
}

// scenarioFetch: FetchSockets from each node reports the sockets of both,
// with ids, rooms, data and handshake (auth, query), for all, a room,
// except a room, and local only. Its subtest nodeShape checks that a
// fetched socket looks as Node code expects whichever node holds it: data
// {} when never set (Node's socket.data starts as {}: reading
// socket.data.x must not throw), and the handshake with every field of
// Node's, of Node's types, the host header included.
func scenarioFetch(t *testing.T, a, b clusterNode, cl *clients) {
	const nsp = "/fetch"
	specs := []clientSpec{
		{Name: "f-a1", Node: a, Rooms: []string{"r1"}, Data: map[string]any{"name": "f-a1", "n": 1}},
		{Name: "f-a2", Node: a},
		{Name: "f-b1", Node: b, Rooms: []string{"r1", "r2"}, Data: map[string]any{"name": "f-b1", "tags": []any{"x", "y"}}, Transport: "polling"},
		{Name: "f-b2", Node: b, Data: map[string]any{"name": "f-b2", "nested": map[string]any{"ok": true, "list": []any{1, 2.5, nil}}}},
		{Name: "f-b3", Node: b, Transport: "polling"},
	}
	ids := cl.connectAll(t, nsp, specs)
	defer cl.closeAll(t, specs)
	everyone := []string{"f-a1", "f-a2", "f-b1", "f-b2", "f-b3"}
	cl.sync(t, nsp, everyone, a, b)
	byName := map[string]clientSpec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	nameOf := map[string]string{}
	for n, id := range ids {
		nameOf[id] = n
	}
	// What departs from the shape Node gives a socket (not from what the
	// adapters carry) is reported apart, in the subtest nodeShape.
	var shape []string              // problems, in order
	seenBy := map[string][]string{} // problem -> the fetches that saw it
	addShape := func(problem, fetch string) {
		if _, ok := seenBy[problem]; !ok {
			shape = append(shape, problem)
		}
		seenBy[problem] = append(seenBy[problem], fetch)
	}
	defer func() {
		t.Run("nodeShape", func(t *testing.T) {
			for _, p := range shape {
				t.Errorf("%s\n    (seen by the fetchSockets %v)", p, seenBy[p])
			}
		})
	}()

	for _, origin := range []clusterNode{a, b} {
		localR1 := []string{"f-a1"}
		if origin == b {
			localR1 = []string{"f-b1"}
		}
		for _, c := range []struct {
			name string
			s    sel
			want []string
		}{
			{"all", sel{}, everyone},
			{"in-r2", sel{Rooms: []string{"r2"}}, []string{"f-b1"}},
			{"except-r1", sel{Except: []string{"r1"}}, []string{"f-a2", "f-b2", "f-b3"}},
			{"r1-local", sel{Rooms: []string{"r1"}, Local: true}, localR1},
		} {
			c.s.Nsp = nsp
			got, err := origin.FetchSockets(t, c.s)
			if err != nil {
				t.Errorf("%s: fetchSockets %s: %v", origin.Name(), c.name, err)
				continue
			}
			var names []string
			for _, si := range got {
				n, ok := nameOf[si.SID]
				if !ok {
					t.Errorf("%s: fetchSockets %s: unknown socket %q", origin.Name(), c.name, si.SID)
					continue
				}
				names = append(names, n)
				spec := byName[n]
				where := map[bool]string{true: a.Name(), false: b.Name()}[spec.Node == a]
				if want := append([]string{si.SID}, spec.Rooms...); !sameSet(si.Rooms, want) {
					t.Errorf("%s: fetchSockets %s: %s (on %s) rooms %v; want %v", origin.Name(), c.name, n, where, si.Rooms, want)
				}
				if spec.Data == nil {
					// Node's initial socket.data is {}
					if canon(si.Data) != "{}" {
						addShape(fmt.Sprintf("%s (on %s), whose data was never set, has data %s; want {} (Node's initial socket.data)", n, where, canon(si.Data)),
							origin.Name()+"/"+c.name)
					}
				} else if canon(si.Data) != canon(spec.Data) {
					t.Errorf("%s: fetchSockets %s: %s (on %s) data %s; want %s", origin.Name(), c.name, n, where, canon(si.Data), canon(spec.Data))
				}
				wantAuth := map[string]any{"rooms": nonNil(spec.Rooms)}
				if spec.Data != nil {
					wantAuth["data"] = spec.Data
				}
				if canon(si.Auth) != canon(wantAuth) {
					t.Errorf("%s: fetchSockets %s: %s (on %s) handshake.auth %s; want %s", origin.Name(), c.name, n, where, canon(si.Auth), canon(wantAuth))
				}
				if who := str(field(si.Query, "who")); who != n {
					t.Errorf("%s: fetchSockets %s: %s (on %s) handshake.query %s; want who=%s", origin.Name(), c.name, n, where, canon(si.Query), n)
				}
				for _, p := range checkHandshake(si.Handshake, spec.Transport) {
					addShape(fmt.Sprintf("%s (on %s): handshake: %s", n, where, p), origin.Name()+"/"+c.name)
				}
			}
			if !slices.Equal(sorted(names), sorted(c.want)) {
				t.Errorf("%s: fetchSockets %s = %v; want %v", origin.Name(), c.name, sorted(names), sorted(c.want))
			}
		}
	}
}

// checkHandshake returns how a fetched socket's handshake departs from the
// shape Node gives it (Node code reads these fields of remote sockets):
// headers (lower-case names, string values), time (Date.toString()),
// address, xdomain, secure, issued (ms), url, query, auth.
func checkHandshake(hs any, transport string) []string {
	var problems []string
	m, ok := hs.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("not an object but %T", hs)}
	}
	want := map[string]string{"headers": "object", "time": "string", "address": "string", "xdomain": "bool",
		"secure": "bool", "issued": "number", "url": "string", "query": "object", "auth": "object"}
	for k, typ := range want {
		v, ok := m[k]
		if !ok {
			problems = append(problems, "no field "+k)
			continue
		}
		var got string
		switch v.(type) {
		case map[string]any:
			got = "object"
		case string:
			got = "string"
		case bool:
			got = "bool"
		case float64:
			got = "number"
		default:
			got = fmt.Sprintf("%T", v)
		}
		if got != typ {
			problems = append(problems, fmt.Sprintf("%s is %s (%v); want %s", k, got, v, typ))
		}
	}
	for k := range m {
		if _, ok := want[k]; !ok {
			problems = append(problems, "extra field "+k)
		}
	}
	if h, ok := m["headers"].(map[string]any); ok {
		if host, _ := h["host"].(string); !strings.HasPrefix(host, "127.0.0.1:") {
			problems = append(problems, fmt.Sprintf("headers.host = %v", h["host"]))
		}
		for k, v := range h {
			if k != strings.ToLower(k) {
				problems = append(problems, "header name not in lower case: "+k)
			}
			if _, ok := v.(string); !ok && k != "set-cookie" {
				problems = append(problems, fmt.Sprintf("header %s is %T", k, v))
			}
		}
	}
	if a, _ := m["address"].(string); a != "127.0.0.1" && a != "::ffff:127.0.0.1" {
		problems = append(problems, fmt.Sprintf("address %q", a))
	}
	if u, _ := m["url"].(string); !strings.HasPrefix(u, "/socket.io/?") || !strings.Contains(u, "EIO=4") {
		problems = append(problems, fmt.Sprintf("url %q", u))
	}
	if tm, _ := m["time"].(string); tm != "" {
		if _, err := time.Parse("Mon Jan 02 2006 15:04:05 GMT-0700", strings.SplitN(tm, " (", 2)[0]); err != nil {
			problems = append(problems, fmt.Sprintf("time %q is not a Date.toString(): %v", tm, err))
		}
	}
	if is, ok := m["issued"].(float64); ok {
		if d := time.Since(time.UnixMilli(int64(is))); d < 0 || d > 5*time.Minute {
			problems = append(problems, fmt.Sprintf("issued %v is %v away", int64(is), d))
		}
	}
	if tr := field(m["query"], "transport"); tr != nil && transport != "" && tr != transport {
		problems = append(problems, fmt.Sprintf("query.transport %v; want %s", tr, transport))
	}
	if m["xdomain"] == true || m["secure"] == true {
		problems = append(problems, "xdomain or secure true")
	}
	return problems
}

// waitFetch polls FetchSockets on node until it reports exactly the
// sockets want (remote joins and leaves are fire-and-forget).
func waitFetch(t *testing.T, node clusterNode, s sel, want []string, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got []string
	var err error
	for {
		var res []sockInfo
		res, err = node.FetchSockets(t, s)
		got = got[:0]
		for _, si := range res {
			got = append(got, si.SID)
		}
		if err == nil && sameSet(got, want) {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %s: fetchSockets(%+v) = %v, %v; want %v", node.Name(), what, s, sorted(got), err, sorted(want))
}

// scenarioRooms: SocketsJoin and SocketsLeave from each node act on the
// sockets of both, selected by room, socket id and except.
func scenarioRooms(t *testing.T, a, b clusterNode, cl *clients) {
	const nsp = "/rooms"
	specs := []clientSpec{
		{Name: "j-a1", Node: a},
		{Name: "j-a2", Node: a, Transport: "polling"},
		{Name: "j-b1", Node: b},
		{Name: "j-b2", Node: b, Transport: "polling"},
	}
	ids := cl.connectAll(t, nsp, specs)
	defer cl.closeAll(t, specs)
	all := []string{"j-a1", "j-a2", "j-b1", "j-b2"}
	cl.sync(t, nsp, all, a, b)
	allIDs := []string{ids["j-a1"], ids["j-a2"], ids["j-b1"], ids["j-b2"]}

	for _, origin := range []clusterNode{a, b} {
		peer := other(origin, a, b)
		room, solo := "joined-"+origin.Name(), "solo-"+origin.Name()
		target := "j-b1" // a socket of the other node
		if origin == b {
			target = "j-a1"
		}
		origin.SocketsJoin(t, sel{Nsp: nsp}, room)
		waitFetch(t, peer, sel{Nsp: nsp, Rooms: []string{room}}, allIDs, "after socketsJoin of all")
		waitFetch(t, origin, sel{Nsp: nsp, Rooms: []string{room}}, allIDs, "after socketsJoin of all")

		origin.SocketsJoin(t, sel{Nsp: nsp, Rooms: []string{ids[target]}}, solo)
		waitFetch(t, peer, sel{Nsp: nsp, Rooms: []string{solo}}, []string{ids[target]}, "after socketsJoin of one remote socket")

		origin.SocketsLeave(t, sel{Nsp: nsp, Rooms: []string{room}, Except: []string{solo}}, room)
		waitFetch(t, peer, sel{Nsp: nsp, Rooms: []string{room}}, []string{ids[target]}, "after socketsLeave except solo")
		waitFetch(t, origin, sel{Nsp: nsp, Rooms: []string{room}}, []string{ids[target]}, "after socketsLeave except solo")

		// the rooms really changed: a broadcast to them reaches the target only
		// (the end marker comes from the same node, after: it cannot
		// overtake the broadcast it closes)
		peer.Emit(t, sel{Nsp: nsp, Rooms: []string{solo, room}}, "step", "rooms-"+origin.Name())
		cl.waitRecv(t, target, "step", "rooms-"+origin.Name())
		peer.Emit(t, sel{Nsp: nsp}, "step", "end-"+origin.Name())
		for _, n := range all {
			cl.waitRecv(t, n, "step", "end-"+origin.Name())
			got := len(cl.find(isRecv(n, "step", "rooms-"+origin.Name())))
			if want := map[bool]int{true: 1, false: 0}[n == target]; got != want {
				t.Errorf("%s got the broadcast to %s %d times; want %d", n, solo, got, want)
			}
		}

		origin.SocketsLeave(t, sel{Nsp: nsp}, room, solo)
		waitFetch(t, peer, sel{Nsp: nsp, Rooms: []string{room, solo}}, nil, "after socketsLeave of all")
	}
}

// scenarioDisconnect: DisconnectSockets from each node disconnects the
// selected sockets of both nodes, with the reasons of Node on both sides.
func scenarioDisconnect(t *testing.T, a, b clusterNode, cl *clients) {
	const nsp = "/disconnect"
	for _, origin := range []clusterNode{a, b} {
		peer := other(origin, a, b)
		p := "d-" + origin.Name() + "-"
		specs := []clientSpec{
			{Name: p + "a1", Node: a, Rooms: []string{"kick"}},
			{Name: p + "a2", Node: a},
			{Name: p + "b1", Node: b, Rooms: []string{"kick"}, Transport: "polling"},
			{Name: p + "b2", Node: b, Transport: "polling"},
		}
		ids := cl.connectAll(t, nsp, specs)
		nodeOf := map[string]clusterNode{p + "a1": a, p + "a2": a, p + "b1": b, p + "b2": b}
		waitFetch(t, origin, sel{Nsp: nsp}, []string{ids[p+"a1"], ids[p+"a2"], ids[p+"b1"], ids[p+"b2"]}, "before disconnectSockets")

		check := func(names []string, what string) {
			t.Helper()
			for _, n := range names {
				l := cl.wait(t, 10*time.Second, n+" disconnected", func(l line) bool { return l.Event == "disconnect" && l.Client == n })
				if l.Reason != "io server disconnect" {
					t.Errorf("%s: client %s disconnected with reason %q; want %q", what, n, l.Reason, "io server disconnect")
				}
				sl := nodeOf[n].Events().wait(t, 10*time.Second, "server-side disconnect of "+n, func(l line) bool {
					return l.Event == "disconnect" && l.SID == ids[n]
				})
				if sl.Reason != "server namespace disconnect" {
					t.Errorf("%s: %s saw %s leave with reason %q; want %q", what, nodeOf[n].Name(), n, sl.Reason, "server namespace disconnect")
				}
			}
		}

		origin.DisconnectSockets(t, sel{Nsp: nsp, Rooms: []string{"kick"}}, false)
		check([]string{p + "a1", p + "b1"}, "disconnectSockets(kick, false)")
		waitFetch(t, peer, sel{Nsp: nsp}, []string{ids[p+"a2"], ids[p+"b2"]}, "after disconnectSockets(kick)")
		for _, n := range []string{p + "a2", p + "b2"} {
			if d := cl.disconnects(n); len(d) > 0 {
				t.Errorf("%s disconnected by disconnectSockets(kick): %v", n, d)
			}
		}

		origin.DisconnectSockets(t, sel{Nsp: nsp}, true)
		check([]string{p + "a2", p + "b2"}, "disconnectSockets(all, true)")
		waitFetch(t, peer, sel{Nsp: nsp}, nil, "after disconnectSockets(all)")
		waitFetch(t, origin, sel{Nsp: nsp}, nil, "after disconnectSockets(all)")
	}
}

// scenarioServerSide: ServerSideEmit from each node reaches the other
// (and not itself); ServerSideEmitWithAck gets the other's reply. With the
// sharded and streams adapters, binary arguments and replies too (they
// travel as msgpack; the classic adapter sends these requests as JSON, so
// Node itself turns a Buffer into {"type":"Buffer",...} there).
func scenarioServerSide(t *testing.T, kind adapterKind, a, b clusterNode) {
	const nsp = "/serverside"
	bin := []byte{7, 0, 0xff}
	for _, origin := range []clusterNode{a, b} {
		peer := other(origin, a, b)
		isSS := func(first string) func(line) bool {
			return func(l line) bool {
				return l.Event == "server-side" && l.Nsp == nsp && len(l.Args) > 0 && l.Args[0] == first
			}
		}
		type call struct {
			first string
			args  []any
		}
		fires := []call{{origin.Name() + "-fire", []any{42, map[string]any{"k": "v", "list": []any{true, nil}}}}}
		asks := []call{{origin.Name() + "-ask", []any{1}}}
		if kind != classic {
			fires = append(fires, call{origin.Name() + "-fire-bin", []any{bin, map[string]any{"b": bin}}})
			asks = append(asks, call{origin.Name() + "-ask-bin", []any{map[string]any{"b": bin}}})
		}

		for _, f := range fires {
			args := append([]any{f.first}, f.args...)
			origin.ServerSideEmit(t, nsp, "ss", args...)
			l := peer.Events().wait(t, 10*time.Second, "server-side event "+f.first, isSS(f.first))
			if canon(l.Args) != canon(args) {
				t.Errorf("%s got serverSideEmit of %s as %s; want %s", peer.Name(), origin.Name(), canon(l.Args), canon(args))
			}
		}
		for _, q := range asks {
			args := append([]any{q.first}, q.args...)
			start := time.Now()
			res, err := origin.ServerSideEmitWithAck(t, nsp, 5*time.Second, "ss", args...)
			if err != nil {
				t.Errorf("%s: serverSideEmitWithAck %s: %v (after %v, replies %s)", origin.Name(), q.first, err, time.Since(start), canon(res))
			} else if want := canon([]any{map[string]any{"node": peer.Name(), "args": args}}); canon(res) != want {
				t.Errorf("%s: serverSideEmitWithAck %s: replies %s; want %s", origin.Name(), q.first, canon(res), want)
			}
			peer.Events().wait(t, 10*time.Second, "server-side event "+q.first, isSS(q.first))
		}

		if own := origin.Events().find(func(l line) bool {
			return l.Event == "server-side" && len(l.Args) > 0 && strings.HasPrefix(str(l.Args[0]), origin.Name()+"-")
		}); len(own) > 0 {
			t.Errorf("%s received its own server-side events: %v", origin.Name(), own)
		}
	}
}

// scenarioAllRooms: allRooms() of the classic adapter, from each node,
// lists the rooms of both nodes, socket id rooms included (as Node's).
func scenarioAllRooms(t *testing.T, a, b clusterNode, cl *clients) {
	const nsp = "/allrooms"
	specs := []clientSpec{
		{Name: "ar-a1", Node: a, Rooms: []string{"alpha", "shared"}},
		{Name: "ar-b1", Node: b, Rooms: []string{"beta", "shared"}, Transport: "polling"},
	}
	ids := cl.connectAll(t, nsp, specs)
	defer cl.closeAll(t, specs)
	want := []string{"alpha", "beta", "shared", ids["ar-a1"], ids["ar-b1"]}
	for _, origin := range []clusterNode{a, b} {
		got, err := origin.AllRooms(t, nsp)
		if err != nil {
			t.Errorf("%s: allRooms: %v", origin.Name(), err)
			continue
		}
		if !sameSet(got, want) {
			t.Errorf("%s: allRooms = %v; want %v", origin.Name(), sorted(got), sorted(want))
		}
	}
}
