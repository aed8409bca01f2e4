// An engine.io (Node.js) echo server for e2e/interop/eio_client_test.go,
// which runs our Go client against it.
//
//	node eio-server/echo-server.mjs <port>
//
// It listens on 127.0.0.1:<port> (0: any free port) under /engine.io/ and
// prints one JSON object per line on stdout:
//
//	{"event":"listening","port":N}
//	{"event":"connection","id","transport","query","xtest"}
//	{"event":"upgrade","id","transport"}
//	{"event":"close","id","reason","transport","requests","withCookie","withHeader"}
//
// where requests counts the HTTP requests and WebSocket handshakes that
// named the session (sid) after its handshake, withCookie those that
// carried the session cookie "io=<id>", and withHeader those that carried
// the header X-Test.
//
// Every message is echoed (text as text, binary as binary), except the
// text "close-me", which makes the server close the socket, and
// "burst:N", which makes it send the N texts "0" ... "N-1". The heartbeat
// is short (pingInterval 300 ms, pingTimeout 200 ms) and the session
// cookie is on. The server stops when its standard input closes, and in
// any case after 30 s.

import { createServer } from "node:http";
import { Server } from "engine.io";

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const port = Number(process.argv[2] || 0);
const httpServer = createServer();
const engine = new Server({
  pingInterval: 300,
  pingTimeout: 200,
  cookie: true,
});
engine.attach(httpServer);

// Requests that name a session, by session id.
const stats = new Map();
function record(req) {
  const sid = new URL(req.url, "http://localhost").searchParams.get("sid");
  if (!sid) return;
  const s = stats.get(sid) || { requests: 0, withCookie: 0, withHeader: 0 };
  s.requests++;
  if ((req.headers.cookie || "").split(/;\s*/).includes(`io=${sid}`)) s.withCookie++;
  if (req.headers["x-test"] !== undefined) s.withHeader++;
  stats.set(sid, s);
}
httpServer.prependListener("request", record);
httpServer.prependListener("upgrade", record);

engine.on("connection", (socket) => {
  const id = socket.id;
  emit({
    event: "connection",
    id,
    transport: socket.transport.name,
    query: socket.request._query,
    xtest: socket.request.headers["x-test"] ?? null,
  });
  socket.on("upgrade", (transport) => emit({ event: "upgrade", id, transport: transport.name }));
  socket.on("message", (data) => {
    if (data === "close-me") {
      socket.close();
      return;
    }
    if (typeof data === "string" && data.startsWith("burst:")) {
      const n = Number(data.slice("burst:".length));
      for (let i = 0; i < n; i++) socket.send(String(i));
      return;
    }
    socket.send(data);
  });
  socket.on("close", (reason) => {
    emit({
      event: "close",
      id,
      reason,
      transport: socket.transport ? socket.transport.name : null,
      ...(stats.get(id) || { requests: 0, withCookie: 0, withHeader: 0 }),
    });
  });
});

function stop(code) {
  engine.close();
  httpServer.close();
  setTimeout(() => process.exit(code), 100).unref();
}

process.stdin.on("end", () => stop(0));
process.stdin.resume();
setTimeout(() => {
  emit({ event: "timeout" });
  stop(0);
}, 30000).unref();

httpServer.listen(port, "127.0.0.1", () => {
  emit({ event: "listening", port: httpServer.address().port });
});
