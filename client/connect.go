package client

import (
	"net/url"
	"strings"
	"sync"
)

var (
	cacheMu  sync.Mutex
	managers = map[string]*Manager{} // by scheme://host:port, as socket.io-client's cache
)

// Connect returns a socket for the namespace in rawURL's path ("/" when
// empty) of the server in rawURL, as io(url, opts) does in socket.io-client:
// the manager of that server is shared with earlier sockets unless
// ForceNew, Multiplex false, or a socket of the same namespace exists on
// it. rawURL's query is sent with every request. The socket connects in
// the background unless AutoConnect is false; see Socket.WaitConnected.
func Connect(rawURL string, opts *Options) (*Socket, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	nsp := u.Path
	if nsp == "" {
		nsp = "/"
	}
	if q := u.Query(); len(q) > 0 {
		merged := url.Values{}
		for k, v := range o.Query {
			merged[k] = v
		}
		for k, v := range q {
			merged[k] = v
		}
		o.Query = merged
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "ws": "80", "https": "443", "wss": "443"}[u.Scheme]
	}
	scheme := strings.Replace(strings.Replace(u.Scheme, "wss", "https", 1), "ws", "http", 1)
	id := scheme + "://" + u.Hostname() + ":" + port
	base := scheme + "://" + u.Host

	newConnection := o.ForceNew || (o.Multiplex != nil && !*o.Multiplex)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	m := managers[id]
	if m != nil {
		m.mu.Lock()
		_, same := m.nsps[nsp]
		closed := m.closed
		m.mu.Unlock()
		if closed {
			m = nil
		} else if same {
			newConnection = true
		}
	}
	if m == nil || newConnection {
		if m, err = NewManager(base, &o.ManagerOptions); err != nil {
			return nil, err
		}
		if !newConnection {
			managers[id] = m
		}
	}
	return m.Socket(nsp, &o.SocketOptions), nil
}
