// Scenario "server-close": on the message "close-me" the server sends "bye"
// and calls Session.Close(). The client must receive "bye", then its close
// event, and nothing after.
import { connect, done, fail } from "./lib.mjs";

const { c, mode, finalTransport } = await connect();
await c.checkTransport(mode, finalTransport);

c.socket.send("close-me");
await c.expect("bye", "message before server close");
const info = await c.closed;
if (c.inbox.length) fail(`messages after "bye": ${JSON.stringify(c.inbox)}`);
done({ closeReason: info.reason });
