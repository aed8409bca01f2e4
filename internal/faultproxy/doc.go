// Package faultproxy is a loopback TCP proxy that injects faults between
// a client and a server, for tests of what a protocol does when its
// connection breaks.
//
// A Proxy listens on 127.0.0.1 and forwards every connection to its target.
// Three faults can be injected into a connection, one by one (Conn.Drop,
// Conn.Cut, Conn.Stall, Proxy.DropAll) or at random (Proxy.Chaos, driven by
// a seeded generator):
//
//   - Drop closes both sides at once, with a TCP reset.
//   - Cut forwards only part of the next bytes read (half a frame, half an
//     HTTP response), then drops the connection.
//   - Stall stops forwarding in both directions, without closing, for a
//     while; then the connection resumes, or is dropped.
//
// Everything is bounded: connections (Options.MaxConns), buffers (one of
// Options.BufferSize per direction), the wait of a Cut for bytes to cut
// (Options.CutWait, then it drops), stalls (their duration), the chaos
// loop (its context). Close closes the listener and every connection and
// returns once every goroutine of the proxy has ended.
//
// Goroutines: one accepting connections; two per connection (one per
// direction); one per stall or cut under way, until it ends; Chaos runs on
// its caller's goroutine.
package faultproxy
