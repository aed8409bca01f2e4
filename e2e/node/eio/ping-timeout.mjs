// Scenario "ping-timeout": the client receives the server's pings but never
// answers them, so the server must close the session with "ping timeout"
// pingTimeout after its first ping.
//
// engine.io-client answers a ping in Socket._onPacket by calling
// this._sendPacket("pong"); wrapping _sendPacket on this one instance drops
// exactly those pongs and nothing else (the upgrade probe "2probe"/"3probe"
// goes through transport.send directly and is untouched).
//
// The client also runs its own watchdog (pingInterval + pingTimeout after the
// last ping it saw). It is stretched here, so that the close the script sees
// can only come from the server.
import { connect, done, emit, fail } from "./lib.mjs";

const { c, mode } = await connect();
const s = c.socket;

let dropped = 0;
let firstDropAt = 0;
const sendPacket = s._sendPacket;
if (typeof sendPacket !== "function") fail("engine.io-client has no Socket._sendPacket to wrap");
s._sendPacket = function (type, ...rest) {
  if (type === "pong") {
    dropped++;
    if (!firstDropAt) firstDropAt = Date.now();
    emit({ event: "pong-dropped", n: dropped });
    return;
  }
  return sendPacket.call(this, type, ...rest);
};
s._pingTimeout = 60000; // the client's own deadline; the server's is what we test

const info = await c.closed;
const afterPingMs = firstDropAt ? Date.now() - firstDropAt : -1;
if (!dropped) fail(`closed (${info.reason}) before any ping arrived`);
if (mode === "upgrade" && c.upgradedTo !== "websocket") fail(`closed before the upgrade to websocket completed`);
emit({ event: "timed-out", pings: c.pings, dropped, afterPingMs });
done({ closeReason: info.reason });
