// Scenario "welcome": the server sends "welcome" and the binary 09 08 07
// from its OnConnection; these must be the first two messages the client
// receives, before the echo of anything it sends itself right on open.
import { connect, done, emit } from "./lib.mjs";

const { c, mode, finalTransport } = await connect();
c.socket.send("after-open");
await c.expect("welcome", "first message");
await c.expect(Buffer.from([9, 8, 7]), "second message");
await c.expect("after-open", "echo of the client's first message");
emit({ event: "welcomed" });

await c.checkTransport(mode, finalTransport);
c.socket.close();
const info = await c.closed;
done({ closeReason: info.reason });
