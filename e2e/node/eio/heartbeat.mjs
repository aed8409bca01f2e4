// Scenario "heartbeat": a client that answers pings stays connected across
// several ping intervals, and the session still carries messages after.
import { connect, done, emit, fail } from "./lib.mjs";

const WANT_PINGS = 3;
const { c, mode, finalTransport } = await connect();
await c.checkTransport(mode, finalTransport);

let waiting = true;
c.closed.then((info) => {
  if (waiting) fail(`closed (${info.reason}) after ${c.pings} pings, want to survive ${WANT_PINGS}`);
});
await new Promise((resolve) => {
  if (c.pings >= WANT_PINGS) return resolve();
  c.socket.on("ping", () => c.pings >= WANT_PINGS && resolve());
});
waiting = false;
emit({ event: "survived", pings: c.pings });

c.socket.send("still-here");
await c.expect("still-here", "echo after heartbeats");
c.socket.close();
const info = await c.closed;
done({ closeReason: info.reason, pings: c.pings });
