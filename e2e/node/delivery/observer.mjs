// One official socket.io-client client that prints what it sees, for the
// reproductions of e2e/delivery/repro_test.go.
//
//	node delivery/observer.mjs <url> <polling|websocket> <reconnection-delay-ms>
//
// It prints JSON lines: {"event":"connect","id","recovered"},
// {"event":"disconnect","reason"} and {"event":"on","name","arg"} for every
// event received (its first argument). It ends when its stdin closes, or
// after 20 s.

import { io } from "socket.io-client";

const [url, transport, delay] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const socket = io(url, {
  forceNew: true,
  transports: [transport],
  upgrade: false,
  reconnectionDelay: Number(delay) || 300,
  reconnectionDelayMax: Number(delay) || 300,
  randomizationFactor: 0,
});
socket.on("connect", () => out({ event: "connect", id: socket.id, recovered: socket.recovered }));
socket.on("disconnect", (reason) => out({ event: "disconnect", reason }));
socket.onAny((name, arg) => out({ event: "on", name, arg }));
const bye = () => {
  socket.disconnect();
  setTimeout(() => process.exit(0), 200).unref();
};
process.stdin.on("data", () => {});
process.stdin.on("end", bye);
setTimeout(() => process.exit(1), 20000).unref();
