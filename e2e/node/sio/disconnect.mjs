// Scenario "disconnect": disconnect reasons on both sides, by case:
//
//	node sio/disconnect.mjs <url> <mode> <case>
//
//   client     socket.disconnect() on "/".
//   server     "/" and "/other" on one Manager; "/" asks "kick-me" and the
//              server runs s.Disconnect(false); "/other" must stay usable.
//   close      same two sockets; "/" asks "close-me" and the server runs
//              s.Disconnect(true): the whole connection ends.
//   transport  with reconnection on: "/" asks "kill-transport" and the
//              server closes the Engine.IO session abruptly
//              (s.Conn().Close()); the client must see "transport close",
//              reconnect by itself with a new id, and work again.
import { args, checkTransport, connect, disconnect, done, emit, fail, manager, once, sleep } from "./lib.mjs";

const which = args().rest[0];

switch (which) {
  case "client": {
    const mgr = manager();
    const s = await connect(mgr, "/", {}, "root");
    await checkTransport(mgr, s, "root");
    await disconnect(s);
    await sleep(200);
    emit({ event: "state", who: "root", data: { connected: s.connected, active: s.active, engine: mgr.engine.readyState } });
    break;
  }
  case "server": {
    const mgr = manager();
    const root = await connect(mgr, "/", {}, "root");
    const other = await connect(mgr, "/other", {}, "other");
    await checkTransport(mgr, root, "root");
    const gone = once(root, "disconnect");
    root.emit("kick-me");
    await gone;
    await sleep(200); // no reconnection of "/"
    await checkTransport(mgr, other, "other");
    emit({ event: "state", who: "root", data: { connected: root.connected, active: root.active } });
    emit({ event: "state", who: "other", data: { connected: other.connected, active: other.active } });
    await disconnect(other);
    break;
  }
  case "close": {
    const mgr = manager();
    const root = await connect(mgr, "/", {}, "root");
    const other = await connect(mgr, "/other", {}, "other");
    await checkTransport(mgr, root, "root");
    const gone = Promise.all([once(root, "disconnect"), once(other, "disconnect")]);
    root.emit("close-me");
    await gone;
    await sleep(300); // no reconnection
    emit({ event: "state", who: "root", data: { connected: root.connected, active: root.active } });
    emit({ event: "state", who: "other", data: { connected: other.connected, active: other.active } });
    emit({ event: "engine", who: "manager", data: { engine: mgr.engine.readyState } });
    break;
  }
  case "transport": {
    const mgr = manager({ reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 100, randomizationFactor: 0 });
    for (const ev of ["reconnect_attempt", "reconnect", "reconnect_error", "reconnect_failed"]) {
      mgr.on(ev, (x) => emit({ event: ev, who: "manager", count: typeof x === "number" ? x : 0 }));
    }
    const s = await connect(mgr, "/", {}, "root");
    await checkTransport(mgr, s, "root");
    const firstId = s.id;
    const again = new Promise((resolve) => s.once("disconnect", () => s.once("connect", resolve)));
    s.emit("kill-transport");
    await again;
    if (s.id === firstId) fail(`reconnected with the same id ${s.id}`);
    await checkTransport(mgr, s, "root");
    const echo = await s.timeout(3000).emitWithAck("echo", "after reconnection");
    emit({ event: "echo", who: "root", data: echo });
    await disconnect(s);
    break;
  }
  default:
    fail(`unknown case ${JSON.stringify(which)}: want client, server, close or transport`);
}
done();
