// Scenario "msgpack": the client uses the parser of socket.io-msgpack-parser
// against our server with ServerOptions.Parser = msgpack.Default.
//
//   - "/" and "/custom" (with auth) connect; "whoami" is acked with the
//     socket id, namespace and auth the server saw;
//   - "mp" (1, "two", {bin: Buffer, arr: [true, null, 1.5], nested: {deep:
//     Buffer}}) with an ack: the server binds it into Go values, relays the
//     Raw arguments as "mp-echo" and acks with ("ok", []byte{9, 8},
//     the third argument relayed);
//   - "ask-me": the server runs s.Timeout(2s).EmitWithAck("mp-q", []byte{7},
//     42), the client answers (Buffer [1], "x"), and the server acks
//     "ask-me" with what it decoded.
import msgpackParser from "socket.io-msgpack-parser";
import { checkTransport, connect, disconnect, done, emit, manager, once, tag } from "./lib.mjs";

const mgr = manager({ parser: msgpackParser });
const root = await connect(mgr, "/", {}, "root");
const custom = await connect(mgr, "/custom", { auth: { token: "mp", n: 3 } }, "custom");
for (const [who, s] of [["root", root], ["custom", custom]]) {
  const answer = await s.timeout(3000).emitWithAck("whoami");
  emit({ event: "whoami", who, id: s.id, data: tag(answer) });
}

const echo = once(root, "mp-echo");
const third = { bin: Buffer.from([1, 2, 3]), arr: [true, null, 1.5], nested: { deep: Buffer.from([0xff, 0]) } };
const ack = await new Promise((resolve) => root.emit("mp", 1, "two", third, (...a) => resolve(a)));
emit({ event: "mp-ack", who: "root", args: tag(ack) });
emit({ event: "mp-echo", who: "root", args: tag(await echo) });

root.on("mp-q", (b, n, cb) => {
  emit({ event: "mp-q", who: "root", args: tag([b, n]) });
  cb(Buffer.from([1]), "x");
});
const asked = await root.timeout(5000).emitWithAck("ask-me");
emit({ event: "asked", who: "root", data: tag(asked) });

await checkTransport(mgr, root, "root");
await checkTransport(mgr, custom, "custom");
await disconnect(custom);
await disconnect(root);
done();
