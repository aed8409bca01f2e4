// Scenario "connect": one Manager (one Engine.IO connection) opens "/"
// without auth and "/custom" with an auth payload. The server answers the
// event "whoami" with its Socket.ID(), namespace and Handshake().Auth.
//
// Prints "connect" for each socket (id, engineId), "whoami" with the
// server's answer, the transport check, then disconnects both.
import { checkTransport, connect, disconnect, done, emit, manager } from "./lib.mjs";

const AUTH = { token: "s3cr3t", n: 7, nested: { ok: true, list: [1, "two", null] } };

const mgr = manager();
const root = await connect(mgr, "/", {}, "root");
const custom = await connect(mgr, "/custom", { auth: AUTH }, "custom");

for (const [who, s] of [["root", root], ["custom", custom]]) {
  const answer = await s.timeout(3000).emitWithAck("whoami");
  emit({ event: "whoami", who, id: s.id, data: answer });
}
await checkTransport(mgr, root, "root");
await checkTransport(mgr, custom, "custom");

await disconnect(custom);
await disconnect(root);
done();
