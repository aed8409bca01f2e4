// Shared plumbing of the cluster scripts (node-server.js, clients.js,
// emitter.js), driven by the Go tests of adapter/redis/e2e.
//
// Every script reads commands from stdin, one JSON object per line, each
// with a numeric "id" and a "cmd", and answers each with one line
// {"event":"reply","id":N,"ok":true,...} or {"event":"reply","id":N,
// "ok":false,"error":"..."}. Everything else it observes is printed as one
// JSON object per line too. A script stops when its stdin closes, on the
// command {"cmd":"exit"}, or after lifetimeMs (a safety net: the Go side
// kills it in t.Cleanup anyway).

import { createInterface } from "node:readline";

export function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// installFailHandlers makes an uncaught exception end the process with a
// "fail" line. An unhandled rejection does too, unless logRejections: then
// it is printed as an "unhandled-rejection" line and the process goes on.
// (The official adapters leave some Redis promises unhandled: a command
// pending when the Redis connection breaks rejects with ECONNRESET, which
// would end a Node.js process with the default settings. A production
// server keeps running in that case, and so does the node of the tests.)
export function installFailHandlers({ logRejections = false } = {}) {
  const text = (err) => (err instanceof Error ? err.stack || err.message : String(err));
  const fail = (err) => {
    out({ event: "fail", message: text(err) });
    process.stderr.write(`FAIL: ${text(err)}\n`);
    process.exit(1);
  };
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", logRejections ? (err) => out({ event: "unhandled-rejection", message: text(err) }) : fail);
}

// Binary values travel through JSON as {"$bin":"<hex>"}: tag turns Buffers
// (and ArrayBuffers, typed arrays) into that form, untag turns it back into
// Buffers.
export function tag(v) {
  if (v === undefined) return { $undefined: true };
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(tag);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = tag(v[k]);
    return o;
  }
  return v;
}

export function untag(v) {
  if (Array.isArray(v)) return v.map(untag);
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$bin" && typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    const o = {};
    for (const k of keys) o[k] = untag(v[k]);
    return o;
  }
  return v;
}

/** Splits the trailing acknowledgement callback off an event's arguments. */
export function split(args) {
  if (args.length && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, null];
}

function errorText(e) {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Runs the command loop: handlers maps a command name to an async function
 * of the command object returning the fields of the reply. onExit is called
 * before the process exits (stdin closed, "exit" command or lifetime over).
 */
export function commandLoop(handlers, onExit, lifetimeMs = 180000) {
  let exiting = false;
  const exit = async (why) => {
    if (exiting) return;
    exiting = true;
    try {
      await Promise.race([onExit(), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      // the process ends anyway
    }
    out({ event: "closed", why });
    process.exit(0);
  };
  const rl = createInterface({ input: process.stdin });
  rl.on("line", async (text) => {
    text = text.trim();
    if (!text) return;
    let c;
    try {
      c = JSON.parse(text);
    } catch (e) {
      out({ event: "bad-command", text, error: errorText(e) });
      return;
    }
    if (c.cmd === "exit") {
      out({ event: "reply", id: c.id, ok: true });
      exit("exit command");
      return;
    }
    const h = handlers[c.cmd];
    if (!h) {
      out({ event: "reply", id: c.id, ok: false, error: `unknown command ${c.cmd}` });
      return;
    }
    try {
      const res = (await h(c)) || {};
      out({ event: "reply", id: c.id, ok: true, ...res });
    } catch (e) {
      out({ event: "reply", id: c.id, ok: false, error: errorText(e) });
    }
  });
  rl.on("close", () => exit("stdin closed"));
  setTimeout(() => exit("lifetime over"), lifetimeMs).unref();
}
