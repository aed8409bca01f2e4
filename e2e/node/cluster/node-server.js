// One Node.js node of a Socket.IO cluster over Redis, for the mixed-cluster
// tests of adapter/redis/e2e: socket.io 4.8.1 with the official adapter
// chosen by the options, next to Go nodes running ours.
//
//	node cluster/node-server.js '<options-json>'
//
// Options: name (how the node calls itself in replies), redis (redis://
// URL), adapter ("classic": @socket.io/redis-adapter createAdapter(pub,
// sub); "sharded": createShardedAdapter(pub, sub); "streams":
// @socket.io/redis-streams-adapter createAdapter(client)), namespaces
// (default ["/"]), recovery (connectionStateRecovery options, e.g.
// {"maxDisconnectionDuration":60000}), requestsTimeout (ms), pingInterval,
// pingTimeout, lifetimeMs; adapter options: publishOnSpecificResponseChannel
// (classic), subscriptionMode (sharded), streamCount and useShardedPubSub
// (streams).
//
// It listens on 127.0.0.1 (a free port) and prints
// {"event":"listening","port":N} once its adapters are set up. Then, as
// JSON lines: "connect" {nsp, sid, rooms, recovered, auth}, "disconnect"
// {nsp, sid, reason}, "server-side" {nsp, name, args, withAck} for the
// server-side event "ss" (registered on every namespace, answered with
// {node, args}, the arguments as received, when an ack is asked), "redis"
// {client, state, error?}, "unhandled-rejection" {message} (see lib.js).
//
// The contract of every namespace, the same as the Go node of the tests:
// on connection the socket joins the rooms of auth.rooms and takes auth.data
// as socket.data; "echo" ...args acks ...args.
//
// Commands (see lib.js for the framing); "sel" fields select sockets:
// nsp (default "/"), rooms, except, volatile, local, timeout (ms):
//
//	emit {sel, event, args}                broadcast ({"$bin":hex} -> Buffer)
//	emitWithAck {sel, event, args}         -> {responses} or ok:false error
//	fetchSockets {sel}                     -> {sockets:[{sid, rooms, data, auth, query, handshake}]}
//	socketsJoin / socketsLeave {sel, join} (join: the rooms)
//	disconnectSockets {sel, close}
//	serverSideEmit {nsp, event, args}
//	serverSideEmitWithAck {nsp, event, args} -> {responses}
//	serverCount {nsp}                      -> {count}
//	localSockets {nsp}                     -> {sockets:[{sid, rooms}]} (this node only)
//	allRooms {nsp}                         -> {rooms} (classic adapter: every node's rooms)

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createClient } from "redis";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { out, installFailHandlers, tag, untag, split, commandLoop } from "./lib.js";

installFailHandlers({ logRejections: true });

const opts = JSON.parse(process.argv[2] || "{}");
const name = opts.name || "node";
const namespaces = opts.namespaces || ["/"];

// watch reports the state of a Redis client once per change, so that a
// Redis outage does not flood stdout.
function watch(client, label) {
  let state = "";
  const report = (s, err) => {
    if (s === state) return;
    state = s;
    out({ event: "redis", client: label, state: s, ...(err ? { error: err.message } : {}) });
  };
  client.on("error", (err) => report("error", err));
  client.on("ready", () => report("ready"));
  client.on("reconnecting", () => report("reconnecting"));
  return client;
}

const clients = [];
async function redisClient(label) {
  const c = watch(createClient({ url: opts.redis }), label);
  clients.push(c);
  await c.connect();
  return c;
}

let adapter;
switch (opts.adapter) {
  case "classic": {
    const pub = await redisClient("pub");
    const sub = watch(pub.duplicate(), "sub");
    clients.push(sub);
    await sub.connect();
    const o = {};
    if (opts.requestsTimeout) o.requestsTimeout = opts.requestsTimeout;
    if (opts.publishOnSpecificResponseChannel) o.publishOnSpecificResponseChannel = true;
    adapter = createAdapter(pub, sub, o);
    break;
  }
  case "sharded": {
    const pub = await redisClient("pub");
    const sub = watch(pub.duplicate(), "sub");
    clients.push(sub);
    await sub.connect();
    adapter = createShardedAdapter(pub, sub, opts.subscriptionMode ? { subscriptionMode: opts.subscriptionMode } : {});
    break;
  }
  case "streams": {
    const client = await redisClient("streams");
    const o = {};
    if (opts.streamCount) o.streamCount = opts.streamCount;
    if (opts.useShardedPubSub) o.useShardedPubSub = true;
    adapter = createStreamsAdapter(client, o);
    break;
  }
  default:
    throw new Error(`unknown adapter ${opts.adapter}`);
}

const serverOpts = {
  adapter,
  pingInterval: opts.pingInterval ?? 25000,
  pingTimeout: opts.pingTimeout ?? 20000,
};
if (opts.recovery) serverOpts.connectionStateRecovery = opts.recovery;

const httpServer = createServer();
const io = new Server(httpServer, serverOpts);

for (const nspName of namespaces) {
  const nsp = io.of(nspName);
  nsp.on("connection", (socket) => {
    const auth = socket.handshake.auth || {};
    if (!socket.recovered) {
      if (Array.isArray(auth.rooms) && auth.rooms.length) socket.join(auth.rooms);
      if (auth.data !== undefined) socket.data = auth.data;
    }
    out({
      event: "connect",
      nsp: nspName,
      sid: socket.id,
      rooms: [...socket.rooms],
      recovered: socket.recovered,
      auth,
    });
    socket.on("disconnect", (reason) => out({ event: "disconnect", nsp: nspName, sid: socket.id, reason }));
    socket.on("echo", (...all) => {
      const [args, ack] = split(all);
      if (ack) ack(...args);
    });
  });
  nsp.on("ss", (...all) => {
    const [args, ack] = split(all);
    out({ event: "server-side", nsp: nspName, name: "ss", args: tag(args), withAck: !!ack });
    if (ack) ack({ node: name, args });
  });
}

function operator(c) {
  let op = io.of(c.nsp || "/");
  if (c.rooms && c.rooms.length) op = op.to(c.rooms);
  if (c.except && c.except.length) op = op.except(c.except);
  if (c.volatile) op = op.volatile;
  if (c.local) op = op.local;
  if (c.timeout) op = op.timeout(c.timeout);
  return op;
}

const handlers = {
  async emit(c) {
    operator(c).emit(c.event, ...untag(c.args || []));
  },
  async emitWithAck(c) {
    const responses = await operator(c).emitWithAck(c.event, ...untag(c.args || []));
    return { responses: tag(responses) };
  },
  async fetchSockets(c) {
    const sockets = await operator(c).fetchSockets();
    return {
      sockets: sockets.map((s) => ({
        sid: s.id,
        rooms: [...s.rooms],
        data: tag(s.data),
        auth: s.handshake.auth,
        query: s.handshake.query,
        handshake: s.handshake,
      })),
    };
  },
  async socketsJoin(c) {
    operator(c).socketsJoin(c.join);
  },
  async socketsLeave(c) {
    operator(c).socketsLeave(c.join);
  },
  async disconnectSockets(c) {
    operator(c).disconnectSockets(!!c.close);
  },
  async serverSideEmit(c) {
    io.of(c.nsp || "/").serverSideEmit(c.event, ...untag(c.args || []));
  },
  async serverSideEmitWithAck(c) {
    // (its timeout is the adapter's requestsTimeout, 5 s by default)
    const responses = await io.of(c.nsp || "/").serverSideEmitWithAck(c.event, ...untag(c.args || []));
    return { responses: tag(responses) };
  },
  async serverCount(c) {
    return { count: await io.of(c.nsp || "/").adapter.serverCount() };
  },
  async allRooms(c) {
    // classic adapter only (RedisAdapter.allRooms)
    return { rooms: [...(await io.of(c.nsp || "/").adapter.allRooms())] };
  },
  async localSockets(c) {
    const nsp = io.of(c.nsp || "/");
    return { sockets: [...nsp.sockets.values()].map((s) => ({ sid: s.id, rooms: [...s.rooms] })) };
  },
};

httpServer.listen(opts.port || 0, "127.0.0.1", () => {
  out({ event: "listening", port: httpServer.address().port, name });
});

commandLoop(
  handlers,
  async () => {
    io.close();
    await Promise.allSettled(clients.map((c) => c.disconnect()));
  },
  opts.lifetimeMs,
);
