// The codec of the npm package socket.io-msgpack-parser (the version pinned
// in ../package.json), driven by e2e/interop/msgpack_test.go.
//
//	node msgpack/codec.mjs < requests.jsonl
//
// Every stdin line is one JSON request, answered by one JSON line on stdout,
// in order:
//
//	{"op":"encode","packet":{...}}  ->  {"op":"encode","hex":"..."}
//	{"op":"decode","hex":"..."}     ->  {"op":"decode","packet":{...},"keys":[...]}
//
// or {"op":...,"error":"..."} when the encoder or the decoder throws. The
// packet is the object the parser sees: its keys are set in the order they
// have in the request, so the bytes are those Node.js writes for a packet
// built in that order. "keys" lists the keys of the decoded object.
//
// Values JSON cannot carry are tagged objects, in both directions:
//
//	{"$bin":"<hex>"}        Buffer (msgpack bin)
//	{"$ab":"<hex>"}         ArrayBuffer (notepack 2.x in Node.js: ext of type 0)
//	{"$date":<ms>}          Date
//	{"$undefined":true}     undefined
//	{"$num":"NaN"|"Infinity"|"-Infinity"|"-0"}
//
// The run ends with {"event":"done"} and exit status 0 (requests that fail
// are answered, not fatal), or {"event":"fail",...} and status 1.

import { createInterface } from "node:readline";
import msgpackParser from "socket.io-msgpack-parser";

const { Encoder, Decoder } = msgpackParser;

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function fail(err) {
  const text = err instanceof Error ? err.stack || err.message : String(err);
  emit({ event: "fail", message: text });
  process.stderr.write(`FAIL: ${text}\n`);
  process.exit(1);
}

const watchdog = setTimeout(() => fail("timeout: stdin not closed"), 15000);

/** revive turns a request value into the JavaScript value it describes. */
function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v === null || typeof v !== "object") return v;
  if ("$bin" in v) return Buffer.from(v.$bin, "hex");
  if ("$ab" in v) {
    const b = Buffer.from(v.$ab, "hex");
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  }
  if ("$date" in v) return new Date(v.$date);
  if ("$undefined" in v) return undefined;
  if ("$num" in v) return v.$num === "-0" ? -0 : Number(v.$num);
  const out = {};
  for (const k of Object.keys(v)) out[k] = revive(v[k]);
  return out;
}

/** describe turns a decoded JavaScript value into its request form. */
function describe(v) {
  if (v === undefined) return { $undefined: true };
  if (typeof v === "number") {
    if (Number.isNaN(v) || !Number.isFinite(v)) return { $num: String(v) };
    if (Object.is(v, -0)) return { $num: "-0" };
    return v;
  }
  if (v === null || typeof v !== "object") return v;
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $ab: Buffer.from(v).toString("hex") };
  if (v instanceof Date) return { $date: v.getTime() };
  if (Array.isArray(v)) return v.map(describe);
  const out = {};
  for (const k of Object.keys(v)) out[k] = describe(v[k]);
  return out;
}

const encoder = new Encoder();

function handle(req) {
  switch (req.op) {
    case "encode": {
      const packet = {};
      for (const k of Object.keys(req.packet)) packet[k] = revive(req.packet[k]);
      const encoded = encoder.encode(packet);
      if (encoded.length !== 1) throw new Error(`encoder returned ${encoded.length} buffers`);
      return { op: "encode", hex: Buffer.from(encoded[0]).toString("hex") };
    }
    case "decode": {
      const decoder = new Decoder();
      let decoded;
      decoder.on("decoded", (p) => {
        decoded = p;
      });
      decoder.add(Buffer.from(req.hex, "hex"));
      return { op: "decode", packet: describe(decoded), keys: Object.keys(decoded) };
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(req.op)}`);
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    fail(`bad request line ${JSON.stringify(line)}: ${err.message}`);
  }
  try {
    emit(handle(req));
  } catch (err) {
    emit({ op: req.op, error: err instanceof Error ? err.message : String(err) });
  }
});
lines.on("close", () => {
  clearTimeout(watchdog);
  emit({ event: "done" });
});
process.on("uncaughtException", fail);
