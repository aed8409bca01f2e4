// Scenario "reserved": reserved event names sent by a client.
//
// socket.io-client refuses to emit them itself (socket.emit throws); a
// client that bypasses that check (here: socket.packet, the method emit
// uses) sends an EVENT packet named "disconnecting", "disconnect",
// "connect", "connect_error", "newListener" or "removeListener". For each
// name, on a fresh Manager: connect, check the transport, send it, and
// print how the connection ends (the Node.js server closes it: the decoder
// refuses the packet).
import { checkTransport, connect, done, emit, manager, once, sleep } from "./lib.mjs";

const NAMES = ["disconnecting", "disconnect", "connect", "connect_error", "newListener", "removeListener"];
for (const name of NAMES) {
  const mgr = manager();
  const s = await connect(mgr, "/", {}, name);
  await checkTransport(mgr, s, name);
  try {
    s.emit(name, "x");
    emit({ event: "client-emit", who: name, message: "no error" });
  } catch (err) {
    emit({ event: "client-emit", who: name, message: err.message });
  }
  const closed = once(s, "disconnect");
  s.packet({ type: 2, data: [name, "x"] });
  const [reason] = await Promise.race([closed, sleep(2000).then(() => ["still connected"])]);
  emit({ event: "ended", who: name, reason });
  s.disconnect();
}
done();
