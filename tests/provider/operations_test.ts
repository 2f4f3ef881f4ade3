/**
 * The RingCentral operations the server calls are the ones RingCentral documents
 * (tests/fixtures/ringcentral/operations.json, docs/provider.md §13): every request of a whole
 * cloud-phone story matches one, every path the provider code writes matches one, the fake
 * refuses what the platform does not offer, and the cloud user's page names every app
 * permission they need.
 */

import assert from "node:assert/strict";
import { FakeProvider } from "../fakes/fake_provider.ts";
import {
  ALL_PERMISSIONS,
  EVENT_FILTERS,
  operationOf,
  OPERATIONS,
  SOURCE,
} from "../fakes/ringcentral_operations.ts";
import { startServer } from "../e2e/_server.ts";
import { configLines, ringCentralLines } from "./_helpers.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("the fixture names its MIT-licensed source and commit, and each operation its file", () => {
  assert.equal(SOURCE.licence, "MIT");
  assert.match(SOURCE.commit, /^[0-9a-f]{40}$/);
  for (const op of OPERATIONS) {
    assert.match(op.source, /^packages\/core\/src\/paths\//, op.name);
    assert.match(op.rateGroup, /^(Light|Medium|Heavy|Auth|NoThrottling)$/, op.name);
  }
});

Deno.test("every provider path the code writes is a documented operation", async () => {
  const dir = new URL("src/provider/", ROOT);
  const paths: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(new URL(entry.name, dir));
    const api = source.match(/const API = "([^"]+)"/)?.[1] ?? "";
    for (const m of source.matchAll(/`\$\{API\}([^`]*)`|"(\/restapi\/[^"]*)"/g)) {
      const raw = m[1] !== undefined ? api + m[1] : m[2];
      // The prefix itself, and a path built further (a party's action, checked by the story
      // test below), are not requests; an event filter is checked against the fixture's.
      if (raw === api || raw.endsWith("/")) continue;
      if (EVENT_FILTERS.some((f) => f.filter.replace("{accountId}", "~") === raw)) continue;
      paths.push(raw.replace(/\$\{[^}]+\}/g, "1").replace(/\?.*$/, ""));
    }
  }
  assert.ok(paths.length >= 12, `found ${paths.length}`);
  const undocumented = paths.filter((p) =>
    !["GET", "POST", "PUT", "DELETE"].some((m) => operationOf(m, p))
  );
  assert.deepEqual(undocumented, []);
});

Deno.test("the fake refuses what RingCentral does not offer: an account's device list is 404 Invalid URI", async () => {
  const fake = await FakeProvider.start();
  try {
    const token = await fetch(`${fake.url}/restapi/oauth/token`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${
          btoa(`${fake.credentials.clientId}:${fake.credentials.clientSecret}`)
        }`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: fake.credentials.jwt,
      }),
    }).then((r) => r.json());
    const get = (path: string) =>
      fetch(`${fake.url}${path}`, { headers: { Authorization: `Bearer ${token.access_token}` } })
        .then(async (r) => ({ status: r.status, body: await r.json() }));
    assert.deepEqual(await get("/restapi/v1.0/account/~/device"), {
      status: 404,
      body: {
        errorCode: "CMN-120",
        message: "Invalid URI",
        errors: [{ errorCode: "CMN-120", message: "Invalid URI" }],
      },
    });
    const ok = await get("/restapi/v1.0/account/~/extension/62001/device?type=SoftPhone");
    assert.equal(ok.status, 200);
  } finally {
    await fake.close();
  }
});

Deno.test("a whole cloud-phone story sends only documented operations", async () => {
  const fake = await FakeProvider.start({
    groups: { Heavy: { limit: 100, windowSeconds: 60, penaltySeconds: 60 } },
  });
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider", "phone=202@provider"],
  });
  try {
    const a = await pcs.channel("STLI;Version=2");
    // Unmonitored commands read the extension's active calls.
    t.ring("202", "+15550100");
    assert.equal(await a.command("AnswerCall 202"), "error_ind SUCCESS AnswerCall");
    assert.equal(await a.command("ClearConnection 202"), "error_ind SUCCESS ClearConnection");
    // Monitored: the subscription, and every command.
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    t.ring("201", "+15550123");
    await a.readLines(2);
    await a.sendLine("AnswerCall 201");
    await a.sendLine("HoldCall 201");
    await a.sendLine("RetrieveCall 201");
    await a.sendLine("TransferCall 201 202");
    await a.sync();
    t.ring("201", "+15550124");
    await a.sendLine("ClearConnection 201");
    await a.sendLine("MakeCall 201 +15550999");
    await a.sync();
    // A lost subscription that cannot be recovered: the account's active calls.
    fake.expireRecovery();
    fake.recoveryRefused = true;
    fake.dropWebSockets();
    await fake.waitFor((requests) =>
      requests.some((r) => r.operation === "listAccountActiveCalls" && r.status !== undefined)
    );
    const undocumented = fake.requests.filter((r) => r.operation === undefined);
    assert.deepEqual(undocumented.map((r) => `${r.method} ${r.path}`), []);
    const used = new Set(fake.requests.map((r) => r.operation));
    for (
      const name of [
        "token",
        "wstoken",
        "listExtensions",
        "listExtensionDevices",
        "listExtensionActiveCalls",
        "listAccountActiveCalls",
        "readCallSession",
        "answerCallParty",
        "holdCallParty",
        "unholdCallParty",
        "transferCallParty",
        "rejectParty",
        "deleteCallParty",
        "createCallOut",
      ]
    ) assert.ok(used.has(name), `${name} was used`);
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("without ReadCallLog MonitorStart fails with the provider's reason, and the page lists it", async () => {
  const fake = await FakeProvider.start({
    scope: ALL_PERMISSIONS.filter((p) => p !== "ReadCallLog"),
  });
  await using pcs = await startServer({
    lines: [
      ...configLines(ringCentralLines(fake)),
      "channelErrorDetail = on",
      "phone=201@provider",
    ],
  });
  try {
    const a = await pcs.channel();
    assert.equal(await a.command("MonitorStart 201"), "error_ind ERROR MonitorStart MonitorFailed");
    assert.ok(
      pcs.logLines.some((l) => l.includes("[ReadCallLog] permission")),
      "the log names the missing permission",
    );
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("docs/cloud-phones.md names every app permission the documented operations need", async () => {
  const page = await Deno.readTextFile(new URL("docs/cloud-phones.md", ROOT));
  for (const permission of ALL_PERMISSIONS) {
    assert.ok(page.includes(`\`${permission}\``), `${permission} is missing`);
  }
});
