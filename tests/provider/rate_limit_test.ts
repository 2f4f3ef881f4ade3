import assert from "node:assert/strict";
import { raw, rig } from "./_helpers.ts";

const EXTENSION = "/restapi/v1.0/account/~/extension/~";
const GET_EXTENSION = { method: "GET", resource: EXTENSION };
const RING_OUT = "/restapi/v1.0/account/~/extension/~/ring-out";
const POST_RING_OUT = {
  method: "POST",
  resource: RING_OUT,
  body: { from: { phoneNumber: "+15550100" }, to: { phoneNumber: "+15550199" } },
};
const RATE_LIMITED = JSON.stringify({ status: 429, error: "RateLimited" });

function lightHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    "X-Rate-Limit-Group": "Light",
    "X-Rate-Limit-Limit": "50",
    "X-Rate-Limit-Remaining": "0",
    "X-Rate-Limit-Window": "60",
    ...extra,
  };
}

Deno.test("after a 429 no request of the group reaches the provider until Retry-After, for every channel", async () => {
  await using r = await rig({
    fake: { groups: { Light: { limit: 2, windowSeconds: 10, penaltySeconds: 20 } } },
  });
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  const refused = await raw(r.provider, GET_EXTENSION);
  assert.equal(refused.status, 429);
  assert.match(
    refused.error!,
    /^RateLimited: CMN-301: Request rate exceeded \(retry after 20 s\)$/,
  );
  const sent = r.fake.requestsTo(EXTENSION).length;

  const channels = await Promise.all(
    Array.from({ length: 10 }, () => r.provider.rawCommand(JSON.stringify(GET_EXTENSION), 65536)),
  );
  for (const reply of channels) {
    assert.deepEqual(reply, { ok: false, status: 429, error: "RateLimited" });
  }
  r.clock.advance(19_999);
  assert.equal((await raw(r.provider, GET_EXTENSION)).json, RATE_LIMITED);
  assert.equal(r.fake.requestsTo(EXTENSION).length, sent, "nothing sent in the window");

  r.clock.advance(1);
  const after = await raw(r.provider, GET_EXTENSION);
  assert.equal(after.ok, true, after.json);
  assert.equal(r.fake.requestsInPenalty().length, 0);
});

Deno.test("a 429 without Retry-After closes the group for 30 s", async () => {
  await using r = await rig();
  r.fake.failNext(EXTENSION, { status: 429, headers: lightHeaders() });
  assert.equal((await raw(r.provider, GET_EXTENSION)).status, 429);
  r.clock.advance(29_999);
  assert.equal((await raw(r.provider, GET_EXTENSION)).json, RATE_LIMITED);
  r.clock.advance(1);
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  assert.equal(r.fake.requestsTo(EXTENSION).length, 2);
  assert.equal(r.fake.requestsInPenalty().length, 0);
});

Deno.test("Retry-After given as an HTTP date is honoured", async () => {
  await using r = await rig();
  const until = new Date(r.clock.now() + 45_000).toUTCString();
  r.fake.failNext(EXTENSION, { status: 429, headers: lightHeaders({ "Retry-After": until }) });
  await raw(r.provider, GET_EXTENSION);
  r.clock.advance(44_000);
  assert.equal((await raw(r.provider, GET_EXTENSION)).json, RATE_LIMITED);
  r.clock.advance(1_000);
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
});

Deno.test("a penalty closes only its group; routes of other groups keep working", async () => {
  await using r = await rig();
  assert.equal((await raw(r.provider, POST_RING_OUT)).ok, true, "Heavy learnt");
  assert.equal((await raw(r.provider, { method: "GET", resource: "/restapi" })).ok, true);
  r.fake.failNext(EXTENSION, { status: 429, headers: lightHeaders({ "Retry-After": "60" }) });
  assert.equal((await raw(r.provider, GET_EXTENSION)).status, 429);

  assert.equal((await raw(r.provider, POST_RING_OUT)).ok, true, "Heavy is open");
  assert.equal((await raw(r.provider, { method: "GET", resource: "/restapi" })).ok, true);
  // A route never answered before might belong to the closed group: held back, not sent.
  const unknown = await raw(r.provider, { method: "GET", resource: `${RING_OUT}/1` });
  assert.equal(unknown.json, RATE_LIMITED);
  assert.equal(r.fake.requestsTo(`${RING_OUT}/1`).length, 0);
  assert.equal(r.fake.requestsInPenalty().length, 0);
});

Deno.test("a route learnt for one extension covers the same route for another", async () => {
  await using r = await rig();
  const other = "/restapi/v1.0/account/~/extension/12345678";
  r.fake.failNext(other, { status: 200, headers: lightHeaders({ "X-Rate-Limit-Remaining": "5" }) });
  assert.equal((await raw(r.provider, { method: "GET", resource: other })).ok, true);
  const elsewhere = "/restapi/v1.0/account/~/extension/87654321";
  r.fake.failNext(elsewhere, { status: 429, headers: lightHeaders({ "Retry-After": "60" }) });
  assert.equal((await raw(r.provider, { method: "GET", resource: elsewhere })).status, 429);
  const again = await raw(r.provider, { method: "GET", resource: other + "?view=full" });
  assert.equal(again.json, RATE_LIMITED);
  assert.equal(r.fake.requestsTo(other).length, 1);
});

Deno.test("a 429 without rate-limit group holds back every request", async () => {
  await using r = await rig();
  assert.equal((await raw(r.provider, POST_RING_OUT)).ok, true);
  r.fake.failNext(EXTENSION, { status: 429, headers: { "Retry-After": "5" } });
  const first = await raw(r.provider, GET_EXTENSION);
  assert.equal(first.status, 429);
  const before = r.fake.requests.length;
  assert.equal((await raw(r.provider, POST_RING_OUT)).json, RATE_LIMITED);
  assert.equal((await raw(r.provider, { method: "GET", resource: "/restapi" })).json, RATE_LIMITED);
  assert.equal(r.fake.requests.length, before);
  r.clock.advance(5_000);
  assert.equal((await raw(r.provider, POST_RING_OUT)).ok, true);
  assert.equal(r.fake.requestsInPenalty().length, 0);
});

Deno.test("a burst from many channels stops at the limit instead of feeding the penalty", async () => {
  await using r = await rig({
    fake: { groups: { Light: { limit: 5, windowSeconds: 60, penaltySeconds: 60 } } },
  });
  const replies = await Promise.all(
    Array.from({ length: 20 }, () => raw(r.provider, GET_EXTENSION)),
  );
  assert.equal(replies.filter((x) => x.ok).length, 5);
  assert.equal(replies.filter((x) => x.status === 429).length, 15);
  assert.equal(replies.filter((x) => x.json === RATE_LIMITED).length, 14);
  assert.equal(r.fake.requestsTo(EXTENSION).length, 6, "5 answered, 1 refused, none more");
  assert.equal(r.fake.requestsInPenalty().length, 0);
});

Deno.test("a 429 at the token endpoint holds back logins for its window", async () => {
  await using r = await rig();
  r.fake.failNext("/restapi/oauth/token", {
    status: 429,
    headers: { "X-Rate-Limit-Group": "Auth", "Retry-After": "60" },
  });
  const first = await raw(r.provider, GET_EXTENSION);
  assert.equal(first.status, 429);
  assert.match(first.error!, /^RateLimited/);
  assert.equal((await raw(r.provider, GET_EXTENSION)).json, RATE_LIMITED);
  assert.equal(r.fake.tokenRequests().length, 1);
  r.clock.advance(60_000);
  assert.equal((await raw(r.provider, GET_EXTENSION)).ok, true);
  assert.equal(r.fake.tokenRequests().length, 2);
  assert.equal(r.fake.requestsInPenalty().length, 0);
});

Deno.test("the status shows each group's limits and its penalty", async () => {
  await using r = await rig({
    fake: { groups: { Light: { limit: 1, windowSeconds: 60, penaltySeconds: 60 } } },
  });
  await raw(r.provider, GET_EXTENSION);
  await raw(r.provider, GET_EXTENSION);
  const status = r.provider.status();
  assert.ok(status.configured);
  const light = status.rateLimits.groups.find((g) => g.group === "Light");
  assert.deepEqual(light, {
    group: "Light",
    limit: 1,
    remaining: 0,
    windowSeconds: 60,
    penaltyUntil: r.clock.now() + 60_000,
    inFlight: 0,
  });
  r.clock.advance(60_000);
  const later = r.provider.status();
  assert.ok(later.configured);
  assert.equal(later.rateLimits.groups.find((g) => g.group === "Light")?.penaltyUntil, undefined);
});
