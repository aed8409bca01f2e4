package testutil

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The exact error bodies of Node's engine.io.
const (
	BodyTransportUnknown    = `{"code":0,"message":"Transport unknown"}`
	BodySessionIDUnknown    = `{"code":1,"message":"Session ID unknown"}`
	BodyBadHandshakeMethod  = `{"code":2,"message":"Bad handshake method"}`
	BodyBadRequest          = `{"code":3,"message":"Bad request"}`
	BodyUnsupportedProtocol = `{"code":5,"message":"Unsupported protocol version"}`
)

// Response is the outcome of one HTTP request.
type Response struct {
	Status int
	Header http.Header
	Body   string
	Err    error // transport-level failure (connection reset, timeout, ...)
}

// Request sends one request to url with client, bounded by WaitTimeout,
// and reads the whole answer. A non-empty body, and the body of any POST
// or PUT, is sent as text/plain;charset=UTF-8; the values of header
// replace the request's own.
func Request(client *http.Client, method, url, body string, header http.Header) Response {
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	var rd io.Reader
	if body != "" || method == http.MethodPost || method == http.MethodPut {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return Response{Err: err}
	}
	if rd != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Err: err}
}

// Endpoint is a path of a test server, such as http://127.0.0.1:1234/engine.io/,
// that requests address by their query.
type Endpoint struct {
	t      testing.TB
	client *http.Client
	base   string
}

// NewEndpoint returns the endpoint at base (an absolute http URL that a
// query is appended to) reached with client. Its Get and Post fail t when
// a request fails.
func NewEndpoint(t testing.TB, client *http.Client, base string) *Endpoint {
	return &Endpoint{t: t, client: client, base: base}
}

// URL is the http URL of the endpoint with query q.
func (e *Endpoint) URL(q string) string { return e.base + "?" + q }

// WSURL is the ws URL of the endpoint with query q.
func (e *Endpoint) WSURL(q string) string {
	return "ws" + strings.TrimPrefix(e.base, "http") + "?" + q
}

// Do sends one bounded request to the endpoint with query q (see Request).
// A transport failure is in the result's Err.
func (e *Endpoint) Do(method, q, body string, header http.Header) Response {
	return Request(e.client, method, e.URL(q), body, header)
}

// Get sends a GET with query q; a transport failure fails the test.
func (e *Endpoint) Get(q string) Response {
	e.t.Helper()
	r := e.Do(http.MethodGet, q, "", nil)
	if r.Err != nil {
		e.t.Fatalf("GET ?%s: %v", q, r.Err)
	}
	return r
}

// Post sends body with query q; a transport failure fails the test.
func (e *Endpoint) Post(q, body string) Response {
	e.t.Helper()
	r := e.Do(http.MethodPost, q, body, nil)
	if r.Err != nil {
		e.t.Fatalf("POST ?%s: %v", q, r.Err)
	}
	return r
}

// GetAsync starts a GET with query q and returns the channel its result
// arrives on; Await waits for it.
func (e *Endpoint) GetAsync(q string) <-chan Response {
	ch := make(chan Response, 1)
	go func() { ch <- e.Do(http.MethodGet, q, "", nil) }()
	return ch
}

// Await waits for the result of an asynchronous request (what names it in
// failures); a transport failure, or no answer in time, fails the test.
func Await(t testing.TB, what string, ch <-chan Response) Response {
	t.Helper()
	select {
	case r := <-ch:
		if r.Err != nil {
			t.Fatalf("%s: %v", what, r.Err)
		}
		return r
	case <-time.After(WaitTimeout + time.Second):
		t.Fatalf("%s: no answer within %v", what, WaitTimeout)
		return Response{}
	}
}

// ExpectResponse fails the test unless r has the given status and body.
func ExpectResponse(t testing.TB, what string, r Response, status int, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Fatalf("%s: got %d %q, want %d %q", what, r.Status, r.Body, status, body)
	}
}

// ExpectEngineError fails the test unless r is the JSON error Node's
// engine.io answers: the status, Content-Type application/json and the
// exact body (such as BodySessionIDUnknown).
func ExpectEngineError(t testing.TB, what string, r Response, status int, body string) {
	t.Helper()
	ExpectResponse(t, what, r, status, body)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want %q", what, ct, "application/json")
	}
}
