// Package redis spreads a Socket.IO server over several processes through
// Redis, with the adapters of the official Node.js packages, on the wire
// byte for byte: Go and Node.js nodes can share one cluster, and the
// emitters of either language reach both.
//
// Each constructor returns a socketio.ServerOptions.Adapter factory:
//
//   - NewAdapter: the classic adapter over Redis pub/sub, as createAdapter
//     of @socket.io/redis-adapter 8.3 (described below);
//   - NewShardedAdapter: over the sharded pub/sub of Redis 7, as
//     createShardedAdapter of @socket.io/redis-adapter 8.3;
//   - NewStreamsAdapter: over a Redis stream, as
//     @socket.io/redis-streams-adapter, with connection state recovery
//     across nodes;
//   - the emitter subpackage publishes to the sockets of a cluster from a
//     process that is not a server, as @socket.io/redis-emitter.
//
// They reach Redis through a Driver; GoRedis makes one of a go-redis v9
// client (standalone or cluster).
//
//	rdb := goredis.NewClient(&goredis.Options{Addr: "localhost:6379"})
//	io := socketio.NewServer(&socketio.ServerOptions{
//		Adapter: redis.NewAdapter(redis.GoRedis(rdb), nil),
//	})
//
// # The classic adapter
//
// Every node of a namespace has a uid of 6 random alphanumeric characters
// (one per namespace, as in Node.js) and, with the default Options.Key
// "socket.io", these channels:
//
//	socket.io#<nsp>#                  broadcasts (PSUBSCRIBE socket.io#<nsp>#*)
//	socket.io#<nsp>#<room>#           broadcasts to exactly one room
//	socket.io-request#<nsp>#          requests (SUBSCRIBE)
//	socket.io-response#<nsp>#         responses (SUBSCRIBE)
//	socket.io-response#<nsp>#<uid>#   responses to this node (SUBSCRIBE)
//
// A broadcast is the MessagePack array [uid, packet, opts], packet being
// {type: 2, data: [event, ...args], nsp} and opts {rooms, except, flags}.
// A receiver drops its own broadcasts, those of another namespace (a
// packet without nsp is "/"'s), and those on the channel of a room it has
// no member of; it sends the others to its local sockets.
//
// Requests are JSON objects {uid, type, ...} (MessagePack for a broadcast
// with acknowledgements, and, from this package, for any request or
// response carrying binary: Node.js nodes read both, by the first byte,
// '{' meaning JSON). SocketsJoin, SocketsLeave and DisconnectSockets are
// fire-and-forget; FetchSockets, AllRooms and ServerSideEmit with an
// acknowledgement wait for one answer per other node, counted with PUBSUB
// NUMSUB of the request channel (ServerCount), for at most
// Options.RequestTimeout (5s by default). A broadcast with
// acknowledgements learns each node's client count, then takes the first
// argument of each client's acknowledgement, until the broadcast's
// timeout; a node that receives one gives the packet an ack id of its own.
// Answers go to the shared response channel, or to the requester's own
// with Options.PublishOnSpecificResponseChannel.
//
// The local part of every operation is done at once (a Node.js node waits
// for its own request to come back from Redis for SocketsJoin, SocketsLeave
// and DisconnectSockets), so that it works while Redis is away.
//
// # Redis outages
//
// A Redis outage neither stops a node nor blocks it. Publishing goes
// through a queue (bounded at 16 MiB; older messages are kept, newer ones
// dropped past it): callers never wait for Redis, failures are logged, and
// local delivery goes on. Requests fail after their timeout, or as soon
// as ServerCount cannot reach Redis. The subscription connection is
// re-established by the driver, which subscribes again; the adapter logs
// its loss (Warn) and its return (Info) and tells Options.OnRedisState.
// Messages published while a node was unsubscribed are lost for it, as
// with Node.js.
//
// Everything read from Redis is untrusted: a message that does not decode
// is dropped (and logged at Debug level); decoding never panics and
// allocates no more than the message holds.
//
// # Goroutines and order
//
// A factory (one per server: nodes are counted by their subscriptions)
// has one subscription connection for all its namespaces, opened when the
// first namespace's adapter starts and closed when the last one closes;
// the driver reads it on one goroutine, where messages are handled one at
// a time, in order. Messages are published in the order of the calls that
// made them, on a goroutine that exists only while some wait. A
// server-side event from another node runs its handlers on a goroutine of
// its own, so that they may wait for the cluster themselves. Close waits
// for these goroutines, and for the queue to empty (at most
// Options.RequestTimeout): none outlives the last Close.
package redis
