import assert from "node:assert/strict";
import { ProviderService } from "../../src/provider/mod.ts";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { raw, rig, ringCentralLines, settingsFrom, withLog } from "./_helpers.ts";

const EXTENSION = "/restapi/v1.0/account/~/extension/~";
const GET_EXTENSION = { method: "GET", resource: EXTENSION };
const JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

function grantOf(body: string): string | null {
  return new URLSearchParams(body).get("grant_type");
}

Deno.test("a RawCommand logs in with the JWT grant and sends the bearer token", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, GET_EXTENSION);
  assert.equal(reply.ok, true, reply.json);
  assert.equal(reply.status, 200);
  assert.equal((reply.body as { extensionNumber: string }).extensionNumber, "101");

  assert.equal(r.fake.tokenRequests().length, 1);
  const [login] = r.fake.tokenRequests();
  const form = new URLSearchParams(login.body);
  assert.equal(form.get("grant_type"), JWT_GRANT);
  assert.equal(form.get("assertion"), r.fake.credentials.jwt);
  const { clientId, clientSecret } = r.fake.credentials;
  assert.equal(login.headers.get("authorization"), `Basic ${btoa(`${clientId}:${clientSecret}`)}`);
  assert.match(login.headers.get("content-type") ?? "", /^application\/x-www-form-urlencoded/);
  const [api] = r.fake.requestsTo(EXTENSION);
  assert.equal(api.headers.get("authorization"), `Bearer ${r.fake.accessTokens[0]}`);
});

Deno.test("without providerJwt the legacy password grant logs in", async () => {
  const fake = await FakeProvider.start({ users: { "+15550100": "p@ss+word&x" } });
  const provider = new ProviderService();
  try {
    await provider.apply(
      await settingsFrom(ringCentralLines(fake, {
        providerJwt: null,
        providerUsername: "+15550100",
        providerPassword: "p@ss+word&x",
      })),
    );
    const reply = await raw(provider, GET_EXTENSION);
    assert.equal(reply.ok, true, reply.json);
    const form = new URLSearchParams(fake.tokenRequests()[0].body);
    assert.equal(form.get("grant_type"), "password");
    assert.equal(form.get("username"), "+15550100");
    assert.equal(form.get("password"), "p@ss+word&x");
    const status = provider.status();
    assert.ok(status.configured);
    assert.equal(status.session?.grant, "password");
  } finally {
    await provider.close();
    await fake.close();
  }
});

Deno.test("100 concurrent RawCommands produce exactly one token request", async () => {
  await using r = await rig({
    fake: { groups: { Light: { limit: 1000, windowSeconds: 60, penaltySeconds: 60 } } },
  });
  const replies = await Promise.all(
    Array.from({ length: 100 }, () => raw(r.provider, GET_EXTENSION)),
  );
  assert.equal(replies.filter((x) => x.ok).length, 100);
  assert.equal(r.fake.tokenRequests().length, 1);
  assert.equal(r.fake.requestsTo(EXTENSION).length, 100);
  const bearer = `Bearer ${r.fake.accessTokens[0]}`;
  assert.ok(r.fake.requestsTo(EXTENSION).every((q) => q.headers.get("authorization") === bearer));
});

for (const lifetime of [100, 7200]) {
  Deno.test(`a token living ${lifetime} s is refreshed shortly before it expires`, async () => {
    await using r = await rig({ fake: { accessTokenSeconds: lifetime } });
    const margin = Math.min(60, lifetime / 10);
    assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
    const loginAt = r.fake.logins()[0].at;

    r.clock.advance((lifetime - margin - 1) * 1000);
    assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
    assert.equal(r.fake.tokenRequests().length, 1, "too early for a refresh");

    r.clock.advance(2000);
    assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
    const refreshes = r.fake.tokenRequests("refresh_token");
    assert.equal(refreshes.length, 1);
    assert.ok(refreshes[0].at < loginAt + lifetime * 1000, "refreshed before expiry");
    assert.equal(r.fake.logins().length, 1);
    const last = r.fake.requestsTo(EXTENSION).at(-1)!;
    assert.equal(last.headers.get("authorization"), `Bearer ${r.fake.accessTokens[1]}`);
    assert.ok(r.fake.requestsTo(EXTENSION).every((q) => q.status === 200));
  });
}

Deno.test("each refresh uses the refresh token of the previous answer, once", async () => {
  await using r = await rig({ fake: { accessTokenSeconds: 100 } });
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  for (let i = 0; i < 3; i++) {
    r.clock.advance(95_000);
    assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  }
  const grants = r.fake.tokenRequests().map((q) => grantOf(q.body));
  assert.deepEqual(grants, [JWT_GRANT, "refresh_token", "refresh_token", "refresh_token"]);
  const answers = r.fake.tokenRequests().map((q) => q.status);
  assert.deepEqual(answers, [200, 200, 200, 200], "a reused refresh token would be refused");
  const used = r.fake.tokenRequests("refresh_token").map((q) =>
    new URLSearchParams(q.body).get("refresh_token")
  );
  assert.equal(new Set(used).size, 3);
});

Deno.test("a refused refresh token leads to one new login", async () => {
  await using r = await rig({ fake: { accessTokenSeconds: 100 } });
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  r.fake.endSessions();
  r.clock.advance(95_000);
  const reply = await raw(r.provider, GET_EXTENSION);
  assert.equal(reply.ok, true, reply.json);
  const grants = r.fake.tokenRequests().map((q) => grantOf(q.body));
  assert.deepEqual(grants, [JWT_GRANT, "refresh_token", JWT_GRANT]);
});

Deno.test("a token ended elsewhere is renewed once and the command sent once more", async () => {
  await using r = await rig();
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  r.fake.endSessions();
  const replies = await Promise.all(
    Array.from({ length: 20 }, () => raw(r.provider, GET_EXTENSION)),
  );
  assert.ok(replies.every((x) => x.ok), JSON.stringify(replies.find((x) => !x.ok)));
  const grants = r.fake.tokenRequests().map((q) => grantOf(q.body));
  assert.deepEqual(grants, [JWT_GRANT, "refresh_token", JWT_GRANT], "one renewal for all");
});

Deno.test("a 401 that persists after one renewal is answered, not looped", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, 401, 401, 401, 401);
  const reply = await raw(r.provider, GET_EXTENSION);
  assert.equal(reply.ok, false);
  assert.equal(reply.status, 401);
  assert.equal(r.fake.requestsTo(EXTENSION).length, 2);
  assert.deepEqual(
    r.fake.tokenRequests().map((q) => grantOf(q.body)),
    [JWT_GRANT, "refresh_token"],
  );
});

Deno.test("a provider that refuses even fresh tokens gets at most one renewal a minute", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, ...Array<number>(10).fill(401));
  for (let i = 0; i < 3; i++) assert.equal((await raw(r.provider, GET_EXTENSION)).status, 401);
  assert.deepEqual(
    r.fake.tokenRequests().map((q) => grantOf(q.body)),
    [JWT_GRANT, "refresh_token"],
    "one renewal for the first 401, none for the next ones",
  );
  assert.equal(r.fake.requestsTo(EXTENSION).length, 4, "one retry, then each 401 answered");
  r.clock.advance(60_000);
  assert.equal((await raw(r.provider, GET_EXTENSION)).status, 401);
  assert.equal(r.fake.tokenRequests().length, 3, "a minute later a 401 may renew once more");
});

Deno.test("a password grant the app may not use is explained in plain words", async () => {
  await withLog(async (log) => {
    await using r = await rig({
      fake: { passwordGrant: "unauthorized_client" },
      lines: { providerJwt: null, providerUsername: "+15550100", providerPassword: "pw" },
    });
    const reply = await raw(r.provider, GET_EXTENSION);
    assert.equal(reply.ok, false);
    assert.equal(reply.status, 400);
    assert.match(reply.error!, /^LoginRefused: the app is not allowed to use the password grant/);
    assert.match(reply.error!, /create a JWT credential and set providerJwt/);
    assert.match(reply.error!, /unauthorized_client/);
    assert.ok(
      log.some((l) => / ERROR .*not allowed to use the password grant.*providerJwt/.test(l)),
      log.join("\n"),
    );
    assert.equal(r.fake.requestsTo(EXTENSION).length, 0);
  });
});

Deno.test("a password grant refused for MFA says to use a JWT credential", async () => {
  await using r = await rig({
    fake: { passwordGrant: "mfa_required" },
    lines: { providerJwt: null, providerUsername: "+15550100", providerPassword: "user-password" },
  });
  const reply = await raw(r.provider, GET_EXTENSION);
  assert.equal(reply.status, 400);
  assert.match(reply.error!, /multi-factor authentication/);
  assert.match(reply.error!, /set providerJwt/);
  assert.match(reply.error!, /OAU-168/);
});

Deno.test("a wrong client secret is reported as such", async () => {
  await using r = await rig({ lines: { providerClientSecret: "not-the-secret" } });
  const reply = await raw(r.provider, GET_EXTENSION);
  assert.equal(reply.status, 401);
  assert.match(reply.error!, /client id or secret was refused/);
  assert.doesNotMatch(reply.json, /not-the-secret/);
});

Deno.test("a refused login is not repeated before the cool-down has passed", async () => {
  await using r = await rig({ fake: { jwtGrant: "unauthorized_client" } });
  const first = await raw(r.provider, GET_EXTENSION);
  assert.match(first.error!, /not allowed to use the JWT grant/);
  for (let i = 0; i < 5; i++) {
    const again = await raw(r.provider, GET_EXTENSION);
    assert.equal(again.error, first.error);
  }
  assert.equal(r.fake.tokenRequests().length, 1);
  r.clock.advance(60_000);
  await raw(r.provider, GET_EXTENSION);
  assert.equal(r.fake.tokenRequests().length, 2);
});

Deno.test("OAuth without client credentials answers NotConfigured without a request", async () => {
  await using r = await rig({ lines: { providerClientId: null, providerClientSecret: null } });
  const reply = await raw(r.provider, GET_EXTENSION);
  assert.deepEqual([reply.ok, reply.status], [false, 0]);
  assert.match(reply.error!, /^NotConfigured: OAuth needs providerClientId/);
  assert.equal(r.fake.requests.length, 0);
});

Deno.test("tokens and secrets never reach the log or the status", async () => {
  await withLog(async (log) => {
    const statuses: string[] = [];
    {
      await using r = await rig({ fake: { accessTokenSeconds: 100 } });
      await raw(r.provider, GET_EXTENSION);
      statuses.push(JSON.stringify(r.provider.status()));
      r.clock.advance(95_000);
      await raw(r.provider, GET_EXTENSION);
      r.fake.endSessions();
      await raw(r.provider, GET_EXTENSION);
      statuses.push(JSON.stringify(r.provider.status()));
      await r.provider.close();
      const secrets = [
        ...r.fake.accessTokens,
        ...r.fake.tokenRequests().map((q) => new URLSearchParams(q.body).get("refresh_token"))
          .filter((t): t is string => t !== null),
        r.fake.credentials.jwt,
        r.fake.credentials.clientSecret,
      ];
      assert.ok(secrets.length >= 6);
      assert.ok(log.some((l) => /logged in/.test(l)) && log.some((l) => /revoked/.test(l)));
      for (const s of secrets) {
        for (const text of [...log, ...statuses]) assert.ok(!text.includes(s), `leak in ${text}`);
      }
    }
  });
});

Deno.test("the status shows the session without any token", async () => {
  await using r = await rig({ fake: { accessTokenSeconds: 3600 } });
  const before = r.provider.status();
  assert.ok(before.configured);
  assert.equal(before.session?.state, "idle");
  await raw(r.provider, GET_EXTENSION);
  const after = r.provider.status();
  assert.ok(after.configured);
  assert.equal(after.id, "ringcentral");
  assert.equal(after.url, r.fake.url);
  assert.equal(after.session?.state, "ready");
  assert.equal(after.session?.grant, "jwt");
  assert.equal(after.session?.expiresAt, r.fake.logins()[0].at + 3600_000);
  assert.equal(after.session?.logins, 1);
  assert.deepEqual(after.rateLimits.groups.map((g) => [g.group, g.remaining]), [
    ["Auth", 4],
    ["Light", 49],
  ]);
});
