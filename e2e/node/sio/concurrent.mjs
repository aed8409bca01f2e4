// Scenario "concurrent": 50 clients, each on its own Manager, connect at
// once; each emits 20 acked "work" events ({client, n}) without waiting in
// between, the server acking each with {client, n, sid}; then "serve-me",
// for which the server runs 20 s.Timeout(3s).EmitWithAck("task", n) one
// after the other (the client answers n * 2 and its index) before acking
// with how many answers were right.
import { checkTransport, connect, disconnect, done, emit, manager, watchdog } from "./lib.mjs";

watchdog(16000);
const C = 50;
const M = 20;

async function client(i) {
  const mgr = manager();
  const s = await connect(mgr, "/", {}, `c${i}`);
  s.on("task", (n, ack) => ack(n * 2, i));
  const acks = await Promise.all(
    Array.from({ length: M }, (_, n) => s.timeout(8000).emitWithAck("work", { client: i, n })),
  );
  let good = 0;
  for (const [n, a] of acks.entries()) {
    if (a && a.client === i && a.n === n && a.sid === s.id) good++;
  }
  const served = await s.timeout(8000).emitWithAck("serve-me");
  await checkTransport(mgr, s, `c${i}`);
  emit({ event: "client", who: `c${i}`, id: s.id, count: good, data: served });
  await disconnect(s);
}

await Promise.all(Array.from({ length: C }, (_, i) => client(i)));
done();
