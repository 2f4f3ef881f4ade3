import assert from "node:assert/strict";
import { ProviderService } from "../../src/provider/mod.ts";
import { isPause, raw, rig, settingsFrom } from "./_helpers.ts";

const EXTENSION = "/restapi/v1.0/account/~/extension/~";
const GET_EXTENSION = { method: "GET", resource: EXTENSION };

Deno.test("5xx answers are tried again after 1 s, 2 s and 4 s, then answered", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, 500, 502, 504, 500);
  const reply = raw(r.provider, GET_EXTENSION);
  const pauses: number[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const ms = await r.clock.nextTimer(isPause);
    assert.equal(r.fake.requestsTo(EXTENSION).length, attempt, "nothing sent during a pause");
    pauses.push(ms);
    r.clock.advance(ms);
  }
  const result = await reply;
  assert.deepEqual(pauses, [1000, 2000, 4000]);
  assert.deepEqual([result.ok, result.status], [false, 500]);
  assert.equal(result.error, "HTTP 500 Internal Server Error");
  assert.equal(r.fake.requestsTo(EXTENSION).length, 4);
});

Deno.test("a 5xx followed by a good answer is a SUCCESS", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, 503);
  const reply = raw(r.provider, GET_EXTENSION);
  r.clock.advance(await r.clock.nextTimer(isPause));
  const result = await reply;
  assert.equal(result.ok, true, result.json);
  assert.equal(r.fake.requestsTo(EXTENSION).length, 2);
});

Deno.test("a 503 with Retry-After is tried again after that pause", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, { status: 503, headers: { "Retry-After": "7" } });
  const reply = raw(r.provider, GET_EXTENSION);
  const pause = await r.clock.nextTimer(isPause);
  assert.equal(pause, 7000);
  r.clock.advance(6999);
  assert.equal(r.fake.requestsTo(EXTENSION).length, 1);
  r.clock.advance(1);
  assert.equal((await reply).ok, true);
});

Deno.test("a 503 asking for a longer pause than 30 s is answered at once", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, { status: 503, headers: { "Retry-After": "120" } });
  const reply = await raw(r.provider, GET_EXTENSION);
  assert.equal(reply.status, 503);
  assert.equal(r.fake.requestsTo(EXTENSION).length, 1);
});

for (const status of [400, 403, 404, 409, 422]) {
  Deno.test(`a ${status} answer is never tried again`, async () => {
    await using r = await rig();
    r.fake.failNext(EXTENSION, {
      status,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ errors: [{ errorCode: "CMN-999", message: "Refused here" }] }),
    });
    const reply = await raw(r.provider, GET_EXTENSION);
    assert.deepEqual(JSON.parse(reply.json), { status, error: "CMN-999: Refused here" });
    assert.equal(r.fake.requestsTo(EXTENSION).length, 1);
    assert.deepEqual(r.clock.pendingDelays(), []);
  });
}

Deno.test("an unknown resource answers the provider's own 404 reason", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, { method: "GET", resource: "/restapi/v1.0/nothing" });
  assert.equal(reply.status, 404);
  assert.equal(reply.error, "CMN-120: Invalid URI");
});

Deno.test("a request that times out is tried again, then answered Timeout", async () => {
  await using r = await rig({ lines: { providerTimeoutSeconds: 20 } });
  await raw(r.provider, { method: "GET", resource: "/restapi" });
  r.fake.hold(EXTENSION, 4);
  const reply = raw(r.provider, GET_EXTENSION);
  for (let attempt = 1; attempt <= 4; attempt++) {
    await r.fake.waitFor((q) => q.filter((x) => x.path === EXTENSION).length === attempt);
    r.clock.advance(20_000);
    if (attempt < 4) r.clock.advance(await r.clock.nextTimer(isPause));
  }
  const result = await reply;
  assert.deepEqual(JSON.parse(result.json), {
    status: 0,
    error: "Timeout: the provider did not answer within 20 s",
  });
});

Deno.test("a slow answer within the timeout is waited for", async () => {
  await using r = await rig({ lines: { providerTimeoutSeconds: 20 } });
  await raw(r.provider, { method: "GET", resource: "/restapi" });
  r.fake.hold(EXTENSION);
  const reply = raw(r.provider, GET_EXTENSION);
  await r.fake.waitFor((q) => q.some((x) => x.path === EXTENSION));
  r.clock.advance(19_999);
  r.fake.releaseHeld();
  const result = await reply;
  assert.equal(result.ok, true, result.json);
  assert.equal(r.fake.requestsTo(EXTENSION).length, 1);
});

Deno.test("a retry is not sent into a penalty that began during its pause", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, 503, {
    status: 429,
    headers: { "X-Rate-Limit-Group": "Light", "Retry-After": "60" },
  });
  const first = raw(r.provider, GET_EXTENSION);
  await r.clock.nextTimer(isPause);
  const second = await raw(r.provider, GET_EXTENSION);
  assert.equal(second.status, 429);
  r.clock.advance(1000);
  assert.equal((await first).json, JSON.stringify({ status: 429, error: "RateLimited" }));
  assert.equal(r.fake.requestsTo(EXTENSION).length, 2);
  assert.equal(r.fake.requestsInPenalty().length, 0);
});

Deno.test("closing the service ends a command waiting to try again", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, 500);
  const reply = raw(r.provider, GET_EXTENSION);
  await r.clock.nextTimer(isPause);
  await r.provider.close();
  assert.deepEqual(JSON.parse((await reply).json), {
    status: 0,
    error: "Stopped: the server is shutting down",
  });
  assert.equal(r.fake.requestsTo(EXTENSION).length, 1);
});

Deno.test("an unreachable provider is tried again, then answered Unreachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  let calls = 0;
  const provider = new ProviderService({
    retry: { baseDelayMs: 1, maxDelayMs: 1 },
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
  });
  try {
    await provider.apply(
      await settingsFrom({
        providerId: "custom",
        providerProtocol: "HTTP",
        providerHostname: "127.0.0.1",
        providerPort: port,
      }),
    );
    const reply = await raw(provider, { method: "GET", resource: "/echo" });
    assert.equal(reply.status, 0);
    assert.match(reply.error!, /^Unreachable: .*Connection refused/);
    assert.equal(calls, 4);
    // A refused connection carried nothing: even a POST is sent again.
    const posted = await raw(provider, { method: "POST", resource: "/echo", body: {} });
    assert.match(posted.error!, /^Unreachable: .*Connection refused/);
    assert.equal(calls, 8);
    const status = provider.status();
    assert.ok(status.configured);
    assert.deepEqual([status.commands, status.failures], [2, 2]);
  } finally {
    await provider.close();
  }
});

const RINGOUT = "/restapi/v1.0/account/~/extension/~/ring-out";
const POST_RINGOUT = {
  method: "POST",
  resource: RINGOUT,
  body: { from: { phoneNumber: "+15551230001" }, to: { phoneNumber: "+15551230002" } },
};

Deno.test("a POST answered 500 is not sent again: the provider may already have acted", async () => {
  await using r = await rig();
  r.fake.failNext(RINGOUT, 500);
  const reply = await raw(r.provider, POST_RINGOUT);
  assert.equal(reply.status, 500);
  assert.equal(r.fake.requestsTo(RINGOUT).length, 1, "a RingOut was sent twice");
});

Deno.test("a POST that timed out is not sent again", async () => {
  await using r = await rig({ lines: { providerTimeoutSeconds: 20 } });
  await raw(r.provider, { method: "GET", resource: "/restapi" });
  r.fake.hold(RINGOUT, 1);
  const reply = raw(r.provider, POST_RINGOUT);
  await r.fake.waitFor((q) => q.some((x) => x.path === RINGOUT));
  r.clock.advance(20_000);
  const result = await reply;
  assert.match(result.error!, /^Timeout/);
  assert.equal(r.fake.requestsTo(RINGOUT).length, 1);
});

Deno.test("a POST answered 503 with Retry-After is sent again after that pause", async () => {
  await using r = await rig();
  r.fake.failNext(RINGOUT, { status: 503, headers: { "Retry-After": "3" } });
  const reply = raw(r.provider, POST_RINGOUT);
  assert.equal(await r.clock.nextTimer(isPause), 3000);
  r.clock.advance(3000);
  assert.equal((await reply).ok, true);
  assert.equal(r.fake.requestsTo(RINGOUT).length, 2);
});
