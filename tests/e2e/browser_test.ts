/// <reference lib="dom" />
/**
 * The status page in a real browser (docs/status-page.md §1, §3): headless Chromium, driven
 * by puppeteer-core, against the real server. A call made through the channel appears and
 * disappears without a reload; times are local; nothing is logged to the console; at 375 px
 * nothing scrolls sideways; when the server stops, the banner shows. Screenshots are kept in
 * `.tmp/`.
 *
 * Chromium is Debian's `chromium` package (`.ci/run` installs it). Without it these tests say
 * so and are skipped, except in CI (`CI` set), where they run and fail.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer, { type Page } from "puppeteer-core";
import { ROOT } from "../helpers.ts";
import { startServer } from "./_server.ts";

const CANDIDATES = [
  Deno.env.get("CHROMIUM_PATH") ?? "",
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

function findChromium(): string | undefined {
  for (const path of CANDIDATES) {
    if (path === "") continue;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not there */ }
  }
  return undefined;
}

const executablePath = findChromium();
const inCi = (Deno.env.get("CI") ?? "") !== "";
if (!executablePath && !inCi) {
  console.warn(
    "browser tests skipped: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)",
  );
}

const SHOTS = join(ROOT, ".tmp");

/** Headless Chromium as the tests drive it. */
function launch() {
  return puppeteer.launch({
    executablePath,
    headless: true,
    pipe: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** Waits until the text of the element with `id` does (or does not) contain `text`. */
async function waitForText(page: Page, id: string, text: string, present = true) {
  await page.waitForFunction(
    (id, text, present) =>
      (document.getElementById(id)?.textContent ?? "").includes(text) === present,
    { timeout: 5000 },
    id,
    text,
    present,
  );
}

Deno.test({
  name:
    "in Chromium: a call appears and disappears live, no console error, 375 px fits, the banner shows when the server stops",
  ignore: !executablePath && !inCi,
  async fn() {
    assert.ok(
      executablePath,
      "CI must have Chromium: .ci/run installs it (apt-get install chromium)",
    );
    await Deno.mkdir(SHOTS, { recursive: true });
    await using pcs = await startServer({ lines: ["demoPhones = 2", "phoneCheckSeconds = 3600"] });
    await pcs.server.phones.checkNow();
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warn") problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e}`));
      page.on("response", (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
      });

      await page.goto(`http://127.0.0.1:${pcs.httpPort}/`, { waitUntil: "load" });
      await waitForText(page, "live", "live");
      // Marks this document: a reload would lose the mark.
      await page.evaluate(() => Object.assign(globalThis, { pcsMark: 1 }));
      const text = (id: string) =>
        page.evaluate((id) => document.getElementById(id)?.innerText ?? "", id);
      assert.match(await text("summary"), /Phones reachable\s+2 of 2/i);

      const c = await pcs.channel("STLI;Version=2");
      assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
      assert.equal(await c.command("MonitorStart 102"), "error_ind SUCCESS MonitorStart");
      assert.equal(await c.command("MakeCall 101 102"), "error_ind SUCCESS MakeCall");
      await waitForText(page, "phones", "calling 102");
      await waitForText(page, "phones", "ringing: call from 101");
      await waitForText(page, "channels", "STLI;Version=2");
      assert.match(await text("summary"), /Calls in progress\s+1/i);
      await page.screenshot({ path: join(SHOTS, "status-1280.png"), fullPage: true });

      await pcs.phonesIdle();
      await c.sync();
      assert.equal(await c.command("ClearConnection 101"), "error_ind SUCCESS ClearConnection");
      await waitForText(page, "phones", "calling 102", false);
      await waitForText(page, "phones", "ringing", false);
      assert.equal(await page.evaluate(() => (globalThis as { pcsMark?: number }).pcsMark), 1);

      const times = await page.$$eval("time", (all) => all.map((t) => t.textContent ?? ""));
      assert.ok(times.length > 0);
      for (const t of times) {
        assert.doesNotMatch(t, /UTC$|^\d{10,}$/, `a time not made local: ${t}`);
      }

      await page.setViewport({ width: 375, height: 800 });
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      assert.equal(widths.client, 375);
      assert.ok(widths.scroll <= widths.client, `page is ${widths.scroll} px wide at 375 px`);
      await page.screenshot({ path: join(SHOTS, "status-375.png"), fullPage: true });
      assert.deepEqual(problems, [], "the console stays clean and every request succeeds");

      await pcs.stop();
      await page.waitForSelector("#banner:not([hidden])", { timeout: 20_000 });
      assert.match(await text("banner"), /Live updates lost at/);
      assert.equal(await page.evaluate(() => document.body.classList.contains("stale")), true);
      await page.screenshot({ path: join(SHOTS, "status-lost.png") });
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "in Chromium at 375 px: an opened Yealink's provisioning lines scroll in their box, not the page",
  ignore: !executablePath && !inCi,
  async fn() {
    assert.ok(executablePath, "CI must have Chromium: .ci/run installs it");
    await Deno.mkdir(SHOTS, { recursive: true });
    await using pcs = await startServer({
      lines: ["demoPhones = 2", "demoYealinkPhones = 102", "phoneCheckSeconds = 3600"],
    });
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 375, height: 800 });
      await page.goto(`http://127.0.0.1:${pcs.httpPort}/`, { waitUntil: "load" });
      await page.waitForSelector("details.provisioning pre", { timeout: 10_000 });
      await page.click("details.provisioning summary");
      const widths = await page.evaluate(() => {
        const pre = document.querySelector("details.provisioning pre")!;
        return {
          page: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
          open: document.querySelector("details.provisioning")!.hasAttribute("open"),
          lines: pre.scrollWidth,
          box: pre.clientWidth,
        };
      });
      await page.screenshot({ path: join(SHOTS, "status-375-provisioning.png"), fullPage: true });
      assert.equal(widths.open, true);
      assert.ok(widths.page <= widths.client, `the page is ${widths.page} px wide at 375 px`);
      assert.ok(widths.lines > widths.box, "the lines are longer than their box and scroll in it");
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "in Chromium: the Calls view shows a missed call live, and the search finds it by its number",
  ignore: !executablePath && !inCi,
  async fn() {
    assert.ok(executablePath, "CI must have Chromium: .ci/run installs it");
    await Deno.mkdir(SHOTS, { recursive: true });
    await using pcs = await startServer({
      lines: ["demoPhones = 2", "journalDays = 90", "phoneCheckSeconds = 3600"],
    });
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warn") problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e}`));
      await page.goto(`http://127.0.0.1:${pcs.httpPort}/`, { waitUntil: "load" });
      await waitForText(page, "live", "live");
      await waitForText(page, "calls", "No missed calls today");
      // Nobody monitors 102; the journal follows it all the same.
      await waitForText(page, "phones", "102");
      const deadline = Date.now() + 5000;
      while (!pcs.logLines.some((l) => l.includes("phone 102 reports to"))) {
        assert.ok(Date.now() < deadline, "phone 102 was set up");
        await new Promise((r) => setTimeout(r, 20));
      }
      const phone = pcs.phone("102");
      phone.callFrom("+49301234567", { displayName: "Jane <Doe>" });
      await pcs.phonesIdle();
      phone.remoteHangup();
      await pcs.phonesIdle();
      await waitForText(page, "calls", "Missed today: 102: 1");
      await waitForText(page, "calls", "Jane <Doe>");

      await page.type("#call-number", "030 1234567");
      await waitForText(page, "call-results", "Jane <Doe>");
      const row = await page.$eval("#call-results tbody tr", (tr) => tr.textContent ?? "");
      assert.match(row, /102.*in.*\+49301234567.*missed/);
      await page.screenshot({ path: join(SHOTS, "status-calls-1280.png"), fullPage: true });
      await page.evaluate(() => {
        const input = document.getElementById("call-number") as HTMLInputElement;
        input.value = "";
      });
      await page.type("#call-number", "999");
      await waitForText(page, "call-results", "No calls with a number ending in 999.");

      await page.setViewport({ width: 375, height: 800 });
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      assert.ok(widths.scroll <= widths.client, `page is ${widths.scroll} px wide at 375 px`);
      await page.screenshot({ path: join(SHOTS, "status-calls-375.png"), fullPage: true });
      assert.deepEqual(problems, [], "the console stays clean");
    } finally {
      await browser.close();
    }
  },
});
