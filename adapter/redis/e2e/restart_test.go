package e2e

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sio/socketio/adapter/redis/internal/redistest"
)

// TestRedisRestartMixed: Redis is killed and started again (empty: no
// persistence) while a Go node and a Node node broadcast to each other's
// clients. Both nodes survive the outage, no client is disconnected, and
// once Redis is back the cross-node broadcasts, fetchSockets and
// serverCount work again in both directions, for each adapter kind.
// node+node is the reference.
func TestRedisRestartMixed(t *testing.T) {
	for _, kind := range []adapterKind{classic, sharded, streams} {
		for _, p := range []struct{ name, a, b string }{{"go+node", "go", "node"}, {"node+node", "node", "node"}} {
			t.Run(string(kind)+"/"+p.name, func(t *testing.T) { testRedisRestart(t, kind, p.a, p.b) })
		}
	}
}

func testRedisRestart(t *testing.T, kind adapterKind, langA, langB string) {
	env := requireNode(t)
	srv := redistest.Start(t)
	na, nb := nodeNames(langA, langB)
	a := startNode(t, env, langA, na, kind, srv, nodeOpts{})
	b := startNode(t, env, langB, nb, kind, srv, nodeOpts{})
	cl := startClients(t, env)
	waitServerCount(t, 2, []string{"/"}, a, b)
	cl.connect(t, clientSpec{Name: "ca", Node: a})
	cl.connect(t, clientSpec{Name: "cb", Node: b})
	cl.sync(t, "/", []string{"ca", "cb"}, a, b)

	// traffic in both directions, all along
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for _, n := range []clusterNode{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if err := n.EmitErr(sel{}, "beat", n.Name(), i); err != nil {
					failures.Add(1)
				}
			}
		}()
	}
	stopTraffic := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopTraffic()

	time.Sleep(300 * time.Millisecond)
	srv.Stop()
	time.Sleep(1500 * time.Millisecond)
	srv.Restart()
	restarted := time.Now()

	// cross-node broadcasts come back in both directions
	for _, c := range []struct {
		origin clusterNode
		client string
	}{{a, "cb"}, {b, "ca"}} {
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; ; i++ {
			token := fmt.Sprintf("probe-%s-%d", c.origin.Name(), i)
			if err := c.origin.EmitErr(sel{}, "probe", token); err != nil {
				t.Logf("%s: emit after restart: %v", c.origin.Name(), err)
			}
			if _, err := cl.waitNErr(300*time.Millisecond, 1, isRecv(c.client, "probe", token)); err == nil {
				t.Logf("%s -> %s: broadcasts back %v after the restart", c.origin.Name(), c.client, time.Since(restarted).Round(time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("broadcasts from %s never reached %s (on the other node) again after the Redis restart", c.origin.Name(), c.client)
			}
		}
	}
	stopTraffic()

	// the nodes are alive and whole again
	waitServerCount(t, 2, []string{"/"}, a, b)
	for _, n := range []clusterNode{a, b} {
		var got []sockInfo
		var err error
		for deadline := time.Now().Add(15 * time.Second); ; {
			if got, err = n.FetchSockets(t, sel{}); err == nil && len(got) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: fetchSockets after the restart = %d sockets, %v; want 2", n.Name(), len(got), err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// beats sent after the restart crossed over
	for _, c := range []struct {
		origin clusterNode
		client string
	}{{a, "cb"}, {b, "ca"}} {
		if len(cl.find(isRecv(c.client, "beat", c.origin.Name()))) == 0 {
			t.Errorf("%s got no beat from %s", c.client, c.origin.Name())
		}
	}
	for _, n := range []string{"ca", "cb"} {
		if d := cl.disconnects(n); len(d) > 0 {
			t.Errorf("client %s was disconnected during the Redis outage: %v", n, d)
		}
	}
	t.Logf("emits that failed during the outage: %d", failures.Load())
	for _, n := range []clusterNode{a, b} {
		if nn, ok := n.(*nodeNode); ok {
			if r := nn.find(func(l line) bool { return l.Event == "unhandled-rejection" }); len(r) > 0 {
				t.Logf("%s (the official adapter) left %d Redis promises unhandled during the outage, e.g. %s", n.Name(), len(r), r[0])
			}
		}
	}
}
