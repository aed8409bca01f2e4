// Scenario "binary": nested binary values both ways (JSON parser: binary
// attachments).
//
// The client emits "bin" with ({a: Buffer, b: [Buffer, {c: Uint8Array}]},
// "tail") and an ack. The server
//   - relays the arguments it received (its Raw values) as "bin-echo";
//   - binds them into a Go struct with []byte fields and emits "bin-go"
//     with a Go value built from them (a reversed, the lengths, and
//     []byte fields at several depths);
//   - acks with ([]byte{0xde,0xad}, {"k": []byte{0xbe,0xef}}).
// The client then emits "bin-back" with the "bin-go" value it got, acked by
// the server with what it bound from it.
import { checkTransport, connect, disconnect, done, emit, manager, once, tag } from "./lib.mjs";

const mgr = manager();
const s = await connect(mgr, "/", {}, "root");
await checkTransport(mgr, s, "root");

const echo = once(s, "bin-echo");
const fromGo = once(s, "bin-go");
const payload = {
  a: Buffer.from([1, 2, 3]),
  b: [Buffer.from([4, 5]), { c: Uint8Array.from([6, 7, 8]) }],
};
const ack = await new Promise((resolve) => s.emit("bin", payload, "tail", (...a) => resolve(a)));
emit({ event: "bin-ack", who: "root", args: tag(ack) });
emit({ event: "bin-echo", who: "root", args: tag(await echo) });
const go = await fromGo;
emit({ event: "bin-go", who: "root", args: tag(go) });

const back = await s.timeout(3000).emitWithAck("bin-back", go[0]);
emit({ event: "bin-back-ack", who: "root", args: tag([back]) });

// A large binary value: 100 KiB, both ways.
const big = Buffer.alloc(100 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256;
const bigBack = await s.timeout(5000).emitWithAck("big", big);
emit({
  event: "big",
  who: "root",
  data: { isBuffer: Buffer.isBuffer(bigBack), length: bigBack.length, equal: Buffer.isBuffer(bigBack) && bigBack.equals(big) },
});

await disconnect(s);
done();
