// A Socket.IO server of the pinned npm socket.io (see ../package.json) for
// the interop tests of our Go client (e2e/interop/client_test.go). Our Go
// server runs the same behaviours (e2e/interop/client_server_test.go), so
// every client scenario runs against both.
//
//	node sio-server/server.mjs <port> [options-json]
//
// It listens on 127.0.0.1:<port> (0: a free port) and prints one JSON object
// per line on stdout: first {"event":"listening","port":N}, then what the
// server sees (connect, disconnect, count, every-other, middleware), so that
// the Go side keeps the record even when it kills the process. It stops
// itself after lifetimeMs (default 60000) or when its stdin closes, with
// {"event":"closed"}.
//
// Options (all optional): pingInterval, pingTimeout (ms), transports
// (["polling","websocket"]), connectionStateRecovery
// ({maxDisconnectionDuration}), lifetimeMs.
//
// Events of the namespaces "/" and "/other" (and "/auth", behind a
// middleware that accepts auth {token:"ok"} and refuses anything else with
// an Error "not authorized" whose data is {code: 401}):
//
//	whoami                -> ack {id, nsp, engineId, transport, recovered}
//	transport?            -> ack the Engine.IO transport name
//	echo ...args          -> ack ...args
//	describe ...args      -> ack the args tagged ({"$buf":hex} for Buffers)
//	echo-event ...args    -> emit "echo-event" ...args
//	delayed-ack ms ...a   -> ack ...a after ms milliseconds
//	ack-every-other key   -> acks (key, n) only the n-th time key comes
//	                         when n is even; prints every-other lines
//	count n               -> records n for this socket (and acks n when
//	                         asked to); prints count lines
//	stats                 -> ack the numbers "count" recorded, in order
//	ask ev payload ms     -> emitWithAck(ev, payload) to the client with a
//	                         timeout of ms; ack {ok, args} or {ok, error}
//	binary                -> ack nested Buffers of the server's own
//	ticks from n          -> emits "tick" from..from+n-1 to the socket's
//	                         room (stored for connection state recovery)
//	kill-then-ticks f n   -> closes the connection, then emits those
//	                         ticks to the socket's room while it is away
//	kill                  -> closes the Engine.IO connection
//	server-disconnect     -> socket.disconnect()

import { createServer } from "node:http";
import { Server } from "socket.io";

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function fail(err) {
  const text = err instanceof Error ? err.stack || err.message : String(err);
  out({ event: "fail", message: text });
  process.stderr.write(`FAIL: ${text}\n`);
  process.exit(1);
}
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

const port = Number(process.argv[2] || 0);
const opts = JSON.parse(process.argv[3] || "{}");

/** Returns a printable form of a value: a Buffer becomes {"$buf":"<hex>"}. */
function tag(v) {
  if (v === undefined) return { $undefined: true };
  if (Buffer.isBuffer(v)) return { $buf: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $ab: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) {
    return { [`$${v.constructor.name}`]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  }
  if (Array.isArray(v)) return v.map(tag);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = tag(v[k]);
    return o;
  }
  return v;
}

/** Splits the trailing acknowledgement callback off an event's arguments. */
function split(args) {
  if (args.length && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, null];
}

const serverOpts = {
  pingInterval: opts.pingInterval ?? 300,
  pingTimeout: opts.pingTimeout ?? 200,
  transports: opts.transports ?? ["polling", "websocket"],
};
if (opts.connectionStateRecovery) {
  serverOpts.connectionStateRecovery = opts.connectionStateRecovery;
}

const httpServer = createServer();
const io = new Server(httpServer, serverOpts);

// The numbers "count" recorded, and the "ack-every-other" occurrences, per
// socket id.
const counts = new Map();
const everyOther = new Map();

function behaviours(nsp) {
  nsp.on("connection", (socket) => {
    const id = socket.id;
    out({
      event: "connect",
      nsp: nsp.name,
      id,
      engineId: socket.conn.id,
      transport: socket.conn.transport.name,
      auth: socket.handshake.auth,
      recovered: socket.recovered,
    });
    socket.on("disconnect", (reason) => out({ event: "disconnect", nsp: nsp.name, id, reason }));

    socket.on("whoami", (ack) =>
      ack({ id, nsp: nsp.name, engineId: socket.conn.id, transport: socket.conn.transport.name, recovered: socket.recovered }),
    );
    socket.on("transport?", (ack) => ack(socket.conn.transport.name));
    socket.on("echo", (...all) => {
      const [args, ack] = split(all);
      if (ack) ack(...args);
    });
    socket.on("describe", (...all) => {
      const [args, ack] = split(all);
      if (ack) ack(tag(args));
    });
    socket.on("echo-event", (...all) => {
      const [args] = split(all);
      socket.emit("echo-event", ...args);
    });
    socket.on("delayed-ack", (ms, ...all) => {
      const [args, ack] = split(all);
      if (ack) setTimeout(() => ack(...args), ms);
    });
    socket.on("ack-every-other", (key, ack) => {
      const k = `${id} ${key}`;
      const n = (everyOther.get(k) || 0) + 1;
      everyOther.set(k, n);
      const acked = n % 2 === 0;
      out({ event: "every-other", nsp: nsp.name, id, key: String(key), n, acked });
      if (acked && typeof ack === "function") ack(key, n);
    });
    socket.on("count", (n, ack) => {
      if (!counts.has(id)) counts.set(id, []);
      counts.get(id).push(n);
      out({ event: "count", nsp: nsp.name, id, n });
      if (typeof ack === "function") ack(n);
    });
    socket.on("stats", (ack) => ack(counts.get(id) || []));
    socket.on("ask", (ev, payload, ms, ack) => {
      // A callback, not emitWithAck (which resolves with the first
      // argument only), to see every argument of the client's ack.
      socket.timeout(ms).emit(ev, payload, (err, ...args) => {
        if (err) ack({ ok: false, error: err.message });
        else ack({ ok: true, args: tag(args) });
      });
    });
    socket.on("binary", (ack) =>
      ack({ raw: Buffer.from([0, 1, 2, 255]), nested: { list: [Buffer.from("hi"), "text", { deep: Buffer.alloc(0) }] } }, Buffer.from([7])),
    );
    socket.on("ticks", (from, n, ack) => {
      for (let i = from; i < from + n; i++) nsp.to(id).emit("tick", i);
      if (typeof ack === "function") ack();
    });
    socket.on("kill-then-ticks", (from, n) => {
      // The session is persisted before "disconnect" runs: these ticks are
      // stored for the socket's room while nobody is in it.
      socket.on("disconnect", () => {
        for (let i = from; i < from + n; i++) nsp.to(id).emit("tick", i);
        out({ event: "ticks-while-away", nsp: nsp.name, id, from, n });
      });
      socket.conn.close();
    });
    socket.on("kill", () => socket.conn.close());
    socket.on("server-disconnect", () => socket.disconnect());
  });
}

behaviours(io.of("/"));
behaviours(io.of("/other"));
const auth = io.of("/auth");
auth.use((socket, next) => {
  out({ event: "middleware", nsp: "/auth", auth: socket.handshake.auth });
  if (socket.handshake.auth && socket.handshake.auth.token === "ok") return next();
  const err = new Error("not authorized");
  err.data = { code: 401 };
  next(err);
});
behaviours(auth);

let stopping = false;
function stop(why) {
  if (stopping) return;
  stopping = true;
  io.close(() => {
    out({ event: "closed", why });
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 2000).unref();
}

setTimeout(() => stop("lifetime"), opts.lifetimeMs ?? 60000).unref();
process.stdin.on("end", () => stop("stdin"));
process.stdin.on("close", () => stop("stdin"));
process.stdin.resume();

httpServer.on("error", fail);
httpServer.listen(port, "127.0.0.1", () => out({ event: "listening", port: httpServer.address().port }));
