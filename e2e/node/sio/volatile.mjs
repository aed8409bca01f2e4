// Scenario "volatile": volatile events to an idle client.
//
// Once the connection is settled (upgraded in upgrade mode) and idle for a
// moment, the client emits "volatile-please" with a kind; the server
// answers with one volatile "v" (kind "broadcast": io.Volatile().Emit;
// kind "socket": s.Volatile().Emit) and then the normal event "after".
// The client prints the "v" it got before "after" (a volatile event may be
// dropped only when the transport is busy: over websocket, to an idle
// client, it must arrive).
// Then the client emits a volatile "cv" itself (client-side volatile flag)
// and asks the server with "cv-count?" how many "cv" it got.
import { checkTransport, connect, disconnect, done, emit, manager, once, sleep } from "./lib.mjs";

const mgr = manager();
const s = await connect(mgr, "/", {}, "root");
await checkTransport(mgr, s, "root");

let vs = [];
s.on("v", (label) => vs.push(label));
for (const kind of ["broadcast", "socket"]) {
  await sleep(150); // idle
  vs = [];
  const after = once(s, "after");
  s.emit("volatile-please", kind);
  const [a] = await after;
  emit({ event: "volatile", who: kind, data: { v: vs, after: a } });
}

await sleep(150); // idle again
s.volatile.emit("cv", 1);
const count = await s.timeout(3000).emitWithAck("cv-count?");
emit({ event: "client-volatile", who: "root", count });

await checkTransport(mgr, s, "root");
emit({ event: "state", who: "root", data: { connected: s.connected } });
await disconnect(s);
done();
