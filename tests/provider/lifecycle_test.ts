import assert from "node:assert/strict";
import { loadSettings } from "../../src/server/mod.ts";
import { ProviderService } from "../../src/provider/mod.ts";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { raw, rig, ringCentralLines, settingsFrom } from "./_helpers.ts";

const EXTENSION = "/restapi/v1.0/account/~/extension/~";
const GET_EXTENSION = { method: "GET", resource: EXTENSION };

Deno.test("closing the service revokes the session", async () => {
  await using r = await rig();
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  await r.provider.close();
  const [revoke] = r.fake.revokeRequests();
  assert.ok(revoke, "a revoke request");
  assert.equal(new URLSearchParams(revoke.body).get("token"), r.fake.accessTokens[0]);
  const { clientId, clientSecret } = r.fake.credentials;
  assert.equal(revoke.headers.get("authorization"), `Basic ${btoa(`${clientId}:${clientSecret}`)}`);
  const after = await raw(r.provider, GET_EXTENSION);
  assert.deepEqual([after.status, after.error], [0, "Stopped: the server is shutting down"]);
});

Deno.test("closing a service that never logged in sends nothing", async () => {
  await using r = await rig();
  await r.provider.close();
  assert.equal(r.fake.requests.length, 0);
});

Deno.test("a revoke the provider refuses is ignored", async () => {
  await using r = await rig();
  await raw(r.provider, GET_EXTENSION);
  r.fake.failNext("/restapi/oauth/revoke", 500, 500);
  await r.provider.close();
  assert.equal(r.fake.revokeRequests().length, 1, "revoke is not retried");
});

Deno.test("applying unchanged provider settings keeps the session", async () => {
  await using r = await rig();
  await raw(r.provider, GET_EXTENSION);
  await r.provider.apply(await settingsFrom(ringCentralLines(r.fake, { logLevel: "debug" })));
  await raw(r.provider, GET_EXTENSION);
  assert.equal(r.fake.tokenRequests().length, 1);
  assert.equal(r.fake.revokeRequests().length, 0);
});

Deno.test("changed provider settings revoke the old session and log in anew", async () => {
  await using r = await rig();
  await raw(r.provider, GET_EXTENSION);
  const other = await FakeProvider.start({ clock: r.clock });
  try {
    await r.provider.apply(await settingsFrom(ringCentralLines(other)));
    assert.equal(r.fake.revokeRequests().length, 1, "old session revoked");
    assert.equal(
      new URLSearchParams(r.fake.revokeRequests()[0].body).get("token"),
      r.fake.accessTokens[0],
    );
    const reply = await raw(r.provider, GET_EXTENSION);
    assert.equal(reply.ok, true, reply.json);
    assert.equal(other.logins().length, 1);
    assert.equal(r.fake.requestsTo(EXTENSION).length, 1, "nothing more to the old provider");
    await r.provider.close();
    assert.equal(other.revokeRequests().length, 1);
  } finally {
    await other.close();
  }
});

Deno.test("a changed timeout alone still starts a new session (the old token is dropped)", async () => {
  await using r = await rig();
  await raw(r.provider, GET_EXTENSION);
  await r.provider.apply(
    await settingsFrom(ringCentralLines(r.fake, { providerTimeoutSeconds: 9 })),
  );
  await raw(r.provider, GET_EXTENSION);
  assert.equal(r.fake.revokeRequests().length, 1);
  assert.equal(r.fake.logins().length, 2);
});

Deno.test("without a provider a RawCommand answers ERROR with status 0", async () => {
  const provider = new ProviderService();
  try {
    await provider.apply(await settingsFrom({}));
    const reply = await raw(provider, GET_EXTENSION);
    assert.deepEqual(JSON.parse(reply.json), {
      status: 0,
      error: "NoProvider: no provider is configured (providerId is empty)",
    });
    assert.deepEqual(provider.status(), { configured: false });
  } finally {
    await provider.close();
  }
});

Deno.test("removing the provider from the settings revokes its session", async () => {
  await using r = await rig();
  await raw(r.provider, GET_EXTENSION);
  await r.provider.apply(await settingsFrom({}));
  assert.equal(r.fake.revokeRequests().length, 1);
  assert.match((await raw(r.provider, GET_EXTENSION)).error!, /^NoProvider/);
});

Deno.test("a custom provider with a bearer token sends that token, no login", async () => {
  const fake = await FakeProvider.start();
  const provider = new ProviderService();
  try {
    await provider.apply(
      await settingsFrom({
        providerId: "custom",
        providerProtocol: "HTTP",
        providerHostname: "127.0.0.1",
        providerPort: fake.port,
        providerAuth: "bearer",
        providerToken: "static-token-123",
      }),
    );
    const reply = await raw(provider, { method: "GET", resource: "/echo/x?y=1" });
    assert.equal(reply.ok, true, reply.json);
    const echo = reply.body as Record<string, string>;
    assert.equal(echo.authorization, "Bearer static-token-123");
    assert.equal(echo.search, "?y=1");
    assert.equal(fake.tokenRequests().length, 0);
    await provider.close();
    assert.equal(fake.revokeRequests().length, 0);
  } finally {
    await provider.close();
    await fake.close();
  }
});

Deno.test("a custom provider with Basic auth sends the username and password", async () => {
  const fake = await FakeProvider.start();
  const provider = new ProviderService();
  try {
    await provider.apply(
      await settingsFrom({
        providerId: "custom",
        providerProtocol: "HTTP",
        providerHostname: "127.0.0.1",
        providerPort: fake.port,
        providerAuth: "basic",
        providerUsername: "api-user",
        providerPassword: "s3cret:ü",
      }),
    );
    const reply = await raw(provider, { method: "DELETE", resource: "/echo/item/7" });
    const echo = reply.body as Record<string, string>;
    const bytes = new TextEncoder().encode("api-user:s3cret:ü");
    assert.equal(echo.authorization, `Basic ${btoa(String.fromCharCode(...bytes))}`);
    assert.equal(echo.method, "DELETE");
  } finally {
    await provider.close();
    await fake.close();
  }
});

Deno.test("a custom provider without auth sends no Authorization header", async () => {
  const fake = await FakeProvider.start();
  const provider = new ProviderService();
  try {
    await provider.apply(
      await settingsFrom({
        providerId: "custom",
        providerProtocol: "HTTP",
        providerHostname: "127.0.0.1",
        providerPort: fake.port,
      }),
    );
    const reply = await raw(provider, { method: "GET", resource: "/echo" });
    const echo = reply.body as Record<string, string | null>;
    assert.equal(echo.authorization, null);
    assert.equal(echo.accept, "application/json");
    assert.match(echo.userAgent ?? "", /^PhoneCompanionServer\//);
    const status = provider.status();
    assert.ok(status.configured);
    assert.equal(status.auth, "none");
    assert.equal(status.session, undefined);
  } finally {
    await provider.close();
    await fake.close();
  }
});

Deno.test("alliancephones logs in like RingCentral on its own hostname", async () => {
  const fake = await FakeProvider.start();
  const provider = new ProviderService();
  try {
    await provider.apply(
      await settingsFrom(ringCentralLines(fake, { providerId: "alliancephones" })),
    );
    const reply = await raw(provider, GET_EXTENSION);
    assert.equal(reply.ok, true, reply.json);
    assert.equal(fake.logins().length, 1);
    const status = provider.status();
    assert.ok(status.configured);
    assert.deepEqual([status.id, status.url, status.auth], ["alliancephones", fake.url, "oauth"]);
  } finally {
    await provider.close();
    await fake.close();
  }
});

Deno.test("alliancephones without a hostname is a configuration error", async () => {
  const result = await loadSettings("providerId = alliancephones\n", "/nonexistent/x.cfg");
  assert.equal(result.settings, undefined);
  assert.ok(result.findings.some((f) => f.level === "error" && f.key === "providerHostname"));
});

Deno.test("ringcentral without a hostname targets platform.ringcentral.com over HTTPS", async () => {
  const provider = new ProviderService();
  try {
    await provider.apply(await settingsFrom({ providerId: "ringcentral" }));
    const status = provider.status();
    assert.ok(status.configured);
    assert.equal(status.url, "https://platform.ringcentral.com:443");
    assert.equal(status.auth, "oauth");
  } finally {
    await provider.close();
  }
});
