// The chat example in a real browser: Debian's chromium driven by
// playwright-core (which never downloads a browser here). Run by
// ../chat_test.go (TestBrowser), which serves the app and restarts it on
// request.
//
//   node browser.mjs <base URL> <screenshot.png>
//
// Protocol, one JSON object per line:
//   stdout {"event":"step","name":...}      a phase starts (for the test log)
//   stdout {"event":"stop-server"}          the test stops the server, then writes "stopped\n" on stdin
//   stdout {"event":"start-server"}         the test starts it again (same port, same database), then writes "started\n"
//   stdout {"event":"done","messages":[...]} every check passed; the messages every page shows, in order
//   stdout {"event":"fail","error":...}     a check failed (exit status 1)
// The script stops itself after 90 s.

import { expectList, openPage, out, send, settle, TIMEOUT, waitConnected, waitShown, withBrowser, fail } from "./lib.mjs";
import { createInterface } from "node:readline";

const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error("usage: node browser.mjs <base URL> <screenshot.png>");
  process.exit(2);
}

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(event, answer) {
  out({ event });
  const { value, done } = await stdinLines.next();
  if (done || value.trim() !== answer) throw new Error(`expected "${answer}" from the test after ${event}, got ${JSON.stringify(value)}`);
}

await withBrowser(90000, async (browser) => {
  const all = []; // every message, in the order of their ids

  // Step 6, RecoverWithoutOffset: a page on an empty chat has received no
  // event, so no offset; its transport dies (not a manual disconnect); it
  // comes back with the same id.
  out({ event: "step", name: "recovery without offset" });
  const a = await openPage(browser, "A", base);
  await expectList(a, "A on an empty chat", []);
  const idBefore = await a.evaluate(() => {
    socket.io.reconnection(false); // reconnect by hand below, at once
    const id = socket.id;
    socket.io.engine.close(); // "transport close" on both sides: recoverable
    return id;
  });
  await waitConnected(a, false);
  await a.evaluate(() => {
    socket.io.reconnection(true);
    socket.connect();
  });
  await waitConnected(a);
  const rec = await a.evaluate(() => ({ id: socket.id, recovered: socket.recovered }));
  if (!rec.recovered || rec.id !== idBefore) {
    fail(`A was not recovered after a drop on an empty chat: ${JSON.stringify(rec)}, id before ${idBefore}`);
  }

  // Steps 4 and 5: two pages chatting.
  out({ event: "step", name: "chat" });
  const b = await openPage(browser, "B", base);
  for (const [page, text] of [
    [a, "Hello from A"],
    [b, "Hi A, B here"],
  ]) {
    await send(page, text);
    all.push(text);
    await waitShown(a, text);
    await waitShown(b, text);
  }
  await settle();
  await expectList(a, "A", all);
  await expectList(b, "B", all);

  // Step 6's toggle button, steps 7 and 8: B disconnects by hand (no
  // recovery for a manual disconnect); what A sends meanwhile, and what B
  // types while offline, arrive once when B reconnects.
  out({ event: "step", name: "toggle button" });
  await b.click("#toggle-btn");
  await waitConnected(b, false);
  if ((await b.innerText("#toggle-btn")) !== "Connect") fail("the toggle button of B does not say Connect");
  const away = ["While B is away (1)", "While B is away (2)"];
  for (const text of away) {
    await send(a, text);
    all.push(text);
    await waitShown(a, text);
  }
  await send(b, "Typed by B while offline"); // buffered by the client, retried until acknowledged
  await settle();
  await expectList(b, "B while disconnected", all.slice(0, 2));
  all.push("Typed by B while offline");
  await b.click("#toggle-btn");
  if ((await b.innerText("#toggle-btn")) !== "Disconnect") fail("the toggle button of B does not say Disconnect");
  await waitConnected(b);
  if (await b.evaluate(() => socket.recovered)) fail("B was recovered after a manual disconnect");
  await waitShown(b, "Typed by B while offline");
  await waitShown(a, "Typed by B while offline");
  await settle();
  await expectList(a, "A", all);
  await expectList(b, "B after reconnecting", all);

  // Step 6, recovery: B's transport dies; A's message meanwhile is
  // replayed from the server's memory, not the database.
  out({ event: "step", name: "connection state recovery" });
  const bID = await b.evaluate(() => {
    socket.io.reconnection(false);
    const id = socket.id;
    socket.io.engine.close();
    return id;
  });
  await waitConnected(b, false);
  await send(a, "While B dropped");
  all.push("While B dropped");
  await waitShown(a, "While B dropped");
  await b.evaluate(() => {
    socket.io.reconnection(true);
    socket.connect();
  });
  await waitConnected(b);
  await waitShown(b, "While B dropped");
  const recB = await b.evaluate(() => ({ id: socket.id, recovered: socket.recovered }));
  if (!recB.recovered || recB.id !== bID) fail(`B was not recovered: ${JSON.stringify(recB)}, id before ${bID}`);
  await settle();
  await expectList(b, "B after recovery", all);

  // Step 7: a reloaded page gets the history.
  out({ event: "step", name: "reload" });
  await b.reload({ timeout: TIMEOUT });
  await waitConnected(b);
  await waitShown(b, all[all.length - 1]);
  await settle();
  await expectList(b, "B after a reload", all);

  // Steps 7 and 8: the server restarts (its memory, recovery sessions
  // included, is gone; the database stays). A message typed while it is
  // down is delivered once it is back, and nothing stored is lost.
  out({ event: "step", name: "server restart" });
  await ask("stop-server", "stopped");
  await waitConnected(a, false);
  await waitConnected(b, false);
  await send(a, "Sent while the server was down");
  all.push("Sent while the server was down");
  await ask("start-server", "started");
  await waitConnected(a);
  await waitConnected(b);
  if (await a.evaluate(() => socket.recovered)) fail("A was recovered by a server that restarted");
  await waitShown(a, "Sent while the server was down");
  await waitShown(b, "Sent while the server was down");
  await settle();
  await expectList(a, "A after the restart", all);
  await expectList(b, "B after the restart", all);
  await a.reload({ timeout: TIMEOUT });
  await waitConnected(a);
  await waitShown(a, all[all.length - 1]);
  await settle();
  await expectList(a, "A reloaded after the restart", all);

  await a.screenshot({ path: screenshot, animations: "disabled", caret: "hide" });
  return all;
});
process.stdin.destroy();
