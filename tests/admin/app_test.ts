import assert from "node:assert/strict";
import { AdminServer, createAdminApp, renderStatus } from "../../src/admin/mod.ts";
import { parseConfig } from "../../src/config/mod.ts";
import { LogService } from "../../src/log/mod.ts";

function app(password = "", callback?: Parameters<typeof createAdminApp>[0]["callback"]) {
  return createAdminApp({
    status: () => ({ phones: [{ extension: "101", display: "<script>x</script>" }] }),
    adminPassword: () => password,
    callback,
    liveIntervalMs: 10,
  });
}

const local = { remoteAddress: "127.0.0.1" };
const remote = { remoteAddress: "192.168.1.50" };

Deno.test("the status page answers this computer and escapes values from phones", async () => {
  const res = await app().request("/", {}, local);
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.match(body, /<th>Extension<\/th>/);
  assert.match(body, /&#60;script&#62;x&#60;\/script&#62;/);
  assert.doesNotMatch(body, /<script>x<\/script>/);
});

Deno.test("without adminPassword other hosts are refused; with it they need it", async () => {
  assert.equal((await app().request("/", {}, remote)).status, 403);
  const guarded = app("s3cret");
  const none = await guarded.request("/api/status", {}, remote);
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Basic realm=/);
  const wrong = await guarded.request("/api/status", {
    headers: { authorization: `Basic ${btoa("admin:nope")}` },
  }, remote);
  assert.equal(wrong.status, 401);
  const right = await guarded.request("/api/status", {
    headers: { authorization: `Basic ${btoa("admin:s3cret")}` },
  }, remote);
  assert.equal(right.status, 200);
  assert.deepEqual(await right.json(), {
    phones: [{ extension: "101", display: "<script>x</script>" }],
  });
  assert.equal((await app().request("/", {}, { remoteAddress: "::ffff:127.0.0.1" })).status, 200);
});

Deno.test("phone callbacks bypass the page password and get an empty text/plain 200", async () => {
  const seen: unknown[] = [];
  const a = app("pw", (req) => {
    seen.push(req);
    return { status: req.rawQuery.includes("k=good") ? 200 : 403 };
  });
  const ok = await a.request("/phone/101/onConnected?k=good&remote=+49%20x", {}, remote);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("content-type"), "text/plain");
  assert.equal(await ok.text(), "");
  assert.deepEqual(seen[0], {
    path: "/phone/101/onConnected",
    rawQuery: "k=good&remote=+49%20x",
    remoteAddress: "192.168.1.50",
  });
  assert.equal((await a.request("/phone/101/onConnected?k=bad", {}, remote)).status, 403);
});

Deno.test("live updates stream the rendered status as server-sent events", async () => {
  const res = await app().request("/api/live", {}, local);
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  const text = new TextDecoder().decode(value);
  assert.match(text, /^event: status\ndata: <section><h2>Phones<\/h2>/);
});

Deno.test("the status renderer turns nested data into tables", () => {
  const html = renderStatus({
    server: { version: "1", ok: true, errors: [] },
    list: [{ a: 1 }, { b: "x" }],
  });
  assert.match(
    html,
    /<h2>Server<\/h2><table><tr><th>Version<\/th><td>1<\/td><\/tr><tr><th>Ok<\/th><td>yes<\/td>/,
  );
  assert.match(
    html,
    /<tr><th>A<\/th><th>B<\/th><\/tr><tr><td>1<\/td><td><span class="muted">–<\/span><\/td><\/tr>/,
  );
});

Deno.test("epoch-millisecond times are shown as local date and time", () => {
  const at = Date.UTC(2026, 10, 26, 3, 10, 28);
  const html = renderStatus({ phones: [{ lastCallbackAt: at, port: 1795662628393 }] });
  assert.match(html, new RegExp(`<td>${new Date(at).toLocaleString("sv-SE")}</td>`));
  assert.match(html, /<td>1795662628393<\/td>/, "other numbers stay numbers");
});

Deno.test("a malformed request is logged with the text it sent, braces and all", async () => {
  const lines: string[] = [];
  const service = new LogService((line) => lines.push(line));
  await service.start("info");
  const { snapshot } = parseConfig("", "/tmp/admin-test/phone-companion.cfg");
  const server = new AdminServer({ status: () => ({}) });
  server.apply({
    config: {
      ...snapshot!,
      server: { ...snapshot!.server, bindAddress: "127.0.0.1", httpPort: 0 },
    },
    profiles: new Map(),
  });
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
