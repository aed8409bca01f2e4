// Scenario "client-close": after one echo round trip the client calls
// socket.close(); the Go side checks the server's close reason.
import { connect, done, fail } from "./lib.mjs";

const { c, mode, finalTransport } = await connect();
await c.checkTransport(mode, finalTransport);

c.socket.send("hi");
await c.expect("hi", "echo before client close");
c.socket.close();
const info = await c.closed;
if (info.reason !== "forced close") fail(`client close reason ${JSON.stringify(info.reason)}, want "forced close"`);
done({ closeReason: info.reason });
