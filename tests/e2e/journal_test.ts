/**
 * The call journal end to end: calls on simulated phones that no channel monitors end, and
 * `/api/calls` (JSON and CSV) lists them with their outcome; bad parameters get a 400 that
 * says what is wrong; an unreadable journal file is moved aside while the server runs on
 * (docs/call-journal.md).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "../helpers.ts";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { configLines, ringCentralLines } from "../provider/_helpers.ts";
import { startServer, type TestServer } from "./_server.ts";

async function get(pcs: TestServer, path: string): Promise<Response> {
  return await fetch(`http://127.0.0.1:${pcs.httpPort}${path}`);
}

async function calls(pcs: TestServer, query = ""): Promise<Record<string, unknown>[]> {
  const r = await get(pcs, `/api/calls${query}`);
  assert.equal(r.status, 200);
  return (await r.json()).calls;
}

/** Waits until the server has set the demo phone's action URLs (the journal follows it). */
async function followed(pcs: TestServer, extension: string): Promise<void> {
  await waitFor(
    `phone ${extension} set up`,
    () => pcs.logLines.some((l) => l.includes(`phone ${extension} reports to`)) || undefined,
  );
}

Deno.test("calls on phones no channel monitors reach /api/calls: answered and missed", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2", "journalDays = 90"] });
  await followed(pcs, "101");
  await followed(pcs, "102");
  const phone = pcs.phone("101");

  // Answered: an outside caller rings 101, the user answers, then hangs up.
  phone.callFrom("+49301234", { displayName: "Jane Doe" });
  await pcs.phonesIdle();
  phone.answer();
  await pcs.phonesIdle();
  phone.hangup();
  await pcs.phonesIdle();
  // Missed: a caller rings 102 and gives up.
  const other = pcs.phone("102");
  other.callFrom("0305551");
  await pcs.phonesIdle();
  other.remoteHangup();
  await pcs.phonesIdle();

  const all = await waitFor("two calls in the journal", async () => {
    const got = await calls(pcs);
    return got.length === 2 ? got : undefined;
  });
  const [missed, answered] = all;
  assert.equal(missed.device, "102");
  assert.equal(missed.outcome, "missed");
  assert.equal(missed.direction, "incoming");
  assert.equal(missed.number, "0305551");
  assert.equal(missed.answeredAt, null);
  assert.equal(answered.device, "101");
  assert.equal(answered.outcome, "answered");
  assert.equal(answered.name, "Jane Doe");
  assert.equal(answered.number, "+49301234");
  assert.match(String(answered.startedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(String(answered.answeredAt), /Z$/);
  assert.equal(typeof answered.callRef, "number");

  // Filters: the missed calls of 102; the national number finds the international one.
  assert.deepEqual((await calls(pcs, "?outcome=missed")).map((c) => c.device), ["102"]);
  assert.deepEqual((await calls(pcs, "?number=030%201234")).map((c) => c.device), ["101"]);
  assert.deepEqual(await calls(pcs, "?device=101&outcome=missed"), []);

  // Paging: one call per page, then no next.
  const first = await (await get(pcs, "/api/calls?limit=1")).json();
  assert.equal(first.calls.length, 1);
  assert.equal(typeof first.next, "string");
  const second = await (await get(pcs, `/api/calls?limit=1&cursor=${first.next}`)).json();
  assert.deepEqual(second.calls.map((c: { device: string }) => c.device), ["101"]);
  assert.equal(second.next, null);

  // /metrics counts them by outcome.
  const metrics = await (await get(pcs, "/metrics")).text();
  assert.match(metrics, /pcs_calls_total\{outcome="answered"\} 1/);
  assert.match(metrics, /pcs_calls_total\{outcome="missed"\} 1/);

  // The CSV: a header row, fields with a comma or quote quoted, CRLF line ends.
  phone.callFrom("0401", { displayName: 'Müller, Jörg "Sales"' });
  await pcs.phonesIdle();
  phone.remoteHangup();
  await pcs.phonesIdle();
  await waitFor("a third call", async () => (await calls(pcs)).length === 3 || undefined);
  const csv = await get(pcs, "/api/calls.csv?device=101");
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
  const lines = (await csv.text()).split("\r\n");
  assert.match(lines[0], /^id,device,direction,number,name,startedAt,/);
  assert.match(lines[1], /,101,incoming,0401,"Müller, Jörg ""Sales""",/);
  assert.match(lines[2], /,101,incoming,\+49301234,Jane Doe,.*,answered,,/);
  assert.equal(lines.at(-1), "", "the last row ends with CRLF too");
});

Deno.test("bad /api/calls parameters get a 400 that says what is wrong", async () => {
  await using pcs = await startServer({ lines: ["journalDays = 90"] });
  const cases: [string, RegExp][] = [
    [
      "?outcome=lost",
      /outcome must be one of answered, missed, rejected, busy, transferred, elsewhere, failed/,
    ],
    ["?since=yesterday", /since must be an ISO 8601 date/],
    ["?until=2026-02-30", /until must be an ISO 8601 date/],
    ["?since=2026-03-02&until=2026-03-01", /since must be before until/],
    ["?limit=0", /limit must be a whole number 1-/],
    ["?cursor=bm9wZQ", /cursor is not one this server gave/],
    ["?number=abc", /number must hold the end of a phone number/],
    ["?outcom=missed", /unknown parameter 'outcom'/],
    ["?device=1&device=2", /'device' is given twice/],
  ];
  for (const [query, message] of cases) {
    for (const path of ["/api/calls", "/api/calls.csv"]) {
      const r = await get(pcs, path + query);
      assert.equal(r.status, 400, path + query);
      assert.match(r.headers.get("content-type") ?? "", /application\/json/);
      assert.match((await r.json()).error, message, path + query);
    }
  }
  // A page of JSON holds at most 1000 calls; a CSV export up to 100,000.
  const json = await get(pcs, "/api/calls?limit=1001");
  assert.equal(json.status, 400);
  assert.match((await json.json()).error, /limit must be a whole number 1-1000, got '1001'/);
  const csv = await get(pcs, "/api/calls.csv?limit=1001");
  assert.equal(csv.status, 200);
  await csv.body?.cancel();
  const tooMany = await get(pcs, "/api/calls.csv?limit=100001");
  assert.match((await tooMany.json()).error, /limit must be a whole number 1-100000/);
  // Good parameters on an empty journal: an empty page.
  const ok = await get(pcs, "/api/calls?since=2026-03-01T08:00:00%2B01:00&outcome=missed");
  assert.deepEqual(await ok.json(), { calls: [], next: null });
  // A zone's + written unencoded (as FileMaker users will) still reads as +01:00.
  const plus = await get(pcs, "/api/calls?since=2026-03-01T08:00:00+01:00");
  assert.equal(plus.status, 200);
  await plus.body?.cancel();
});

Deno.test("with journalDays = 0 /api/calls says the journal is off", async () => {
  await using pcs = await startServer({ lines: ["journalDays = 0"] });
  const r = await get(pcs, "/api/calls");
  assert.equal(r.status, 503);
  assert.match((await r.json()).error, /journal is off/);
});

Deno.test("an unreadable journal file is moved aside and the server runs on with a new one", async () => {
  await using pcs = await startServer({ lines: ["journalDays = 0", "demoPhones = 1"] });
  const path = join(pcs.configFile, "..", "phone-companion-calls.sqlite");
  await Deno.writeTextFile(path, "garbage, not a database ".repeat(100));
  await pcs.reconfigure(["journalDays = 90", "demoPhones = 1"]);
  assert.ok(
    pcs.logLines.some((l) => /ERROR.*could not be read.*moved to .*\.corrupt-/.test(l)),
    pcs.logLines.join("\n"),
  );
  const moved = [...Deno.readDirSync(join(pcs.configFile, ".."))].filter((e) =>
    e.name.startsWith("phone-companion-calls.sqlite.corrupt-")
  );
  assert.equal(moved.length, 1);
  // The server still answers, and the new journal takes calls.
  await followed(pcs, "101");
  pcs.phone("101").callFrom("0301234");
  await pcs.phonesIdle();
  pcs.phone("101").remoteHangup();
  await pcs.phonesIdle();
  await waitFor("a call", async () => (await calls(pcs)).length === 1 || undefined);
  const status = await (await get(pcs, "/api/status")).json();
  assert.match(status.journal.movedAside, /\.corrupt-/);
});

Deno.test("cloud phones no channel monitors are watched for the journal: answered and missed", async () => {
  const fake = await FakeProvider.start({
    groups: { Heavy: { limit: 100, windowSeconds: 60, penaltySeconds: 60 } },
  });
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [
      ...configLines(ringCentralLines(fake)),
      "phone=201@provider",
      "journalDays = 90",
    ],
  });
  try {
    await waitFor("the subscription", () => fake.subscribedSockets === 1 || undefined);
    const answered = t.ring("201", "+15550123", "Jane");
    await waitFor(
      "ringing",
      () => pcs.server.monitor.status().devices[0]?.calls.length || undefined,
    );
    t.setStatus(answered, "201", "Answered");
    await waitFor(
      "answered",
      () => pcs.server.monitor.status().devices[0]?.calls[0]?.state === "connected" || undefined,
    );
    t.farHangUp(answered);
    const missed = t.ring("201", "+15550999");
    await waitFor(
      "ringing again",
      () => pcs.server.monitor.status().devices[0]?.calls.length || undefined,
    );
    t.farHangUp(missed);
    const got = await waitFor("two calls", async () => {
      const all = await calls(pcs);
      return all.length === 2 ? all : undefined;
    });
    assert.deepEqual(
      got.map((c) => [c.device, c.number, c.outcome]),
      [["201", "+15550999", "missed"], ["201", "+15550123", "answered"]],
    );
    assert.equal(got[1].name, "Jane");
  } finally {
    await fake.close();
  }
});

Deno.test("a cloud call declined in the RingCentral app is rejected, one the far end turns down is busy", async () => {
  const fake = await FakeProvider.start();
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider", "journalDays = 90"],
  });
  try {
    await waitFor("the subscription", () => fake.subscribedSockets === 1 || undefined);
    const ringing = () => pcs.server.monitor.status().devices[0]?.calls.length || undefined;
    const declined = t.ring("201", "+15550123");
    await waitFor("ringing", ringing);
    t.setStatus(declined, "201", "Disconnected", "Rejected");
    await waitFor("ended", () => !ringing() || undefined);
    // An outgoing call the far end turns down: the provider's reason says so.
    const channel = await pcs.channel();
    assert.equal(await channel.command("MakeCall 201 +15550199"), "error_ind SUCCESS MakeCall");
    const out = [...t.sessions.values()].find((s) => s.parties[0].to.phoneNumber === "+15550199")!;
    await waitFor("dialing", ringing);
    t.setStatus(out.id, "201", "Disconnected", "TargetBusy");
    const got = await waitFor("two calls", async () => {
      const all = await calls(pcs);
      return all.length === 2 ? all : undefined;
    });
    assert.deepEqual(
      got.map((c) => [c.direction, c.number, c.outcome]),
      [["outgoing", "+15550199", "busy"], ["incoming", "+15550123", "rejected"]],
    );
  } finally {
    await fake.close();
  }
});
