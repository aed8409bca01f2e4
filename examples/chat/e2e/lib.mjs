// What browser.mjs and cluster.mjs share: Debian's chromium driven by
// playwright-core (which never downloads a browser here), the JSON lines
// they print, and the checks on the chat page.

import { chromium } from "playwright-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Exactly these flags, and a fresh profile: nothing of Playwright's own
// defaults (ignoreDefaultArgs: true). --remote-debugging-pipe is how
// Playwright talks to the browser.
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

export const TIMEOUT = 15000; // one wait: reconnecting after a server restart takes up to ~4 s

// out prints one JSON line for the Go test.
export const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

export const fail = (msg) => {
  throw new Error(msg);
};

export const texts = (page) => page.$$eval("#messages > li", (lis) => lis.map((li) => li.textContent));

export async function send(page, text) {
  await page.fill("#input", text);
  await page.press("#input", "Enter");
}

// waitShown waits until page shows text.
export async function waitShown(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#messages > li")].some((li) => li.textContent === t),
    text,
    { timeout: TIMEOUT },
  );
}

export const waitConnected = (page, connected = true) =>
  page.waitForFunction((c) => typeof socket !== "undefined" && socket.connected === c, connected, { timeout: TIMEOUT });

// settle lets a duplicate, if the server sent one, arrive before a check.
export const settle = () => new Promise((r) => setTimeout(r, 300));

// expectList checks that page shows exactly want, in order: every message
// once, none missing, none extra.
export async function expectList(page, name, want) {
  const got = await texts(page);
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    fail(`${name} shows ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

// openPage opens url in a new context of browser, named name in the logs,
// and waits until its socket is connected.
export async function openPage(browser, name, url) {
  const context = await browser.newContext({ viewport: { width: 560, height: 420 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => out({ event: "log", page: name, pageerror: String(err) }));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.location().url.endsWith("/favicon.ico")) out({ event: "log", page: name, console: msg.text(), url: msg.location().url });
  });
  await page.goto(url, { timeout: TIMEOUT });
  await waitConnected(page);
  return page;
}

// withBrowser launches chromium, runs fn(browser), then prints
// {"event":"done","messages":...} with what fn returns, or
// {"event":"fail","error":...} (exit status 1) if it throws or takes more
// than limitMs; the browser and its profile are removed either way.
export async function withBrowser(limitMs, fn) {
  const userDataDir = await mkdtemp(join(tmpdir(), "chat-chromium-"));
  let browser;
  const watchdog = setTimeout(() => {
    out({ event: "fail", error: `the browser test took more than ${limitMs / 1000} s` });
    process.exit(1);
  }, limitMs);
  try {
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      ignoreDefaultArgs: true,
      args: [...FLAGS, `--user-data-dir=${userDataDir}`, "--remote-debugging-pipe"],
      timeout: 30000,
    });
    out({ event: "done", messages: await fn(browser) });
  } catch (err) {
    out({ event: "fail", error: String(err && err.stack ? err.stack : err) });
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    if (browser) await browser.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
}
