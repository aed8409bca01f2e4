package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
	goredis "github.com/redis/go-redis/v9"
)

// TestMixedStreamsRecovery: connection state recovery across the nodes of
// a streams-adapter cluster. A client (official socket.io-client, through
// a TCP proxy standing for the load balancer) connected to one node loses
// its connection; while it is away both nodes broadcast to its room; it
// comes back through the proxy to the OTHER node, which restores its
// session (stored in Redis by the first node) and replays what it missed
// from the stream: socket.recovered is true, the id, rooms and data are
// kept, and every tick arrives exactly once, in order. Go→Node and
// Node→Go are the mixed cases; Go→Go and Node→Node check each side alone.
func TestMixedStreamsRecovery(t *testing.T) {
	for _, c := range []struct{ name, from, to string }{
		{"go-to-node", "go", "node"},
		{"node-to-go", "node", "go"},
		{"go-to-go", "go", "go"},
		{"node-to-node", "node", "node"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := requireNode(t)
			srv := redistest.Start(t)
			nf, nt := nodeNames(c.from, c.to)
			o := nodeOpts{Recovery: true}
			from := startNode(t, env, c.from, nf, streams, srv, o)
			to := startNode(t, env, c.to, nt, streams, srv, o)
			rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
			t.Cleanup(func() { _ = rdb.Close() })
			px := startProxy(t, strings.TrimPrefix(from.URL(), "http://"))
			cl := startClients(t, env)
			waitServerCount(t, 2, []string{"/"}, from, to)

			data := map[string]any{"name": "roamer", "level": 3}
			sid := cl.connect(t, clientSpec{Name: "r", URL: px.URL(), Rooms: []string{"news"}, Data: data})
			cl.sync(t, "/", []string{"r"}, from, to)

			// tick emits "tick" n to the room news from node and waits until
			// the stream holds it, so that the stream order is the tick order.
			tick := func(node clusterNode, n int, room string) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				before, err := rdb.XLen(ctx, "socket.io").Result()
				if err != nil {
					t.Fatalf("XLEN: %v", err)
				}
				node.Emit(t, sel{Rooms: []string{room}}, "tick", n, node.Name())
				for {
					l, err := rdb.XLen(ctx, "socket.io").Result()
					if err == nil && l > before {
						return
					}
					if ctx.Err() != nil {
						t.Fatalf("tick %d from %s never reached the stream (XLEN %d, %v)", n, node.Name(), l, err)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}

			tick(from, 1, "news")
			tick(to, 2, "news")
			cl.waitRecv(t, "r", "tick", 2)

			// the connection is lost; the first node notices and stores the session
			px.drop(true)
			d := cl.wait(t, 10*time.Second, "client disconnect", func(l line) bool { return l.Event == "disconnect" && l.Client == "r" })
			if d.Reason != "transport close" {
				t.Errorf("client disconnect reason %q; want %q", d.Reason, "transport close")
			}
			sd := from.Events().wait(t, 10*time.Second, "server-side disconnect", func(l line) bool { return l.Event == "disconnect" && l.SID == sid })
			if sd.Reason != "transport close" {
				t.Errorf("%s: disconnect reason %q; want %q", from.Name(), sd.Reason, "transport close")
			}

			// missed while away, from both nodes; plus one for another room
			tick(from, 3, "news")
			tick(to, 4, "news")
			tick(from, -1, "sports")
			tick(from, 5, "news")
			time.Sleep(200 * time.Millisecond) // give the session store a moment (Node stores it without waiting)

			// back, through the same URL, to the other node
			px.resume(strings.TrimPrefix(to.URL(), "http://"))
			conns := cl.waitN(t, 15*time.Second, 2, "reconnection", func(l line) bool { return l.Event == "connect" && l.Client == "r" })
			re := conns[1]
			if !re.Recovered || re.SID != sid {
				t.Errorf("client reconnected to %s with recovered=%v id %s; want recovered=true id %s", to.Name(), re.Recovered, re.SID, sid)
			}
			sc := to.Events().wait(t, 10*time.Second, "connection on "+to.Name(), func(l line) bool { return l.Event == "connect" && l.SID == re.SID })
			if !sc.Recovered {
				t.Errorf("%s: socket %s connected with recovered=false", to.Name(), sc.SID)
			}

			// the restored socket is in its room with its data, seen from both nodes
			for _, n := range []clusterNode{to, from} {
				got, err := n.FetchSockets(t, sel{Rooms: []string{"news"}})
				if err != nil {
					t.Errorf("%s: fetchSockets: %v", n.Name(), err)
					continue
				}
				if len(got) != 1 || got[0].SID != sid || !sameSet(got[0].Rooms, []string{sid, "news"}) || canon(got[0].Data) != canon(data) {
					t.Errorf("%s: fetchSockets(news) = %+v; want the socket %s in [%s news] with data %s", n.Name(), got, sid, sid, canon(data))
				}
			}

			tick(to, 6, "news")
			tick(from, 7, "news")
			cl.waitRecv(t, "r", "tick", 7)
			time.Sleep(300 * time.Millisecond) // a duplicate would come now

			var got []int
			for _, a := range cl.firstArgs("r", "tick") {
				f, _ := a.(float64)
				got = append(got, int(f))
			}
			if want := []int{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(got, want) {
				t.Errorf("ticks received by the client: %v; want %v exactly once each, in order", got, want)
			}
			if disc := cl.disconnects("r"); len(disc) != 1 {
				t.Errorf("client disconnected %d times: %v", len(disc), disc)
			}
		})
	}
}
