// Shared plumbing of the socket.io-client scenarios that
// e2e/interop/sio_test.go runs against our Go Socket.IO server.
//
// Every scenario script is run as
//
//	node sio/<scenario>.mjs <server-url> <mode> [scenario arguments...]
//
// (or with SIO_URL / SIO_MODE in the environment), where mode is one of
// "polling", "websocket" or "upgrade" (polling first, then upgrade to
// websocket). It prints one JSON object per line on stdout for everything it
// observes, ends with {"event":"done"} and exit status 0 on success, or with
// {"event":"fail","message":...} (also written to stderr) and exit status 1.
// A watchdog ends the script with a failure after SIO_SCRIPT_TIMEOUT_MS
// (default 10000) milliseconds, or the time a scenario sets with watchdog().
//
// Binary values are printed tagged (see tag): a Buffer as {"$buf":"<hex>"},
// so that the Go side can compare what the client received exactly.
//
// The Go server of the tests answers the event "transport?" with the name of
// the Engine.IO transport it sees (Session.Transport()); checkTransport uses
// it to prove both ends agree on the final transport of the mode.

import { Manager } from "socket.io-client";

export const MODES = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
};

let finished = false;

/** Prints one observation as a JSON line. */
export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/** Ends the script with a failure. */
export function fail(message) {
  if (finished) return;
  finished = true;
  const text = message instanceof Error ? message.stack || message.message : String(message);
  emit({ event: "fail", message: text });
  process.stderr.write(`FAIL: ${text}\n`);
  process.exit(1);
}

let timer = null;

/** (Re)arms the watchdog: the script fails unless done() runs within ms. */
export function watchdog(ms) {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => fail(`scenario timed out after ${ms} ms`), ms);
}
watchdog(Number(process.env.SIO_SCRIPT_TIMEOUT_MS || 10000));

/**
 * Ends the script successfully. The process is left to exit on its own so
 * that requests still in flight (a polling close packet, say) complete; a
 * timer forces the exit if something keeps the event loop alive.
 */
export function done(extra = {}) {
  if (finished) return;
  finished = true;
  emit({ event: "done", ...extra });
  clearTimeout(timer);
  process.exitCode = 0;
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on("unhandledRejection", (err) => fail(err));
process.on("uncaughtException", (err) => fail(err));

/** Reads the server URL, the transport mode and the scenario arguments. */
export function args() {
  const url = process.argv[2] || process.env.SIO_URL;
  const mode = process.argv[3] || process.env.SIO_MODE;
  if (!url) fail("usage: node <script> <server-url> <polling|websocket|upgrade> [args...]: missing server URL");
  if (!MODES[mode]) fail(`unknown mode ${JSON.stringify(mode)}: want polling, websocket or upgrade`);
  return {
    url,
    mode,
    transports: MODES[mode],
    finalTransport: mode === "polling" ? "polling" : "websocket",
    rest: process.argv.slice(4),
  };
}

/**
 * Returns a printable form of a received value: Buffers, ArrayBuffers and
 * typed arrays become {"$buf"|"$ab"|"$<Class>": "<hex>"}, undefined becomes
 * {"$undefined":true}, an Error {"$error": message}; the rest is kept.
 */
export function tag(v) {
  if (v === undefined) return { $undefined: true };
  if (Buffer.isBuffer(v)) return { $buf: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $ab: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) {
    return { [`$${v.constructor.name}`]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  }
  if (v instanceof Error) return { $error: v.message };
  if (Array.isArray(v)) return v.map(tag);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = tag(v[k]);
    return o;
  }
  return v;
}

/**
 * Returns a new Manager (its own Engine.IO connection) on the mode's
 * transports. Reconnection is off unless opts turn it on.
 */
export function manager(opts = {}) {
  const a = args();
  return new Manager(a.url, { transports: a.transports, reconnection: false, ...opts });
}

/**
 * Opens the socket of namespace nsp on mgr and resolves once it is
 * connected; rejects with the connect_error. who names it in the output.
 */
export function connect(mgr, nsp = "/", opts = {}, who = nsp) {
  const socket = mgr.socket(nsp, opts);
  watch(socket, who);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(err));
  });
}

/** Prints the connect, connect_error and disconnect events of a socket. */
export function watch(socket, who) {
  const nsp = socket.nsp;
  socket.on("connect", () =>
    emit({ event: "connect", who, nsp, id: socket.id, engineId: socket.io.engine.id, transport: socket.io.engine.transport.name }),
  );
  socket.on("connect_error", (err) =>
    emit({ event: "connect_error", who, nsp, message: err.message, data: tag(err.data) }),
  );
  socket.on("disconnect", (reason, description) =>
    emit({ event: "disconnect", who, nsp, reason, description: description && description.description }),
  );
}

/** Resolves with the arguments of the next emission of ev on emitter. */
export function once(emitter, ev) {
  return new Promise((resolve) => emitter.once(ev, (...a) => resolve(a)));
}

/** Resolves after ms milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once mgr's Engine.IO connection runs on websocket. */
export function waitUpgrade(mgr) {
  const eng = mgr.engine;
  if (eng.transport.name === "websocket") return Promise.resolve();
  return new Promise((resolve, reject) => {
    eng.once("upgrade", () => resolve());
    eng.once("upgradeError", (err) => reject(new Error(`upgradeError: ${err.message}`)));
    eng.once("close", (reason) => reject(new Error(`engine closed (${reason}) before the upgrade`)));
  });
}

/**
 * In upgrade mode waits for the upgrade; then asks the server (through
 * socket, which must be connected) which transport it sees and prints
 * {"event":"transport","who","client","server"}.
 */
export async function checkTransport(mgr, socket, who = socket.nsp) {
  const { mode } = args();
  if (mode === "upgrade") await waitUpgrade(mgr);
  const server = await socket.timeout(3000).emitWithAck("transport?");
  emit({ event: "transport", who, client: mgr.engine.transport.name, server });
}

/** Disconnects the socket and resolves once its disconnect event ran. */
export function disconnect(socket) {
  if (!socket.connected) return Promise.resolve();
  const p = once(socket, "disconnect");
  socket.disconnect();
  return p;
}
