// Step 9 in a real browser: two pages, each on its own chat process (the
// two share a Redis adapter and one database), chat. Run by
// ../cluster_test.go (TestBrowserCluster), which starts the processes.
//
//   node cluster.mjs <URL of process A> <URL of process B>
//
// Output, one JSON object per line (as browser.mjs):
//   {"event":"step","name":...}       a phase starts
//   {"event":"done","messages":[...]} every check passed; what both pages show, in order
//   {"event":"fail","error":...}      a check failed (exit status 1)
// The script stops itself after 60 s.

import { expectList, openPage, out, send, settle, TIMEOUT, waitConnected, waitShown, withBrowser } from "./lib.mjs";

const [urlA, urlB] = process.argv.slice(2);
if (!urlA || !urlB) {
  console.error("usage: node cluster.mjs <URL of process A> <URL of process B>");
  process.exit(2);
}

await withBrowser(60000, async (browser) => {
  out({ event: "step", name: "two pages on two processes" });
  const a = await openPage(browser, "A", urlA);
  const b = await openPage(browser, "B", urlB);
  // The CONNECT answer comes before the server's connection handler, which
  // sends the history; across processes, a message stored meanwhile would
  // reach the page twice (see README.md). Wait for both handlers: a
  // message that is not a string is acknowledged after them, not stored.
  for (const page of [a, b]) {
    await page.evaluate(() => socket.timeout(5000).emitWithAck("chat message", 0));
  }
  const all = [];
  for (const [page, text] of [
    [a, "Hello from A, on process A"],
    [b, "Hi A, B here, on process B"],
    [a, "Through Redis both ways"],
  ]) {
    await send(page, text);
    all.push(text);
    await waitShown(a, text);
    await waitShown(b, text);
  }
  await settle();
  await expectList(a, "A", all);
  await expectList(b, "B", all);

  out({ event: "step", name: "reload on the other process" });
  await b.reload({ timeout: TIMEOUT }); // the history, from the database both processes share
  await waitConnected(b);
  await waitShown(b, all[all.length - 1]);
  await settle();
  await expectList(b, "B after a reload", all);
  return all;
});
