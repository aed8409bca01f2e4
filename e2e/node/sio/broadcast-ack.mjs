// Scenario "broadcast-ack": 5 clients, each on its own Manager. Every client
// answers the server's "collect" event with ("client-<i>", i), except
// client 4 when the event's argument is "one-silent".
//
// Client 0 asks the server (event "collect-all", acked when done) to run
// io.Timeout(2s).EmitWithAck("collect", phase) for the phases "all" and
// "one-silent"; the server acks each request with
// {"responses": [...sorted], "error": "..."}.
import { checkTransport, connect, disconnect, done, emit, manager, tag } from "./lib.mjs";

const N = 5;
const clients = [];
for (let i = 0; i < N; i++) {
  const mgr = manager();
  const s = await connect(mgr, "/", {}, `c${i}`);
  s.on("collect", (phase, ack) => {
    emit({ event: "collect", who: `c${i}`, args: tag([phase]) });
    if (phase === "one-silent" && i === N - 1) return;
    ack(`client-${i}`, i);
  });
  clients.push({ mgr, s });
}
for (const [i, c] of clients.entries()) await checkTransport(c.mgr, c.s, `c${i}`);

for (const phase of ["all", "one-silent"]) {
  const t0 = Date.now();
  const res = await clients[0].s.timeout(6000).emitWithAck("collect-all", phase);
  emit({ event: "collected", who: phase, data: res, count: Date.now() - t0 });
}

for (const c of clients) await disconnect(c.s);
done();
