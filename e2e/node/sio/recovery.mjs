// Scenario "recovery": connection state recovery of the official client
// against our server (e2e/interop/recovery_test.go holds the server side and
// the expectations):
//
//	node sio/recovery.mjs <url> <mode> <case> [arguments]
//
//   basic <drop>      setup (e1..e3), arm, drop, come back (round 1).
//   many              setup, then 5 rounds of arm, drop, come back; drops
//                     in turn server, engine, transport; each round
//                     reconnects on the next transport mode of
//                     websocket -> polling -> upgrade; then "live".
//   volatile          setup, the volatile "v" (last argument a string),
//                     arm, drop (engine), come back.
//   nooffset          join (no event at all), arm, drop (engine), come back.
//   manual <who>      setup, then socket.disconnect() (client) or the server
//                     runs s.Disconnect(false) (server); socket.connect().
//   expired           setup, drop (engine); the reconnection delay is 600ms.
//   stale <how> <pingInterval> <pingTimeout>
//                     setup; the server makes the connection go silent at
//                     the proxy ("stall"); with how=ping the client's
//                     pingTimeout is shortened to 100ms so that it gives up
//                     first; with how=half its side is reset. Come back,
//                     wait until the server closed the stale Engine.IO
//                     session ("stale-closed?"), then 2s, then "emit-me"
//                     late (round 2).
//
// Drops: server (the server closes the Engine.IO session: "kill"), engine
// (socket.io.engine.close()), transport (socket.io.engine.transport.close()).
//
// Output, besides lib.mjs's connect / disconnect lines:
//   {"event":"recv","name","args"}     every event received (onAny)
//   {"event":"report","count":round,"id","recovered","state"}
//                                      after each (re)connection; state is
//                                      the server's answer to "state?"
//   {"event":"transport","count":round,"client","server"}
import { MODES, args, disconnect, done, emit, fail, manager, once, sleep, tag, waitUpgrade, watch, watchdog } from "./lib.mjs";

const { mode, rest } = args();
const [which, variant] = rest;

const delay = which === "expired" ? 600 : 100;
const mgr = manager({ reconnection: true, reconnectionDelay: delay, reconnectionDelayMax: delay, randomizationFactor: 0 });
const socket = mgr.socket("/");
watch(socket, "root");
socket.onAny((name, ...a) => emit({ event: "recv", who: "root", name, args: tag(a) }));

const ask = (ev, ...a) => socket.timeout(3000).emitWithAck(ev, ...a);

async function report(round) {
  const state = await ask("state?");
  emit({ event: "report", who: "root", count: round, id: socket.id, recovered: socket.recovered, state });
}

async function checkTransport(round, modeName = mode) {
  if (modeName === "upgrade") await waitUpgrade(mgr);
  const server = await ask("transport?");
  emit({ event: "transport", who: "root", count: round, client: mgr.engine.transport.name, server });
}

/** Resolves at the next connect event (attach before causing it). */
function nextConnect() {
  return new Promise((resolve) => socket.once("connect", resolve));
}

/** Drops the transport one way and resolves once the socket is back. */
async function drop(kind) {
  const back = nextConnect();
  switch (kind) {
    case "server":
      socket.emit("kill");
      break;
    case "engine":
      socket.io.engine.close();
      break;
    case "transport":
      socket.io.engine.transport.close();
      break;
    default:
      fail(`unknown drop ${JSON.stringify(kind)}`);
  }
  await back;
}

/** The first connection, round 0. */
async function start(setup = "setup") {
  await once(socket, "connect");
  if (socket.recovered !== false) fail(`socket.recovered ${socket.recovered} on the first connection`);
  await ask(setup);
  await report(0);
  await checkTransport(0);
}

switch (which) {
  case "basic": {
    await start();
    await ask("arm", 1);
    await drop(variant);
    await report(1);
    await checkTransport(1);
    break;
  }
  case "many": {
    await start();
    const cycle = ["websocket", "polling", "upgrade"];
    const drops = ["server", "engine", "transport"];
    for (let round = 1; round <= 5; round++) {
      const next = cycle[(cycle.indexOf(mode) + round) % cycle.length];
      mgr.opts.transports = MODES[next]; // the Manager opens its next engine with these
      await ask("arm", round);
      await drop(drops[(round - 1) % drops.length]);
      if (round === 5) await ask("emit-me", "live");
      await report(round);
      await checkTransport(round, next);
    }
    break;
  }
  case "volatile": {
    await once(socket, "connect");
    await ask("setup");
    // A volatile packet may be dropped (a polling transport between two
    // GETs): ask again until one arrives.
    for (let i = 0; ; i++) {
      if (i === 5) fail("no volatile event after 5 attempts");
      const got = once(socket, "v").then(() => true);
      await ask("volatile");
      if (await Promise.race([got, sleep(300).then(() => false)])) break;
    }
    await report(0);
    await checkTransport(0);
    await ask("arm", 1);
    await drop("engine");
    await report(1);
    await checkTransport(1);
    break;
  }
  case "nooffset": {
    await start("join");
    await ask("arm", 1);
    await drop("engine");
    await report(1);
    await checkTransport(1);
    break;
  }
  case "manual": {
    await start();
    if (variant === "client") {
      await disconnect(socket);
    } else if (variant === "server") {
      const gone = once(socket, "disconnect");
      socket.emit("kick");
      await gone;
    } else {
      fail(`unknown manual case ${JSON.stringify(variant)}`);
    }
    await sleep(200); // no reconnection by itself
    if (socket.connected) fail("reconnected by itself after a manual disconnection");
    const back = nextConnect();
    socket.connect();
    await back;
    await report(1);
    await checkTransport(1);
    break;
  }
  case "expired": {
    await start();
    await drop("engine");
    await report(1);
    await checkTransport(1);
    break;
  }
  case "stale": {
    const [pingInterval, pingTimeout] = rest.slice(2).map(Number);
    watchdog(60000); // a closing polling session lingers 30s on the server
    await start();
    const eng = mgr.engine;
    if (variant === "ping") {
      // engine.io-client 6.6.8 keeps the handshake's values in these fields
      // and arms its ping timer with their sum at every ping.
      if (eng._pingInterval !== pingInterval || eng._pingTimeout !== pingTimeout) {
        fail(`engine ping fields ${eng._pingInterval}/${eng._pingTimeout}, want ${pingInterval}/${pingTimeout}`);
      }
      eng._pingTimeout = 100;
      await once(eng, "ping"); // the timer is now pingInterval + 100ms
    } else if (variant !== "half") {
      fail(`unknown stale case ${JSON.stringify(variant)}`);
    }
    const back = nextConnect();
    socket.emit("stall", variant, 1);
    await back;
    if (mgr.engine === eng) fail("same engine after the reconnection");
    await report(1);
    await checkTransport(1);
    const closed = await socket.timeout(45000).emitWithAck("stale-closed?");
    emit({ event: "stale-closed", who: "root", message: closed });
    await sleep(2000);
    await ask("emit-me", "late");
    await report(2);
    await checkTransport(2);
    break;
  }
  default:
    fail(`unknown case ${JSON.stringify(which)}`);
}
await disconnect(socket);
done();
