// Scenario "onany": catch-all listeners on both sides.
//
// The client emits "a" (1, "two", {three: 3}), "b" (no argument), "c" (["x"])
// with an ack, "d" (a Buffer); the server's OnAny logs each event with its
// arguments. Then "emit-to-me" (acked): the server emits "s1" (1), "s2"
// ({"x": [1, 2]}), "s3" (no argument) and "s4" ([]byte{9}), which the
// client's onAny prints.
import { checkTransport, connect, disconnect, done, emit, manager, tag } from "./lib.mjs";

const mgr = manager();
const s = await connect(mgr, "/", {}, "root");
const seen = [];
s.onAny((event, ...args) => seen.push({ name: event, args: tag(args) }));

s.emit("a", 1, "two", { three: 3 });
s.emit("b");
const c = await s.timeout(3000).emitWithAck("c", ["x"]);
emit({ event: "ack", who: "c", args: tag([c]) });
s.emit("d", Buffer.from([1, 2]));
await s.timeout(3000).emitWithAck("emit-to-me");
for (const e of seen) emit({ event: "any", who: "root", name: e.name, args: e.args });

await checkTransport(mgr, s, "root");
await disconnect(s);
done();
