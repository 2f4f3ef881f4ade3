/**
 * The status page at 1,000 phones and 500 channels (docs/status-page.md §1, §3), against the
 * plain JSON dump of the same data as the baseline, measured in the same run:
 *
 * - rendering on the server: `renderSections` vs `JSON.stringify` of the same view;
 * - over HTTP through the real listener: `GET /` vs `GET /api/status`;
 * - in Chromium, when it is installed: loading `/` until the live stream has delivered the
 *   sections vs loading `/api/status`, and whether the page fits 375 px without scrolling
 *   sideways.
 *
 * Target: the page renders in under a second; live updates go out at most once a second
 * (the interval is the app's, not measured here).
 */

import { AdminServer, renderSections, type StatusView } from "../../src/admin/mod.ts";
import { parseConfig } from "../../src/config/mod.ts";
import { percentile, printTable, type Row, timeEach } from "./_table.ts";

const PHONES = 1000;
const CHANNELS = 500;
const NOW = Date.now();

/** A server's view: every 50th phone unreachable, every second one in a call. */
function bigView(): StatusView {
  return {
    version: "bench",
    now: NOW,
    startedAt: NOW - 86_400_000,
    listeners: { channel: "0.0.0.0:26535", http: "0.0.0.0:26536", problems: [] },
    configuration: { file: "/srv/pcs/phone-companion.cfg", valid: true, findings: [] },
    provider: { configured: true, id: "ringcentral", state: "logged in", healthy: true },
    phones: Array.from({ length: PHONES }, (_, i) => ({
      extension: String(1000 + i),
      address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80`,
      demo: false,
      reachable: i % 50 === 0 ? "unreachable" as const : "reachable" as const,
      reachableSince: NOW - i * 1000,
      checkedAt: NOW - 1000,
      reachDetail: i % 50 === 0 ? "no answer within 5000 ms" : "answered HTTP 401",
      monitoredBy: i % 3,
      callsKnown: true,
      calls: i % 2 === 0
        ? [{ state: "connected" as const, remote: `+4930${i}`, displayName: `Customer ${i}` }]
        : [],
      last: { at: NOW - i * 10, command: "MakeCall", ok: true, ms: 30 },
    })),
    channels: Array.from({ length: CHANNELS }, (_, i) => ({
      id: i + 1,
      peer: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:${40000 + i}`,
      connectedSince: NOW - i * 60_000,
      handshake: "STLI;Version=2",
      mode: "standard",
      monitored: [String(1000 + 2 * i), String(1001 + 2 * i)],
      commands: i * 3,
    })),
    refusedChannels: 3,
    problems: Array.from({ length: 100 }, (_, i) => ({
      at: NOW - i * 1000,
      level: i % 10 === 0 ? "error" : "warning",
      area: "phones",
      message: `phone ${1000 + i} at 10.0.0.${i + 1}:80 is unreachable: no answer within 5000 ms`,
      count: 1,
    })),
  };
}

const view = bigView();
const rows: Row[] = [];
const N = 40;
const rendered = (fn: () => string) => () => {
  if (fn().length === 0) throw new Error("nothing rendered");
  return Promise.resolve();
};
for (let i = 0; i < 5; i++) JSON.stringify(view), renderSections(view); // warm-up
const json = await timeEach(N, rendered(() => JSON.stringify(view)));
const page = await timeEach(N, rendered(() => Object.values(renderSections(view)).join("")));
const bytes = (s: string) => new TextEncoder().encode(s).length;
rows.push({
  name: "JSON.stringify of the view (baseline)",
  values: {
    p50: percentile(json, 50),
    p99: percentile(json, 99),
    KiB: bytes(JSON.stringify(view)) / 1024,
  },
});
rows.push({
  name: "renderSections (the page's HTML)",
  values: {
    p50: percentile(page, 50),
    p99: percentile(page, 99),
    KiB: bytes(Object.values(renderSections(view)).join("")) / 1024,
  },
});
console.log(`### rendering ${PHONES} phones and ${CHANNELS} channels on the server`);
printTable(rows, { p50: "ms", p99: "ms", KiB: "KiB" });

// Over HTTP, through the real listener and the Hono app.
const { snapshot } = parseConfig("", "/tmp/bench/phone-companion.cfg");
const admin = new AdminServer({
  status: () => view as unknown as Record<string, unknown>,
  view: () => view,
  health: () => ({ ok: true, reasons: [] }),
});
admin.apply({
  config: { ...snapshot!, server: { ...snapshot!.server, bindAddress: "127.0.0.1", httpPort: 0 } },
  profiles: new Map(),
});
const base = `http://127.0.0.1:${admin.address!.port}`;
const fetchAll = (path: string) => async () => {
  await (await fetch(base + path)).arrayBuffer();
};
for (let i = 0; i < 5; i++) await fetchAll("/")(), await fetchAll("/api/status")();
const viaJson = await timeEach(N, fetchAll("/api/status"));
const viaPage = await timeEach(N, fetchAll("/"));
console.log(`\n### over HTTP (GET, the whole reply read)`);
printTable([
  {
    name: "GET /api/status (baseline)",
    values: { p50: percentile(viaJson, 50), p99: percentile(viaJson, 99) },
  },
  {
    name: "GET / (the page)",
    values: { p50: percentile(viaPage, 50), p99: percentile(viaPage, 99) },
  },
], { p50: "ms", p99: "ms" });

// In Chromium, when there is one.
const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
let loadP50 = NaN;
let swapMs = NaN;
if (!chromiumPath) {
  console.log("\n(no Chromium: browser figures skipped)");
} else {
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    pipe: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const tab = await browser.newPage();
  await tab.setViewport({ width: 1280, height: 900 });
  const M = 8;
  const loadJson = await timeEach(M, async () => {
    await tab.goto(`${base}/api/status`, { waitUntil: "load" });
  });
  const loadPage = await timeEach(M, async () => {
    await tab.goto(`${base}/`, { waitUntil: "load" });
    await tab.waitForFunction(`document.getElementById("live").textContent === "live"`);
  });
  loadP50 = percentile(loadPage, 50);
  // A live update: the phones section swapped in, laid out; against the same data's JSON in
  // a <pre>. Measured inside the page, median of 7.
  const swap = await tab.evaluate(`(() => {
    const el = document.getElementById("phones");
    const html = el.innerHTML;
    const pre = document.createElement("pre");
    document.body.append(pre);
    const json = JSON.stringify(${JSON.stringify(view.phones)});
    const median = (f) => {
      const t = [];
      for (let i = 0; i < 7; i++) {
        const s = performance.now();
        f(i);
        document.body.offsetHeight;
        t.push(performance.now() - s);
      }
      return t.sort((a, b) => a - b)[3];
    };
    const asJson = median((i) => { pre.textContent = json + i; });
    const asPage = median((i) => { el.innerHTML = html + "<!--" + i + "-->"; });
    pre.remove();
    return { asJson, asPage };
  })()`) as { asJson: number; asPage: number };
  swapMs = swap.asPage;
  await tab.setViewport({ width: 375, height: 800 });
  const fit = await tab.evaluate(`({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    rows: document.querySelectorAll("#phones tbody tr").length,
  })`) as { scroll: number; client: number; rows: number };
  await browser.close();
  console.log(`\n### in Chromium (navigation until loaded; the page also until live)`);
  printTable([
    {
      name: "/api/status (baseline)",
      values: { p50: percentile(loadJson, 50), max: Math.max(...loadJson) },
    },
    { name: "/ (the page)", values: { p50: loadP50, max: Math.max(...loadPage) } },
  ], { p50: "ms", max: "ms" });
  console.log(`\n### in Chromium, one live update of the phones section (median of 7)`);
  printTable([
    { name: "the phones as JSON into a <pre> (baseline)", values: { ms: swap.asJson } },
    { name: "the phones section swapped in", values: { ms: swap.asPage } },
  ], { ms: "ms" });
  console.log(
    `\nat 375 px: document ${fit.scroll} px wide in a ${fit.client} px window, ${fit.rows} phone rows`,
  );
}
await admin.close();

const worst = Math.max(
  percentile(page, 99),
  percentile(viaPage, 99),
  Number.isNaN(loadP50) ? 0 : loadP50,
  Number.isNaN(swapMs) ? 0 : swapMs,
);
console.log(
  `\ntarget: renders in under 1000 ms at ${PHONES} phones and ${CHANNELS} channels; worst figure above ${
    worst.toFixed(0)
  } ms: ${worst < 1000 ? "met" : "NOT met"}`,
);
