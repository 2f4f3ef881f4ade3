/**
 * The administrator's view end to end, through real sockets (docs/status-page.md): the
 * health check while the configuration is broken and mended, the metrics scraped and parsed
 * after real traffic, phones going away on the page, and no secret anywhere.
 */

import assert from "node:assert/strict";
import { VERSION } from "../../src/version.ts";
import { waitFor } from "../helpers.ts";
import { secretOf, startServer, type TestServer } from "./_server.ts";

async function get(pcs: TestServer, path: string): Promise<Response> {
  return await fetch(`http://127.0.0.1:${pcs.httpPort}${path}`);
}

/** One sample of the Prometheus text format. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/**
 * Parses the Prometheus text format strictly enough to catch a malformed exposition: every
 * line is a comment, blank, or `name{labels} value`, and every sample's family has HELP and
 * TYPE.
 */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Map<string, string>();
  const helped = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === "TYPE") {
        assert.match(m[3], /^(counter|gauge|histogram|summary|untyped)$/, line);
        typed.set(m[2], m[3]);
      } else helped.add(m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) {
      labels[l[1]] = l[2];
    }
    // Prometheus reads NaN and Inf in any letter case (prom-client writes `Nan`).
    const value = /^nan$/i.test(m[3]) ? NaN : Number(m[3].replace(/^([+-]?)inf$/i, "$1Infinity"));
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(m[3]), line);
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(typed.has(m[1]) || typed.has(family), `no TYPE for ${m[1]}`);
    assert.ok(helped.has(m[1]) || helped.has(family), `no HELP for ${m[1]}`);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.ok(found.length > 0, `no sample ${name} ${JSON.stringify(labels)}`);
  return found.reduce((sum, s) => sum + s.value, 0);
}

Deno.test("/healthz: 200 while all is well, 503 with the reason while the file is broken, 200 once mended", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 1"] });
  const ok = await get(pcs, "/healthz");
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { status: "ok" });

  await pcs.reconfigure(["demoPhones = 1", "serverPort = 26535x"]);
  const broken = await get(pcs, "/healthz");
  assert.equal(broken.status, 503);
  assert.deepEqual(await broken.json(), {
    status: "unavailable",
    reasons: ["the configuration file has errors; running on the last good settings"],
  });
  const page = await (await get(pcs, "/")).text();
  assert.match(page, /has errors/);
  assert.match(page, /serverPort must be a port number 1-65535, got &#39;26535x&#39;/);

  await pcs.reconfigure(["demoPhones = 1"]);
  const mended = await get(pcs, "/healthz");
  assert.equal(mended.status, 200);
  await mended.body?.cancel();
});

Deno.test("/metrics after real traffic: commands, latency, callbacks, events, channels, phones, reloads, process", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2", "phoneCheckSeconds = 3600"] });
  const a = await pcs.channel("STLI;Version=2");
  assert.equal(await a.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  assert.equal(await a.command("MonitorStart 102"), "error_ind SUCCESS MonitorStart");
  assert.equal(await a.command("MakeCall 101 102"), "error_ind SUCCESS MakeCall");
  await pcs.phonesIdle();
  assert.ok((await a.sync()).length >= 3, "Initiated, Delivered on 102, ... arrived");
  assert.equal(await a.command("ClearConnection 101"), "error_ind SUCCESS ClearConnection");
  await pcs.phonesIdle();
  await a.sync();
  assert.match(await a.command(`{"method":"GET","resource":"/x"}`), /^error_ind ERROR RawCommand /);
  const key = secretOf(pcs.phone("101"));
  assert.equal(await pcs.rawGet(`/phone/101/onIncomingCall?k=nope${key}`), 403);
  assert.equal(await pcs.rawGet(`/phone/101/onIncomingCall?cid=1`), 403);
  assert.equal(await pcs.rawGet(`/phone/999/onIncomingCall?k=${key}`), 404);
  await pcs.reconfigure(["demoPhones = 2", "phoneCheckSeconds = 3600", "logLevel = loud"]);
  await pcs.reconfigure(["demoPhones = 2", "phoneCheckSeconds = 3600"]);
  await pcs.server.phones.checkNow();

  const res = await get(pcs, "/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const samples = parseMetrics(await res.text());
  const v = (name: string, labels?: Record<string, string>) => valueOf(samples, name, labels);
  assert.equal(v("pcs_commands_total", { command: "MakeCall", outcome: "ok" }), 1);
  assert.equal(v("pcs_commands_total", { command: "ClearConnection", outcome: "ok" }), 1);
  assert.equal(v("pcs_commands_total", { command: "MonitorStart", outcome: "ok" }), 2);
  assert.equal(v("pcs_commands_total", { command: "RawCommand", outcome: "error" }), 1);
  assert.equal(v("pcs_command_duration_seconds_count", { command: "MakeCall" }), 1);
  assert.equal(v("pcs_command_duration_seconds_bucket", { command: "MakeCall", le: "+Inf" }), 1);
  assert.ok(v("pcs_callbacks_accepted_total") >= 2, "the phones' own callbacks");
  assert.equal(v("pcs_callbacks_refused_total", { reason: "wrong_key" }), 1);
  assert.equal(v("pcs_callbacks_refused_total", { reason: "no_key" }), 1);
  assert.equal(v("pcs_callbacks_refused_total", { reason: "unknown_phone" }), 1);
  assert.equal(v("pcs_callbacks_refused_total", { reason: "too_long" }), 0, "listed before any");
  assert.equal(v("pcs_config_reloads_total", { outcome: "unreadable" }), 0);
  assert.ok(v("pcs_events_sent_total") >= 4, "Initiated, Delivered, ... to channel A");
  assert.equal(v("pcs_build_info", { version: VERSION }), 1);
  assert.equal(v("pcs_channels_open"), 1);
  assert.equal(v("pcs_channels_refused_total"), 0);
  assert.equal(v("pcs_phones_configured"), 2);
  assert.equal(v("pcs_phones_reachable"), 2);
  assert.equal(v("pcs_config_reloads_total", { outcome: "rejected" }), 1);
  assert.equal(v("pcs_config_reloads_total", { outcome: "applied" }), 1);
  assert.ok(v("process_cpu_seconds_total") > 0);
  // The process's real memory, not a 0 from a /proc the server may not read.
  const rss = v("process_resident_memory_bytes");
  assert.ok(rss > 10_000_000 && rss < 4_000_000_000, `resident memory ${rss}`);
  assert.ok(v("process_heap_bytes") > 1_000_000);
  for (const unreadable of ["process_open_fds", "process_virtual_memory_bytes"]) {
    assert.ok(!samples.some((s) => s.name === unreadable), `${unreadable} would read 0`);
  }
  assert.ok(samples.some((s) => s.name.startsWith("nodejs_")));
  // Per phone, so an alert can name the phone.
  assert.equal(v("pcs_phone_up", { extension: "101" }), 1);
  assert.equal(v("pcs_phone_up", { extension: "102" }), 1);
  assert.ok(v("pcs_http_connections_open") >= 1, "this scrape's own connection");
});

Deno.test("a phone that goes away shows as not reachable on the page, and back again", async () => {
  await using pcs = await startServer({
    phones: [{ extension: "201" }],
    linesFor: (phones) => [
      `phone=201@127.0.0.1:${phones.get("201")!.port} snom.cfg`,
      "phoneCheckSeconds = 3600",
    ],
  });
  const port = pcs.phone("201").port;
  await pcs.server.phones.checkNow();
  assert.match(
    await (await get(pcs, "/")).text(),
    /Phones reachable<\/span><span class="value">1 of 1</,
  );

  await pcs.phone("201").close();
  await pcs.server.phones.checkNow();
  const page = await (await get(pcs, "/")).text();
  assert.match(page, /0 of 1<\/span><span class="note"><span class="bad">not reachable: 201</);
  assert.match(page, /phone 201 at 127\.0\.0\.1:\d+ is unreachable/, "in recent problems");
  const health = await get(pcs, "/healthz");
  assert.equal(health.status, 200, "an unreachable phone is not the server's ill health");
  await health.body?.cancel();
  const down = parseMetrics(await (await get(pcs, "/metrics")).text());
  assert.equal(valueOf(down, "pcs_phone_up", { extension: "201" }), 0, "the alert can name it");

  await pcs.net.addPhone({ extension: "201", port });
  await pcs.server.phones.checkNow();
  assert.match(await (await get(pcs, "/")).text(), /1 of 1</);
  await waitFor(
    "the log line",
    () => pcs.logLines.some((l) => /phone 201 .* reachable again/.test(l)),
  );
});

Deno.test("passwords never reach the page, /api/status, /healthz, /metrics or the log", async () => {
  const secrets = ["Admin-Secret-4711", "phone-pass-0815", "client-secret-42"];
  await using pcs = await startServer({
    phones: [{ extension: "201", auth: "basic", username: "admin", password: secrets[1] }],
    linesFor: (phones) => [
      `phone=201@127.0.0.1:${phones.get("201")!.port} snom.cfg admin ${secrets[1]}`,
      `adminPassword = ${secrets[0]}`,
      "providerId = custom",
      "providerHostname = 127.0.0.1",
      "providerAuth = oauth",
      `providerClientSecret = ${secrets[2]}`,
      "phoneCheckSeconds = 3600",
    ],
  });
  const c = await pcs.channel("STLI;Version=2");
  assert.equal(await c.command("AnswerCall 201"), "error_ind SUCCESS AnswerCall");
  await pcs.server.phones.checkNow();
  for (const path of ["/", "/api/status", "/healthz", "/metrics"]) {
    const text = await (await get(pcs, path)).text();
    for (const s of secrets) assert.ok(!text.includes(s), `${path} shows a secret`);
  }
  const log = await pcs.stop();
  for (const s of secrets) assert.ok(!log.includes(s), "the log shows a secret");
});
