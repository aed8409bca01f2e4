// Scenario "echo": the server echoes every message with Session.Send(data, binary).
//
//  1. right after open, 100 numbered text messages in one burst; their echoes
//     must come back complete and in order (in upgrade mode this burst
//     crosses the upgrade to websocket on purpose);
//  2. both ends agree on the final transport (see Client.checkTransport);
//  3. text, UTF-8 text, binary (Uint8Array, Buffer) and large messages, sent
//     together, come back equal, in order, text as string and binary as Buffer;
//  4. the client closes.
import { connect, done, emit } from "./lib.mjs";

const { c, mode, finalTransport } = await connect();

const N = 100;
for (let i = 0; i < N; i++) c.socket.send(`seq:${i}`);
for (let i = 0; i < N; i++) await c.expect(`seq:${i}`, `ordered message ${i}`);
emit({ event: "ordered", count: N });

await c.checkTransport(mode, finalTransport);

const big = new Uint8Array(2048);
for (let i = 0; i < big.length; i++) big[i] = i % 256;
const items = [
  "hello",
  "€😀",
  new Uint8Array([1, 2, 3, 4]),
  Buffer.from([0, 255, 128, 10]),
  "€".repeat(1000), // 3000 bytes of UTF-8: above the 1024-byte compression threshold
  big,
];
for (const item of items) c.socket.send(item);
for (const [i, item] of items.entries()) await c.expect(item, `echo ${i}`);
emit({ event: "echoed", count: items.length });

c.socket.close();
const info = await c.closed;
done({ closeReason: info.reason });
