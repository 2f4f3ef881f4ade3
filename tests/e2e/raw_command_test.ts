/**
 * RawCommand end to end (docs/channel-protocol.md §5): JSON lines on many channels → the server's
 * one shared provider session → the fake provider, and back as one reply line each.
 */

import assert from "node:assert/strict";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { configLines, ringCentralLines } from "../provider/_helpers.ts";
import { startServer } from "./_server.ts";

const CHANNELS = 50;

Deno.test("RawCommands from 50 channels share one login and never put a secret in the log", async () => {
  const fake = await FakeProvider.start({ clientSecret: "Client-Secret-7342" });
  const creds = fake.credentials;
  const pcs = await startServer({
    lines: [
      "logLevel = debug",
      ...configLines(ringCentralLines(fake)),
    ],
  });
  try {
    const channels = await Promise.all(Array.from({ length: CHANNELS }, () => pcs.channel()));
    const command = '{"method":"GET","resource":"/restapi"}';
    await Promise.all(channels.map((c) => c.sendLine(command)));
    const replies = await Promise.all(channels.map((c) => c.readLine()));

    const base = `http://127.0.0.1:${fake.port}/restapi`;
    const expected = 'error_ind SUCCESS RawCommand {"status":200,"body":{' +
      `"uri":"${base}","apiVersions":[{"uri":"${base}/v1.0","versionString":"1.0.99"}],` +
      '"serverVersion":"fake","serverRevision":"0"}}';
    assert.deepEqual(replies, Array(CHANNELS).fill(expected));
    assert.equal(fake.tokenRequests().length, 1, "one login for every channel");
    assert.equal(fake.requestsTo("/restapi").length, CHANNELS);
    const bearer = `Bearer ${fake.accessTokens[0]}`;
    assert.ok(fake.requestsTo("/restapi").every((r) => r.headers.get("authorization") === bearer));

    // The same command with spaces, as the vendor's example writes it, and a broken one.
    const [c] = channels;
    assert.equal(await c.command('{"method" : "GET", "resource" : "/restapi"}'), expected);
    assert.match(
      await c.command('{"method":"GET"'),
      /^error_ind ERROR RawCommand \{"status":0,"error":"InvalidCommand: the line is not valid JSON [^"]*"\}$/,
    );

    const log = await pcs.stop();
    assert.equal(fake.revokeRequests().length, 1, "the session is revoked on shutdown");
    const secrets = [creds.clientSecret, creds.jwt, ...fake.accessTokens];
    for (const text of [...pcs.logLines, log]) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `a secret in: ${text}`);
    }
    assert.ok(pcs.logLines.some((l) => l.includes("RawCommand")), "debug lines were written");
  } finally {
    await pcs.close();
    await fake.close();
  }
});
