// Scenario "acks": acknowledgements both ways, with timeouts.
//
// Client -> server (the server's "add" handler is Func2[string, int] and acks
// with (a + "!", b * 2); its "ignore" handler never acks):
//   - emit with an ack callback;
//   - timeout(3000).emitWithAck, answered;
//   - timeout(300).emitWithAck("ignore"), never answered: the client's
//     "operation has timed out" error.
// Server -> client, on "ask-me" (the server then acks "ask-me" with its
// results):
//   - s.Timeout(2s).EmitWithAck("question", 5): the client answers (n * 10, "ok");
//   - s.Timeout(300ms).EmitWithAck("silent", 1): the client never answers.
import { checkTransport, connect, disconnect, done, emit, manager, tag } from "./lib.mjs";

const mgr = manager();
const s = await connect(mgr, "/", {}, "root");

const cb = await new Promise((resolve) => s.emit("add", "x", 21, (...a) => resolve(a)));
emit({ event: "ack", who: "callback", args: tag(cb) });

const r = await s.timeout(3000).emitWithAck("add", "y", 1);
emit({ event: "ack", who: "emitWithAck", args: tag([r]) });

const t0 = Date.now();
try {
  const v = await s.timeout(300).emitWithAck("ignore", "nobody answers");
  emit({ event: "ack", who: "ignore", args: tag([v]) });
} catch (err) {
  emit({ event: "ack-error", who: "ignore", message: err.message, count: Date.now() - t0 });
}

s.on("question", (n, ack) => {
  emit({ event: "question", who: "root", args: tag([n]) });
  ack(n * 10, "ok");
});
s.on("silent", (n, ack) => {
  emit({ event: "silent", who: "root", args: tag([n]), data: typeof ack });
});
const results = await s.timeout(5000).emitWithAck("ask-me");
emit({ event: "server-results", who: "root", data: results });

await checkTransport(mgr, s, "root");
await disconnect(s);
done();
