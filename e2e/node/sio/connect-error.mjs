// Scenario "connect-error": "/" connects, then a second socket on the same
// Manager asks for the namespace given as argument, with an auth payload,
// and must get a connect_error (a middleware refusal, or "Invalid
// namespace"). "/" must stay connected and usable afterwards.
//
//	node sio/connect-error.mjs <url> <mode> <namespace>
import { args, checkTransport, connect, disconnect, done, emit, fail, manager, sleep, tag } from "./lib.mjs";

const nsp = args().rest[0];
if (!nsp) fail("missing namespace argument");

const mgr = manager();
const root = await connect(mgr, "/", {}, "root");
try {
  const s = await connect(mgr, nsp, { auth: { user: "mallory" } }, "refused");
  fail(`namespace ${nsp} connected with id ${s.id}, want a connect_error`);
} catch (err) {
  emit({ event: "refused", who: "refused", nsp, message: err.message, data: tag(err.data) });
}
// A refused socket is not retried: give it time to misbehave.
await sleep(300);
emit({ event: "state", who: "root", data: { rootConnected: root.connected, engine: mgr.engine.readyState } });
await checkTransport(mgr, root, "root");
await disconnect(root);
done();
