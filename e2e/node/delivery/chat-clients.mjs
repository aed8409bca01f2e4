// N official socket.io-client clients of the delivery test
// (e2e/delivery/jsfleet_test.go): each sends chat messages, as the
// socket.io tutorial's client does (step 8: retries with ackTimeout, each
// message with its own client offset), and records every "chat message"
// it receives, raw (repeats included).
//
//	node delivery/chat-clients.mjs <url> <polling|websocket> <clients> <messages-per-client>
//	     <interval-ms> <retries> <ack-timeout-ms> <lifetime-ms> [epoch-ms]
//
// Times ("at", "receivedAt") are milliseconds since epoch-ms (a Unix time
// in ms; default: the start of the script), so that the Go side can put
// them on its own timeline.
// retries 0 means plain emits without acknowledgement (the tutorial before
// step 8). The script is driven through stdin, one command a line:
//   start  every client starts sending, one message every interval-ms
//   stop   every client reports what it received and disconnects; exit
// It prints JSON lines on stdout:
//   {"event":"connect","who","id","recovered","at"} / {"event":"disconnect","who","reason","at"}
//   {"event":"ready"}                          once every client is connected
//   {"event":"progress","clients":[{"who","sent","raw","distinct"}]}  every 100 ms once started
//   {"event":"result","who","sent","received":[ids...],"receivedAt":[ms...],"connects","recoveries","disconnects":{reason:n}}
//   {"event":"done"}                           last, exit status 0
// or {"event":"fail","message"} and exit status 1. The script ends itself
// after lifetime-ms, and when its stdin closes.

import { io } from "socket.io-client";
import readline from "node:readline";

const [url, transport, nClients, perClient, intervalMs, retries, ackTimeout, lifetime, epoch] = process.argv.slice(2);
const N = Number(nClients);
const M = Number(perClient);
const INTERVAL = Number(intervalMs);
const RETRIES = Number(retries);
const ACK_TIMEOUT = Number(ackTimeout);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

let finished = false;
function fail(message) {
  if (finished) return;
  finished = true;
  const text = message instanceof Error ? message.stack || message.message : String(message);
  out({ event: "fail", message: text });
  process.stderr.write(`FAIL: ${text}\n`);
  process.exit(1);
}
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);
if (!url || !["polling", "websocket"].includes(transport) || !(N > 0) || !(M > 0)) {
  fail(`usage: chat-clients.mjs <url> <polling|websocket> <clients> <messages> <interval-ms> <retries> <ack-timeout-ms> <lifetime-ms>; got ${process.argv.slice(2).join(" ")}`);
}
setTimeout(() => fail(`no stop within ${lifetime} ms`), Number(lifetime) || 60000).unref();

const t0 = Number(epoch) || Date.now();
const clients = [];
for (let i = 0; i < N; i++) {
  const name = `js${i}`;
  const opts = {
    forceNew: true,
    transports: [transport],
    upgrade: false,
    reconnectionDelay: 50,
    reconnectionDelayMax: 500,
    timeout: 2000,
    auth: { name },
  };
  if (RETRIES > 0) {
    opts.retries = RETRIES;
    opts.ackTimeout = ACK_TIMEOUT;
  }
  const socket = io(url, opts);
  const c = { name, socket, sent: 0, received: [], receivedAt: [], distinct: new Set(), connects: 0, recovered: 0, disconnects: {} };
  socket.on("connect", () => {
    c.connects++;
    if (socket.recovered) c.recovered++;
    out({ event: "connect", who: name, id: socket.id, recovered: socket.recovered, at: Date.now() - t0 });
    checkReady();
  });
  socket.on("disconnect", (reason) => {
    c.disconnects[reason] = (c.disconnects[reason] || 0) + 1;
    out({ event: "disconnect", who: name, reason, at: Date.now() - t0 });
  });
  socket.on("chat message", (msg, id) => {
    c.received.push(id);
    c.receivedAt.push(Date.now() - t0);
    c.distinct.add(id);
  });
  clients.push(c);
}

let ready = false;
function checkReady() {
  if (!ready && clients.every((c) => c.connects > 0)) {
    ready = true;
    out({ event: "ready" });
  }
}

let progressTimer = null;
function start() {
  for (const c of clients) {
    const begin = Date.now();
    let k = 0;
    const next = () => {
      if (k >= M || finished) return;
      const clientOffset = `${c.name}-${k}`;
      // Buffered while disconnected; with retries, queued until acknowledged.
      c.socket.emit("chat message", `hello from ${clientOffset}`, clientOffset);
      c.sent++;
      k++;
      setTimeout(next, Math.max(0, begin + k * INTERVAL - Date.now()));
    };
    next();
  }
  progressTimer = setInterval(() => {
    out({
      event: "progress",
      clients: clients.map((c) => ({ who: c.name, sent: c.sent, raw: c.received.length, distinct: c.distinct.size })),
    });
  }, 100);
}

function stop() {
  if (finished) return;
  finished = true;
  clearInterval(progressTimer);
  for (const c of clients) {
    out({
      event: "result",
      who: c.name,
      sent: c.sent,
      received: c.received,
      receivedAt: c.receivedAt,
      connects: c.connects,
      recoveries: c.recovered,
      disconnects: c.disconnects,
    });
  }
  for (const c of clients) c.socket.disconnect();
  out({ event: "done" });
  process.exitCode = 0;
  setTimeout(() => process.exit(0), 1000).unref();
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const cmd = line.trim();
  if (cmd === "start") start();
  else if (cmd === "stop") stop();
  else if (cmd) fail(`unknown command ${JSON.stringify(cmd)}`);
});
rl.on("close", () => {
  if (!finished) fail("stdin closed before stop");
});
