import assert from "node:assert/strict";
import {
  AdminServer,
  createAdminApp,
  listenerWords,
  type StatusView,
} from "../../src/admin/mod.ts";
import type { Health } from "../../src/admin/mod.ts";
import { parseConfig } from "../../src/config/mod.ts";
import { LogService } from "../../src/log/mod.ts";
import { ManualClock } from "../helpers.ts";
import { NOW, sampleView } from "./_view.ts";

interface AppOptions {
  password?: string;
  view?: () => StatusView;
  health?: () => Health;
  clock?: ManualClock;
}

function app(o: AppOptions = {}) {
  return createAdminApp({
    status: () => ({ phones: [{ extension: "101", display: "<script>x</script>" }] }),
    view: o.view ?? (() => sampleView()),
    health: o.health ?? (() => ({ ok: true, reasons: [] })),
    metrics: () => Promise.resolve({ contentType: "text/plain; version=0.0.4", body: "m 1\n" }),
    adminPassword: () => o.password ?? "",
    liveIntervalMs: 10,
    pingMs: 40,
    clock: o.clock,
    loginDelayMs: o.clock ? undefined : () => 0,
  });
}

const local = { remoteAddress: "127.0.0.1" };
const remote = { remoteAddress: "192.168.1.50" };
const basic = (user: string, password: string) => ({
  headers: { authorization: `Basic ${btoa(`${user}:${password}`)}` },
});

/** The page's visible text, roughly: tags dropped, character references read. */
function textOf(html: string): string {
  return html.replace(/<script[\s\S]*?<\/script>/g, "").replace(/<[^>]*>/g, " ")
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
}

Deno.test("the page speaks to an office administrator, not in protocol terms", async () => {
  const base = sampleView();
  const idle = sampleView({
    phones: base.phones.map((p) => ({ ...p, monitoredBy: 0, callsKnown: false, calls: [] })),
    channels: base.channels.map((c) => ({ ...c, handshake: undefined })),
  });
  const text = textOf(await (await app({ view: () => idle }).request("/", {}, local)).text())
    .replace(/\s+/g, " ");
  for (
    const jargon of ["RawCommand", "not monitored", "no channel", "Handshake", "DeviceInformation"]
  ) {
    assert.ok(!text.includes(jargon), `the page says '${jargon}'`);
  }
  assert.match(text, /Watched by/);
  assert.match(text, /Plug-ins connected/);
  assert.match(text, /no plug-in not followed until a plug-in watches this phone/);
  assert.match(text, /only needed for RingCentral/);
});

Deno.test("the page answers the four questions: summary, phones, channels, recent problems", async () => {
  const res = await app().request("/", {}, local);
  assert.equal(res.status, 200);
  const html = await res.text();
  const text = textOf(html).replace(/\s+/g, " ");
  assert.match(text, /Phones reachable 1 of 2 not reachable: 102/);
  assert.match(text, /Plug-ins connected 1/);
  assert.match(text, /Calls in progress 1 /, "the call between 101 and 102 counts once");
  assert.match(text, /Configuration valid 1 warning/);
  assert.match(text, /talking with 102 \(<b>Jane<\/b>\)/, "display names escaped");
  assert.doesNotMatch(html, /<b>Jane<\/b>/);
  assert.match(text, /no , since .* connection refused/);
  assert.match(text, /AnswerCall failed: PhoneUnreachable/);
  assert.match(
    text,
    /192\.168\.1\.50:50123 .* STLI;Version=2 call details: extended 101, 102 12/,
  );
  assert.match(text, /phone 102 at 192\.168\.1\.22:80 is unreachable/);
  assert.match(text, /phone-companion\.cfg, line 7 unknown key 'serverprot'/);
  assert.doesNotMatch(html, /Jane<\/b>\)[^<]*Jane/, "nothing shown twice");
});

Deno.test("every time is a <time> the browser shows in local time; no epoch number shows", async () => {
  const html = await (await app().request("/", {}, local)).text();
  const times = [...html.matchAll(/<time datetime="([^"]+)">([^<]*)<\/time>/g)];
  assert.ok(times.length >= 6, `${times.length} times`);
  for (const [, iso, text] of times) {
    assert.ok(!Number.isNaN(Date.parse(iso)), iso);
    assert.equal(text, `${iso.slice(0, 19).replace("T", " ")} UTC`);
  }
  assert.ok(times.some(([, iso]) => iso === new Date(NOW - 3_600_000).toISOString()));
  assert.doesNotMatch(textOf(html), /\b1[0-9]{12}\b/, "no epoch milliseconds in the text");
});

Deno.test("the page loads only its own files, and those answer", async () => {
  const a = app();
  const res = await a.request("/", {}, local);
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  const html = await res.text();
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(refs.filter((r) => !r.startsWith("#")).sort(), [
    "/favicon.svg",
    "/page.css",
    "/page.js",
  ]);
  for (
    const [path, type] of [
      ["/page.css", /^text\/css/],
      ["/page.js", /^text\/javascript/],
      ["/favicon.svg", /^image\/svg\+xml/],
      ["/favicon.ico", /^image\/svg\+xml/],
    ] as const
  ) {
    const r = await a.request(path, {}, local);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get("content-type") ?? "", type, path);
    await r.body?.cancel();
  }
});

Deno.test("without adminPassword only this computer gets in, /healthz included", async () => {
  const a = app();
  for (const path of ["/", "/api/status", "/metrics", "/healthz", "/page.js"]) {
    const res = await a.request(path, {}, remote);
    assert.equal(res.status, 403, path);
    assert.match(await res.text(), /Set adminPassword/);
    const here = await a.request(path, {}, local);
    assert.equal(here.status, 200, path);
    await here.body?.cancel();
  }
  // The call journal's API has the page's rule (no journal here: 503 once let in).
  for (const path of ["/api/calls", "/api/calls.csv"]) {
    const res = await a.request(path, {}, remote);
    assert.equal(res.status, 403, path);
    await res.body?.cancel();
    const here = await a.request(path, {}, local);
    assert.equal(here.status, 503, path);
    await here.body?.cancel();
  }
  const mapped = await a.request("/healthz", {}, { remoteAddress: "::ffff:127.0.0.1" });
  assert.equal(mapped.status, 200);
  assert.equal((await a.request("/", {}, { remoteAddress: "::1" })).status, 200);
});

Deno.test("with adminPassword other hosts log in as admin; /healthz answers them without", async () => {
  const a = app({ password: "correct horse" });
  const none = await a.request("/api/status", {}, remote);
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Basic realm="Phone Companion Server"/);
  assert.equal((await a.request("/", basic("admin", "nope"), remote)).status, 401);
  assert.equal(
    (await a.request("/", basic("root", "correct horse"), remote)).status,
    401,
    "the user name must be admin",
  );
  const right = await a.request("/api/status", basic("admin", "correct horse"), remote);
  assert.equal(right.status, 200);
  assert.deepEqual(await right.json(), {
    phones: [{ extension: "101", display: "<script>x</script>" }],
  });
  assert.equal((await a.request("/metrics", basic("admin", "correct horse"), remote)).status, 200);
  assert.equal((await a.request("/metrics", {}, remote)).status, 401);
  assert.equal((await a.request("/api/calls", {}, remote)).status, 401);
  assert.equal(
    (await a.request("/api/calls", basic("admin", "correct horse"), remote)).status,
    503,
    "let in; this app has no journal",
  );
  const health = await a.request("/healthz", {}, remote);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });
  assert.equal((await a.request("/", {}, local)).status, 200, "this computer needs no password");
});

Deno.test("failed logins are slowed down and logged at most once a minute per address", async () => {
  const lines: string[] = [];
  const service = new LogService((l) => lines.push(l));
  await service.start("info");
  const clock = new ManualClock(NOW);
  const a = app({ password: "correct horse", clock });
  /** A wrong login; resolves with the pause it was answered after. */
  const fail = async (remoteAddress = "192.168.1.50", password = "guess-1") => {
    let answered = false;
    const reply = Promise.resolve(a.request("/", basic("admin", password), { remoteAddress })).then(
      (r) => {
        answered = true;
        return r;
      },
    );
    const pause = await clock.nextTimer();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(answered, false, "no answer before the pause");
    clock.advance(pause);
    assert.equal((await reply).status, 401);
    return pause;
  };
  try {
    assert.deepEqual([await fail(), await fail(), await fail(), await fail()], [
      500,
      1000,
      2000,
      4000,
    ]);
    const ok = await a.request("/", basic("admin", "correct horse"), remote);
    assert.equal(ok.status, 200, "a good login is not slowed down");
    assert.equal(await fail(), 500, "a good login clears the count");
    assert.equal(await fail("192.168.1.51"), 500, "each address has its own count");
    let logged = lines.filter((l) => /failed login to the status page/.test(l));
    assert.equal(logged.length, 2, logged.join("\n"));
    assert.match(logged[0], / WARN .*from 192\.168\.1\.50: 1 attempt\(s\)/);
    assert.match(logged[1], /from 192\.168\.1\.51: 1 attempt/);
    clock.advance(60_000);
    await fail(undefined, "guess-2");
    logged = lines.filter((l) => /failed login to the status page/.test(l));
    assert.equal(logged.length, 3);
    assert.match(logged[2], /from 192\.168\.1\.50: 5 attempt\(s\)/);
    assert.ok(!lines.some((l) => /guess|correct horse/.test(l)), "no password tried is logged");
    const noCredentials = await a.request("/", {}, remote);
    assert.equal(noCredentials.status, 401, "no credentials: just the challenge, at once");
  } finally {
    await service.close();
  }
});

Deno.test("/healthz is 200 with a short body when healthy, 503 with the reasons when not", async () => {
  let health: Health = { ok: true, reasons: [] };
  const a = app({ health: () => health });
  const ok = await a.request("/healthz", {}, local);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("content-type"), "application/json; charset=utf-8");
  assert.deepEqual(await ok.json(), { status: "ok" });
  health = { ok: false, reasons: ["the configuration file has errors"] };
  const bad = await a.request("/healthz", {}, local);
  assert.equal(bad.status, 503);
  assert.deepEqual(await bad.json(), {
    status: "unavailable",
    reasons: ["the configuration file has errors"],
  });
});

/** Reads server-sent events until `count` arrived. */
async function events(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<{ event: string; data: string }[]> {
  const out: { event: string; data: string }[] = [];
  let text = "";
  const decoder = new TextDecoder();
  while (out.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      if (!event) continue;
      const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join("\n");
      out.push({ event, data });
    }
  }
  return out;
}

Deno.test("live updates send each section once, then only what changed, and pings in between", async () => {
  let view = sampleView();
  const res = await app({ view: () => view }).request("/api/live", {}, local);
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body!.getReader();
  try {
    const first = await events(reader, 6);
    assert.deepEqual(first.map((e) => e.event), [
      "summary",
      "phones",
      "calls",
      "channels",
      "problems",
      "configuration",
    ]);
    assert.match(first[1].data, /talking with 102/);
    view = sampleView({ phones: [sampleView().phones[0]] });
    const next = await events(reader, 2);
    assert.deepEqual(next.map((e) => e.event).sort(), ["phones", "summary"]);
    assert.doesNotMatch(next.find((e) => e.event === "phones")!.data, /192\.168\.1\.22/);
    const [ping] = await events(reader, 1);
    assert.equal(ping.event, "ping", "nothing changed: a ping");
  } finally {
    await reader.cancel();
  }
});

/** The listener component on a free port of `bindAddress`, with its log lines collected. */
async function listening(bindAddress: string) {
  const lines: string[] = [];
  const service = new LogService((line) => lines.push(line));
  await service.start("info");
  const { snapshot } = parseConfig("", "/tmp/admin-test/phone-companion.cfg");
  const server = new AdminServer({
    status: () => ({}),
    view: () => sampleView(),
    health: () => ({ ok: true, reasons: [] }),
  });
  server.apply({
    config: { ...snapshot!, server: { ...snapshot!.server, bindAddress, httpPort: 0 } },
    profiles: new Map(),
  });
  return { lines, service, server };
}

Deno.test("a malformed request is logged with the text it sent, braces and all", async () => {
  const { lines, service, server } = await listening("127.0.0.1");
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.address!.port });
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\n{x}\r\n\r\n"));
    const reply = new Uint8Array(512);
    const n = await conn.read(reply);
    conn.close();
    assert.match(new TextDecoder().decode(reply.subarray(0, n ?? 0)), /^HTTP\/1\.1 400 /);
  } finally {
    await server.close();
    await service.close();
  }
  assert.ok(
    lines.some((l) => / WARN {2}\[http\] bad HTTP request from 127\.0\.0\.1: .*'\{x\}'$/.test(l)),
    lines.join("\n"),
  );
});

Deno.test("the log names where the page is in words and a URL a browser opens, never 0.0.0.0", async () => {
  assert.equal(
    listenerWords("0.0.0.0", 26536),
    "port 26536 of every address of this computer (here: http://localhost:26536/)",
  );
  assert.equal(listenerWords("::", 8080), listenerWords("0.0.0.0", 8080));
  assert.equal(listenerWords("192.168.1.20", 26536), "http://192.168.1.20:26536/");
  assert.equal(listenerWords("fe80::1", 26536), "http://[fe80::1]:26536/");
  const { lines, service, server } = await listening("0.0.0.0");
  const port = server.address!.port;
  await server.close();
  await service.close();
  const line = lines.find((l) => l.includes("status page and phone callbacks on"));
  assert.ok(
    line?.endsWith(
      `on port ${port} of every address of this computer (here: http://localhost:${port}/)`,
    ),
    line,
  );
  assert.ok(!lines.some((l) => l.includes("http://0.0.0.0")), lines.join("\n"));
});

Deno.test("a page that connects for live updates is sent only the sections it does not have", async () => {
  let view = sampleView();
  const a = app({ view: () => view });
  const html = await (await a.request("/", {}, local)).text();
  const have = [...html.matchAll(/<section id="(\w+)" data-v="([^"]+)">/g)]
    .map(([, id, v]) => `${id}:${v}`);
  assert.equal(have.length, 6);
  view = sampleView({ channels: [] });
  const res = await a.request(`/api/live?have=${encodeURIComponent(have.join(","))}`, {}, local);
  const reader = res.body!.getReader();
  try {
    const got = await events(reader, 3);
    assert.deepEqual(got.map((e) => e.event), ["summary", "channels", "ping"]);
    assert.match(got[1].data, /No plug-in is connected/);
  } finally {
    await reader.cancel();
  }
});
