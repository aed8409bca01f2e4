// Sio pokes a Socket.IO v4 server from a terminal, the way curl or wscat
// are used: it emits an event (and prints the acknowledgement), prints the
// events that arrive, or just connects. It is built on package client and
// speaks to any Socket.IO v4 server, Node.js's or ours.
//
//	sio emit URL EVENT [ARG...] [--ack] [--linger D]
//	sio listen URL [EVENT...] [--count N] [--reconnect]
//	sio connect URL [--reconnect]
//
// Common flags: --namespace, --auth JSON, --transport polling|websocket,
// --path (default /socket.io/), --parser json|msgpack, --timeout (default
// 5s), --header "Name: value". Flags may come before or after the other
// arguments; "--" ends them. Run "sio help" for the details, or read
// README.md beside this file.
//
// # Values
//
// An ARG is a JSON value; a word that is not valid JSON is sent as a
// string. Output is one JSON line per event (["event",arg...]) or per
// acknowledgement ([arg...]). Binary data, on either side, is the object
// {"_binary":"<base64>"}.
//
// # Delivery
//
// Without --ack, emit waits until the connection has written the event,
// then stays connected --linger (100ms) for the server to hand it to its
// handlers before the socket leaves (a server drops an event still queued
// for its handlers when the socket disconnects). With --ack, the
// acknowledgement is the proof.
//
// # Exit status
//
// 0 on success (listen and connect: interrupted by SIGINT or SIGTERM, or
// --count reached); 1 when the server cannot be reached, refuses the
// connection (its connect_error message and data are printed), does not
// acknowledge in time, or the connection is lost; 2 on usage errors.
// Nothing is retried unless --reconnect.
//
// # Structure
//
// main only wires the signals to run, which takes the arguments and the
// output streams and returns the exit status, so that the tests run the
// commands in-process. The socket's handlers run on its event goroutine;
// their output goes through a lock and is dropped once run has returned.
package main
