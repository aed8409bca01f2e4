// The benchmark contract of bench/server (siobench) on the Node.js reference,
// npm socket.io 4.8.1 (pinned by package-lock.json next to this file), so that
// the load generator (bench/load, sioload) measures both on the same events.
//
//   cd bench/node && npm ci --no-audit --no-fund
//   node bench/node/server.js --port 3001 [--host 127.0.0.1]
//
// Namespace "/", path /socket.io/, default options, both transports (polling
// and WebSocket, with upgrade):
//
//   echo (any args) with ack   acknowledges with the same arguments
//   join (room) with ack       joins room, then acknowledges with no argument
//   bcast (room, payload)      io.to(room).emit("msg", payload)
//   bcastall (payload)         io.emit("msg", payload)
//
// It prints one line "node-bench: listening on http://HOST:PORT (socket.io
// VERSION, pid PID)" once it listens, and stops on SIGINT or SIGTERM.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { Server } = require("socket.io");

// socket.io's package.json is not in its "exports": read it beside dist/.
const sioVersion = JSON.parse(
  fs.readFileSync(path.join(path.dirname(require.resolve("socket.io")), "..", "package.json"), "utf8"),
).version;

function parseArgs(argv) {
  const opts = { port: 3001, host: "127.0.0.1" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const name = eq >= 0 ? a.slice(0, eq) : a;
    const value = () => (eq >= 0 ? a.slice(eq + 1) : argv[++i]);
    switch (name) {
      case "--port":
        opts.port = Number(value());
        break;
      case "--host":
        opts.host = value();
        break;
      case "-h":
      case "--help":
        process.stdout.write("usage: node server.js [--port 3001] [--host 127.0.0.1]\n");
        process.exit(0);
        break;
      default:
        process.stderr.write(`node-bench: unknown argument ${a}\n`);
        process.exit(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    process.stderr.write("node-bench: --port wants an integer in 0..65535\n");
    process.exit(2);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const httpServer = http.createServer();
const io = new Server(httpServer); // default options: path /socket.io/, polling + websocket

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("bcast", (room, payload) => {
    io.to(room).emit("msg", payload);
  });
  socket.on("bcastall", (payload) => {
    io.emit("msg", payload);
  });
});

httpServer.listen(opts.port, opts.host, () => {
  const { address, port } = httpServer.address();
  const host = address.includes(":") ? `[${address}]` : address;
  process.stdout.write(`node-bench: listening on http://${host}:${port} (socket.io ${sioVersion}, pid ${process.pid})\n`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
