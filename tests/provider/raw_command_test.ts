import assert from "node:assert/strict";
import { ProviderService } from "../../src/provider/mod.ts";
import { raw, rig, settingsFrom } from "./_helpers.ts";

const RING_OUT = "/restapi/v1.0/account/~/extension/~/ring-out";
const encoder = new TextEncoder();

function lineBytes(reply: { ok: boolean; json: string }): number {
  const status = reply.ok ? "SUCCESS" : "ERROR";
  return encoder.encode(`error_ind ${status} RawCommand ${reply.json}\r\n`).length;
}

async function withoutProvider(fn: (provider: ProviderService) => Promise<void>): Promise<void> {
  const provider = new ProviderService();
  try {
    await provider.apply(await settingsFrom({}));
    await fn(provider);
  } finally {
    await provider.close();
  }
}

Deno.test("a line that is not JSON answers status 0 with the reason", async () => {
  await withoutProvider(async (provider) => {
    const reply = await raw(provider, '{"method": "GET", "resource": ');
    assert.deepEqual([reply.ok, reply.status], [false, 0]);
    assert.match(reply.error!, /^InvalidCommand: the line is not valid JSON \(.+\)$/);
  });
});

Deno.test("a RawCommand must be a JSON object", async () => {
  await withoutProvider(async (provider) => {
    assert.equal(
      (await raw(provider, "[1,2]")).json,
      JSON.stringify({ status: 0, error: "InvalidCommand: expected a JSON object, got an array" }),
    );
  });
});

const invalid: [string, unknown, string][] = [
  [
    "method missing",
    { resource: "/restapi" },
    "method is missing; expected one of GET, POST, PUT, PATCH, DELETE",
  ],
  [
    "resource missing",
    { method: "GET" },
    "resource is missing; expected a path such as /restapi/v1.0/account/~",
  ],
  [
    "an unknown method",
    { method: "HEAD", resource: "/x" },
    "method must be one of GET, POST, PUT, PATCH, DELETE, got 'HEAD'",
  ],
  [
    "a method that is not text",
    { method: 7, resource: "/x" },
    "method must be one of GET, POST, PUT, PATCH, DELETE, got a number",
  ],
  [
    "a full URL as resource",
    { method: "GET", resource: "https://evil.example/x" },
    "resource must be a path on the provider starting with one '/', got 'https://evil.example/x'",
  ],
  [
    "a scheme-relative resource",
    { method: "GET", resource: "//evil.example/x" },
    "resource must be a path on the provider starting with one '/', got '//evil.example/x'",
  ],
  [
    "a resource with a line break",
    { method: "GET", resource: "/x\r\nHost: y" },
    "resource must be a path on the provider starting with one '/', got '/x\r\nHost: y'",
  ],
  [
    "a GET with a body",
    { method: "GET", resource: "/x", body: { a: 1 } },
    "a GET request cannot carry a body",
  ],
  ["a content_type with a line break", {
    method: "POST",
    resource: "/x",
    body: "a",
    content_type: "text/plain\nX: y",
  }, "content_type must be a non-empty header value on one line, got 'text/plain\nX: y'"],
  [
    "an accept that is not text",
    { method: "GET", resource: "/x", accept: ["a"] },
    "accept must be a non-empty header value on one line, got an array",
  ],
];

for (const [what, command, reason] of invalid) {
  Deno.test(`${what} is answered InvalidCommand without contacting the provider`, async () => {
    await using r = await rig();
    const reply = await raw(r.provider, command);
    assert.deepEqual(JSON.parse(reply.json), { status: 0, error: `InvalidCommand: ${reason}` });
    assert.equal(r.fake.requests.length, 0);
  });
}

Deno.test("a lower-case method is accepted", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, { method: "get", resource: "/restapi" });
  assert.equal(reply.ok, true, reply.json);
  assert.equal(r.fake.requestsTo("/restapi")[0].method, "GET");
});

Deno.test("a JSON body is sent as compact JSON with Content-Type application/json", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, {
    method: "POST",
    resource: "/echo",
    body: { to: { phoneNumber: "+15550199" }, playPrompt: false },
  });
  const echo = reply.body as Record<string, string>;
  assert.equal(echo.body, '{"to":{"phoneNumber":"+15550199"},"playPrompt":false}');
  assert.equal(echo.contentType, "application/json");
});

Deno.test("a string body is sent as written; JSON text is labelled JSON, other text plain", async () => {
  await using r = await rig();
  const json = await raw(r.provider, { method: "PUT", resource: "/echo", body: '{ "a" : 1 }' });
  assert.deepEqual(
    [(json.body as Record<string, string>).body, (json.body as Record<string, string>).contentType],
    ['{ "a" : 1 }', "application/json"],
  );
  const text = await raw(r.provider, { method: "PATCH", resource: "/echo", body: "hello there" });
  assert.deepEqual(
    [(text.body as Record<string, string>).body, (text.body as Record<string, string>).contentType],
    ["hello there", "text/plain; charset=utf-8"],
  );
});

Deno.test("content_type and accept are passed on as given", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, {
    method: "POST",
    resource: "/echo",
    body: "a=1&b=2",
    content_type: "application/x-www-form-urlencoded",
    accept: "application/xml",
  });
  const echo = reply.body as Record<string, string>;
  assert.deepEqual([echo.body, echo.contentType, echo.accept], [
    "a=1&b=2",
    "application/x-www-form-urlencoded",
    "application/xml",
  ]);
});

Deno.test("RingOut with a JSON body answers SUCCESS with the provider's JSON", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, {
    method: "POST",
    resource: RING_OUT,
    body: { from: { phoneNumber: "+15550100" }, to: { phoneNumber: "+15550199" } },
  });
  assert.equal(reply.ok, true, reply.json);
  assert.match(reply.json, /^\{"status":200,"body":\{"id":1,"uri":"[^"]+\/ring-out\/1",/);
  assert.deepEqual((reply.body as { status: unknown }).status, {
    callStatus: "InProgress",
    callerStatus: "InProgress",
    calleeStatus: "InProgress",
  });
  const status = await raw(r.provider, { method: "GET", resource: `${RING_OUT}/1` });
  assert.equal((status.body as { status: { callStatus: string } }).status.callStatus, "Success");
  const cancel = await raw(r.provider, { method: "DELETE", resource: `${RING_OUT}/1` });
  assert.equal(cancel.json, '{"status":204,"body":""}');
});

Deno.test("RingOut with a string body works as well", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, {
    method: "POST",
    resource: RING_OUT,
    body: '{"from":{"phoneNumber":"+15550100"},"to":{"phoneNumber":"+15550199"}}',
  });
  assert.equal(reply.ok, true, reply.json);
});

Deno.test("a refused RingOut answers ERROR with the provider's code and message", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, {
    method: "POST",
    resource: RING_OUT,
    body: { from: { phoneNumber: "+15550100" }, to: {} },
  });
  assert.deepEqual(JSON.parse(reply.json), {
    status: 400,
    error: "CMN-101: Parameter [to.phoneNumber] value is invalid",
  });
});

Deno.test("a text answer becomes a JSON string on one line", async () => {
  await using r = await rig();
  const reply = await raw(r.provider, { method: "GET", resource: "/text" });
  assert.equal(reply.json, '{"status":200,"body":"line one\\nline two"}');
});

Deno.test("a reply line of exactly the limit is sent; one byte more is ResponseTooLarge", async () => {
  await using r = await rig();
  const max = 1024;
  const overhead = lineBytes({ ok: true, json: '{"status":200,"body":""}' });
  const fits = await raw(r.provider, {
    method: "GET",
    resource: `/big?bytes=${max - overhead}`,
  }, max);
  assert.equal(fits.ok, true);
  assert.equal(lineBytes(fits), max);
  const over = await raw(r.provider, {
    method: "GET",
    resource: `/big?bytes=${max - overhead + 1}`,
  }, max);
  assert.deepEqual(over, {
    ok: false,
    json: '{"status":200,"error":"ResponseTooLarge"}',
    status: 200,
    error: "ResponseTooLarge",
  });
});

Deno.test("the line limit counts bytes, not characters", async () => {
  await using r = await rig();
  const body = "é".repeat(300);
  const full = await raw(r.provider, { method: "POST", resource: "/echo", body }, 1 << 20);
  assert.equal(full.ok, true);
  const bytes = lineBytes(full);
  assert.ok(bytes > full.json.length + 300 - 10, "é takes two bytes");
  assert.equal(
    (await raw(r.provider, { method: "POST", resource: "/echo", body }, bytes)).ok,
    true,
  );
  const over = await raw(r.provider, { method: "POST", resource: "/echo", body }, bytes - 1);
  assert.equal(over.error, "ResponseTooLarge");
});

Deno.test("an answer far beyond the limit is ResponseTooLarge", async () => {
  await using r = await rig();
  const reply = await raw(
    r.provider,
    { method: "GET", resource: "/big?bytes=2000000&type=json" },
    4096,
  );
  assert.equal(reply.json, '{"status":200,"error":"ResponseTooLarge"}');
});

Deno.test("a long error reason is shortened to fit the line, never cut off the line", async () => {
  await using r = await rig();
  const message = "m".repeat(2000);
  r.fake.failNext("/echo", {
    status: 409,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ errorCode: "X-1", message }),
  });
  const reply = await raw(r.provider, { method: "GET", resource: "/echo" }, 256);
  assert.equal(reply.status, 409);
  assert.ok(lineBytes(reply) <= 256, reply.json);
  assert.match(reply.error!, /^X-1: m+…$/);
});

Deno.test("a redirect is answered, not followed, so the token stays with the provider", async () => {
  await using r = await rig();
  r.fake.failNext(RING_OUT, { status: 302, headers: { Location: `${r.fake.url}/echo` } });
  const reply = await raw(r.provider, { method: "POST", resource: RING_OUT, body: {} });
  assert.deepEqual([reply.ok, reply.status], [false, 302]);
  assert.equal(r.fake.requestsTo("/echo").length, 0);
});
