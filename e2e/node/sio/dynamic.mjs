// Scenario "dynamic": the server declares OfRegexp(^/dyn-\d+$), whose
// connection handler emits "hello" with the child's name. The client
// connects "/", "/dyn-1" and "/dyn-2" on one Manager and is refused
// "/dyn-x". Then it asks the server (event "parent-emit" on "/") to emit
// "from-parent" through the ParentNamespace: both children get it, "/" not.
import { checkTransport, connect, disconnect, done, emit, fail, manager, once, sleep, tag } from "./lib.mjs";

const mgr = manager();
const root = await connect(mgr, "/", {}, "root");
const socks = {};
for (const nsp of ["/dyn-1", "/dyn-2"]) {
  const s = mgr.socket(nsp);
  const hello = once(s, "hello");
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", reject);
  });
  emit({ event: "connect", who: nsp, nsp, id: s.id });
  const a = await hello;
  emit({ event: "hello", who: nsp, args: tag(a) });
  socks[nsp] = s;
}
try {
  const s = await connect(mgr, "/dyn-x", {}, "/dyn-x");
  fail(`/dyn-x connected with id ${s.id}, want a connect_error`);
} catch (err) {
  emit({ event: "refused", who: "/dyn-x", message: err.message, data: tag(err.data) });
}

const got = [];
for (const [who, s] of [["root", root], ...Object.entries(socks)]) {
  s.on("from-parent", (...a) => got.push({ who, a }));
}
const ack = await root.timeout(3000).emitWithAck("parent-emit");
await sleep(200); // nothing else may arrive
for (const g of got) emit({ event: "from-parent", who: g.who, args: tag(g.a) });
emit({ event: "parent-emit-ack", who: "root", data: ack });

await checkTransport(mgr, root, "root");
for (const s of Object.values(socks)) await disconnect(s);
await disconnect(root);
done();
