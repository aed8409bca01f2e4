package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// clients drives official socket.io-client 4.8.1 clients through
// e2e/node/cluster/clients.js. Each client has a name; its lines in the
// journal carry it.
type clients struct {
	*proc
	sids map[string]string // name -> socket id of its first connection
}

func startClients(t testing.TB, env nodeEnv) *clients {
	t.Helper()
	return &clients{proc: startProc(t, env, "clients", "cluster/clients.js"), sids: map[string]string{}}
}

// clientSpec describes one client: its node (or URL, to go through a
// proxy), namespace, transport, and the auth that the servers' contract
// turns into rooms and data. The query carries who=<name>.
type clientSpec struct {
	Name      string
	Node      clusterNode
	URL       string // instead of Node.URL()
	Nsp       string
	Transport string // "websocket" (default) or "polling"
	Rooms     []string
	Data      any
}

// connect opens the client and waits for its first connection; it
// returns the socket id.
func (c *clients) connect(t testing.TB, s clientSpec) string {
	t.Helper()
	url := s.URL
	if url == "" {
		url = s.Node.URL()
	}
	tr := s.Transport
	if tr == "" {
		tr = "websocket"
	}
	auth := map[string]any{"rooms": nonNil(s.Rooms)}
	if s.Data != nil {
		auth["data"] = s.Data
	}
	l := c.must(t, "connect", map[string]any{
		"client": s.Name, "url": url, "nsp": s.Nsp, "transports": []string{tr},
		"auth": auth, "query": map[string]string{"who": s.Name},
	})
	var x struct{ SID string }
	decodeRaw(t, l, &x)
	if x.SID == "" {
		t.Fatalf("client %s: no socket id in %s", s.Name, l)
	}
	c.sids[s.Name] = x.SID
	return x.SID
}

// connectAll connects every client of specs (in namespace nsp).
func (c *clients) connectAll(t testing.TB, nsp string, specs []clientSpec) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, s := range specs {
		s.Nsp = nsp
		ids[s.Name] = c.connect(t, s)
	}
	return ids
}

func (c *clients) close(t testing.TB, name string) {
	t.Helper()
	c.must(t, "close", map[string]any{"client": name})
}

func (c *clients) closeAll(t testing.TB, specs []clientSpec) {
	t.Helper()
	for _, s := range specs {
		c.close(t, s.Name)
	}
}

// isRecv matches the events named event received by client name whose
// first argument is first (any first argument when first is nil).
func isRecv(name, event string, first any) func(line) bool {
	return func(l line) bool {
		if l.Event != "recv" || l.Client != name || l.Name != event {
			return false
		}
		return first == nil || (len(l.Args) > 0 && canon(l.Args[0]) == canon(first))
	}
}

// waitRecv waits until client name has received event with first
// argument first.
func (c *clients) waitRecv(t testing.TB, name, event string, first any) line {
	t.Helper()
	return c.wait(t, 10*time.Second, fmt.Sprintf("%s receiving %s %v", name, event, first), isRecv(name, event, first))
}

// firstArgs returns the first argument of every event named event client
// name received, in order.
func (c *clients) firstArgs(name, event string) []any {
	var out []any
	for _, l := range c.find(isRecv(name, event, nil)) {
		if len(l.Args) > 0 {
			out = append(out, l.Args[0])
		} else {
			out = append(out, nil)
		}
	}
	return out
}

func (c *clients) disconnects(name string) []line {
	return c.find(func(l line) bool { return l.Event == "disconnect" && l.Client == name })
}

// sync is a barrier: each origin broadcasts "sync" to nsp until every
// named client has received it from that origin. Subscriptions (and, for
// the streams adapter, the stream readers) are set up asynchronously; once
// a broadcast from every node reached every client, the cluster is whole.
func (c *clients) sync(t testing.TB, nsp string, names []string, origins ...clusterNode) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i, o := range origins {
		token := fmt.Sprintf("sync-%s-%d-%d", o.Name(), i, time.Now().UnixNano())
		for {
			if err := o.EmitErr(sel{Nsp: nsp}, "sync", token); err != nil {
				t.Logf("sync: %s: emit: %v", o.Name(), err)
			}
			missing := slices.Clone(names)
			end := time.Now().Add(500 * time.Millisecond)
			for len(missing) > 0 && time.Now().Before(end) {
				missing = slices.DeleteFunc(missing, func(n string) bool {
					return len(c.find(isRecv(n, "sync", token))) > 0
				})
				time.Sleep(20 * time.Millisecond)
			}
			if len(missing) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sync: broadcasts of %s in %s never reached %v", o.Name(), nsp, missing)
			}
		}
	}
}
