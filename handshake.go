package socketio

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"time"

	"github.com/go-sio/socketio/adapter"
	"github.com/go-sio/socketio/engineio"
)

// Handshake describes the request that opened a socket, as Node exposes it:
// headers, time, address, xdomain, secure, issued, url, query and auth.
type Handshake = adapter.Handshake

// jsDate is the format of JavaScript's Date.prototype.toString.
const jsDate = "Mon Jan 02 2006 15:04:05 GMT-0700 (MST)"

func buildHandshake(conn *engineio.Session, auth map[string]any) *Handshake {
	r := conn.Request()
	now := time.Now()
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if auth == nil {
		auth = map[string]any{}
	}
	// Node's handshake.headers holds every request header, host included;
	// Go keeps the host apart. The request is done with: its map is
	// completed in place rather than copied (memory per connection).
	headers := r.Header
	if headers == nil {
		headers = http.Header{}
	}
	if r.Host != "" && headers.Get("Host") == "" {
		headers["Host"] = []string{r.Host}
	}
	return &Handshake{
		Headers: headers,
		Time:    now.Format(jsDate),
		Address: addr,
		XDomain: r.Header.Get("Origin") != "",
		Secure:  r.TLS != nil,
		Issued:  now.UnixMilli(),
		URL:     r.URL.RequestURI(),
		Query:   r.URL.Query(),
		Auth:    auth,
	}
}

// newSocketID returns 15 random bytes in URL-safe base64: 20 characters,
// like Node's socket ids (the sharded Redis adapter relies on the length).
func newSocketID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}
