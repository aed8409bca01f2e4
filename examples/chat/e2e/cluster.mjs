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

import { chromium } from "playwright-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [urlA, urlB] = process.argv.slice(2);
if (!urlA || !urlB) {
  console.error("usage: node cluster.mjs <URL of process A> <URL of process B>");
  process.exit(2);
}

// The flags of browser.mjs, and nothing of Playwright's own.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TIMEOUT = 15000;

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const texts = (page) => page.$$eval("#messages > li", (lis) => lis.map((li) => li.textContent));
const settle = () => new Promise((r) => setTimeout(r, 300));
const waitConnected = (page) =>
  page.waitForFunction(() => typeof socket !== "undefined" && socket.connected, null, { timeout: TIMEOUT });
const waitShown = (page, text) =>
  page.waitForFunction(
    (t) => [...document.querySelectorAll("#messages > li")].some((li) => li.textContent === t),
    text,
    { timeout: TIMEOUT },
  );

async function send(page, text) {
  await page.fill("#input", text);
  await page.press("#input", "Enter");
}

async function expectList(page, name, want) {
  const got = await texts(page);
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${name} shows ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

async function openPage(browser, name, url) {
  const context = await browser.newContext({ viewport: { width: 560, height: 420 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => out({ event: "log", page: name, pageerror: String(err) }));
  await page.goto(url, { timeout: TIMEOUT });
  await waitConnected(page);
  return page;
}

const userDataDir = await mkdtemp(join(tmpdir(), "chat-chromium-"));
let browser;
const watchdog = setTimeout(() => {
  out({ event: "fail", error: "the browser test took more than 60 s" });
  process.exit(1);
}, 60000);

try {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    ignoreDefaultArgs: true,
    args: [...FLAGS, `--user-data-dir=${userDataDir}`, "--remote-debugging-pipe"],
    timeout: 30000,
  });
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
  out({ event: "done", messages: all });
} catch (err) {
  out({ event: "fail", error: String(err && err.stack ? err.stack : err) });
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close().catch(() => {});
  await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
}
