// Shared plumbing of the engine.io-client scenarios that e2e/interop/eio_test.go runs.
//
// Every scenario script is run as
//
//	node eio/<scenario>.mjs <server-url> <mode>
//
// (or with EIO_URL / EIO_MODE in the environment), where mode is one of
// "polling", "websocket" or "upgrade" (polling first, then upgrade to websocket).
// It prints one JSON object per line on stdout for everything it observes,
// ends with {"event":"done"} and exit status 0 on success, or with
// {"event":"fail","message":...} (also written to stderr) and exit status 1.
// A watchdog ends the script with a failure after EIO_SCRIPT_TIMEOUT_MS
// (default 8000) milliseconds, so no scenario outlives ~10 s.

import { Socket } from "engine.io-client";

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

/**
 * Ends the script successfully. The process is left to exit on its own so
 * that requests still in flight (a polling close packet, say) complete; a
 * timer forces the exit if something keeps the event loop alive.
 */
export function done(extra = {}) {
  if (finished) return;
  finished = true;
  emit({ event: "done", ...extra });
  clearTimeout(watchdog);
  process.exitCode = 0;
  setTimeout(() => process.exit(0), 2000).unref();
}

const timeoutMs = Number(process.env.EIO_SCRIPT_TIMEOUT_MS || 8000);
const watchdog = setTimeout(() => fail(`scenario timed out after ${timeoutMs} ms`), timeoutMs);

process.on("unhandledRejection", (err) => fail(err));
process.on("uncaughtException", (err) => fail(err));

/** Reads the server URL and the transport mode from argv or the environment. */
export function args() {
  const url = process.argv[2] || process.env.EIO_URL;
  const mode = process.argv[3] || process.env.EIO_MODE;
  if (!url) fail("usage: node <script> <server-url> <polling|websocket|upgrade>: missing server URL");
  if (!MODES[mode]) fail(`unknown mode ${JSON.stringify(mode)}: want polling, websocket or upgrade`);
  return { url, mode, transports: MODES[mode], finalTransport: mode === "polling" ? "polling" : "websocket" };
}

/** Returns "text" or "binary" and a printable form of a message. */
export function describe(data) {
  if (typeof data === "string") return { kind: "text", data };
  if (Buffer.isBuffer(data)) return { kind: "binary", data: data.toString("hex"), class: "Buffer" };
  if (data instanceof ArrayBuffer) return { kind: "binary", data: Buffer.from(data).toString("hex"), class: "ArrayBuffer" };
  if (ArrayBuffer.isView(data)) {
    return {
      kind: "binary",
      data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex"),
      class: data.constructor.name,
    };
  }
  return { kind: typeof data, data: String(data) };
}

function describeClose(reason, description) {
  const out = { event: "close", reason };
  if (description instanceof Error) {
    out.description = description.message;
  } else if (description && typeof description === "object") {
    if (typeof description.description === "string") out.description = description.description;
    const ctx = description.context;
    if (ctx && typeof ctx.code === "number") out.closeCode = ctx.code;
  } else if (description !== undefined) {
    out.description = String(description);
  }
  return out;
}

/**
 * A connected engine.io-client Socket with every event printed and the
 * received messages queued, so a scenario can await them one by one.
 */
export class Client {
  constructor(url, transports, opts = {}) {
    this.inbox = [];
    this.waiter = null;
    this.closeInfo = null;
    this.upgradedTo = null;
    this.pings = 0;
    this.socket = new Socket(url, { transports, ...opts });
    const s = this.socket;

    this.opened = new Promise((resolve, reject) => {
      s.on("open", () => {
        emit({ event: "open", transport: s.transport.name });
        resolve();
      });
      s.on("close", (reason) => reject(new Error(`socket closed (${reason}) before it opened`)));
    });
    this.closed = new Promise((resolve) => {
      s.on("close", (reason, description) => {
        this.closeInfo = { ...describeClose(reason, description), transport: s.transport ? s.transport.name : null };
        emit(this.closeInfo);
        resolve(this.closeInfo);
        if (this.waiter) {
          const { reject } = this.waiter;
          this.waiter = null;
          reject(new Error(`socket closed (${reason}) while waiting for a message`));
        }
      });
    });
    this.upgraded = new Promise((resolve) => {
      s.on("upgrade", (transport) => {
        this.upgradedTo = transport.name;
        emit({ event: "upgrade", transport: transport.name });
        resolve(transport.name);
      });
    });
    this.opened.catch(() => {}); // reported through "close" and the awaiting scenario

    s.on("handshake", (h) => emit({ event: "handshake", ...h }));
    s.on("upgradeError", (err) => emit({ event: "upgradeError", message: err.message }));
    s.on("error", (err) => emit({ event: "error", message: err && err.message ? err.message : String(err) }));
    s.on("ping", () => {
      this.pings++;
      emit({ event: "ping", transport: s.transport.name });
    });
    s.on("message", (data) => {
      const m = describe(data);
      emit({ event: "message", ...m, transport: s.transport.name });
      if (this.waiter) {
        const { resolve } = this.waiter;
        this.waiter = null;
        resolve(m);
      } else {
        this.inbox.push(m);
      }
    });
  }

  /** Resolves with the new transport's name once upgraded; fails on a close before. */
  waitUpgrade() {
    return Promise.race([
      this.upgraded,
      this.closed.then((info) => {
        if (!this.upgradedTo) fail(`socket closed (${info.reason}) before the upgrade to websocket`);
      }),
    ]);
  }

  /** Resolves with the next message received ({kind, data}). */
  nextMessage() {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift());
    if (this.closeInfo) return Promise.reject(new Error(`socket closed (${this.closeInfo.reason}) while waiting for a message`));
    if (this.waiter) return Promise.reject(new Error("nextMessage called twice concurrently"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Awaits the next message and fails the scenario unless it equals want. */
  async expect(want, what = "message") {
    const got = await this.nextMessage();
    const w = describe(want);
    if (got.kind !== w.kind || got.data !== w.data) {
      fail(`${what}: expected ${w.kind} ${JSON.stringify(w.data)}, got ${got.kind} ${JSON.stringify(got.data)}`);
    }
    if (got.kind === "binary" && got.class !== "Buffer") {
      fail(`${what}: binary message arrived as ${got.class}, want Buffer (binaryType "nodebuffer")`);
    }
    return got;
  }

  /**
   * In upgrade mode waits for the upgrade; then asks the server, which answers
   * "transport?" with "transport:" + Session.Transport(), which transport it
   * sees, and checks both ends agree on the expected one.
   */
  async checkTransport(mode, want) {
    if (mode === "upgrade") await this.waitUpgrade();
    if (this.socket.transport.name !== want) {
      fail(`client transport is ${this.socket.transport.name}, want ${want}`);
    }
    this.socket.send("transport?");
    await this.expect(`transport:${want}`, "server transport");
    emit({ event: "transport", client: this.socket.transport.name, server: want });
  }
}

/** Connects with the transports of the mode and waits for the open event. */
export async function connect(opts = {}) {
  const a = args();
  const c = new Client(a.url, a.transports, opts);
  await c.opened;
  return { c, ...a };
}
