// Scenario "rooms": three clients A, B, C on their own Managers join rooms
// through the event "join" (acked with s.Rooms()): A r1, B r1 and r2, C r2.
// A then asks the server ("do-broadcasts", with B's id) to run a fixed list
// of broadcasts (see TestSIORooms), each emitting "m" with its label, the
// last one io.Emit("m", "end"). Every client prints the labels it got, in
// order, up to "end".
import { checkTransport, connect, disconnect, done, emit, manager } from "./lib.mjs";

const plan = { A: ["r1"], B: ["r1", "r2"], C: ["r2"] };
const clients = {};
for (const who of Object.keys(plan)) {
  const mgr = manager();
  const s = await connect(mgr, "/", {}, who);
  const got = [];
  const end = new Promise((resolve) => {
    s.on("m", (label) => {
      got.push(label);
      if (label === "end") resolve(got);
    });
  });
  clients[who] = { mgr, s, end };
}
for (const [who, c] of Object.entries(clients)) {
  await checkTransport(c.mgr, c.s, who);
  const rooms = await c.s.timeout(3000).emitWithAck("join", plan[who]);
  emit({ event: "rooms", who, id: c.s.id, data: rooms });
}

await clients.A.s.timeout(5000).emitWithAck("do-broadcasts", { b: clients.B.s.id });
for (const [who, c] of Object.entries(clients)) {
  emit({ event: "received", who, data: await c.end });
}
for (const c of Object.values(clients)) await disconnect(c.s);
done();
