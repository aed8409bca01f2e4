// Scenario "order": 1000 events each way, in order, none lost.
//
// Right after connect (in upgrade mode, while the upgrade is under way) the
// client asks the server for 1000 "seq" events ("send-seq", 1000) and emits
// 1000 "seq" events itself, numbered 0..999. Then "seq-end" (acked by the
// server with the count it received and the first out-of-order index, -1
// when none). Prints what it received.
import { checkTransport, connect, disconnect, done, emit, manager } from "./lib.mjs";

const N = 1000;
const mgr = manager();
const s = await connect(mgr, "/", {}, "root");

const got = [];
const all = new Promise((resolve) => {
  s.on("seq", (i, text) => {
    got.push([i, text]);
    if (got.length === N) resolve();
  });
});
s.emit("send-seq", N);
for (let i = 0; i < N; i++) s.emit("seq", i, `c${i}`);
const serverSide = await s.timeout(8000).emitWithAck("seq-end");
await all;
let firstBad = -1;
for (let i = 0; i < got.length; i++) {
  if (got[i][0] !== i || got[i][1] !== `s${i}`) {
    firstBad = i;
    break;
  }
}
emit({ event: "client-received", who: "root", count: got.length, data: { firstBad } });
emit({ event: "server-received", who: "root", data: serverSide });

await checkTransport(mgr, s, "root");
await disconnect(s);
done();
