import assert from "node:assert/strict";
import { provisioningFor } from "../../src/monitor/mod.ts";
import { FakePort, settingsFrom } from "./_fakes.ts";

const KEY = "k".repeat(64);

/** A Yealink that cannot be reached (switched off, not yet plugged in). */
async function offYealink(callbackUrl: string) {
  const settings = await settingsFrom(
    `serverCallbackUrl = ${callbackUrl}\nphone=101@10.0.0.1 yealink.cfg admin pw\n`,
  );
  const port = new FakePort(settings);
  port.localAddressFor = () => Promise.reject(new Error("connection refused"));
  return { port, server: settings.config.server };
}

Deno.test("a switched-off Yealink's lines come from serverCallbackUrl, its address the URL's", async () => {
  const { port, server } = await offYealink("http://10.0.0.5:26536");
  const p = await provisioningFor(port, server, KEY, "101");
  assert.ok("lines" in p, JSON.stringify(p));
  assert.ok(
    p.lines.some((l) =>
      l.startsWith("action_url.incoming_call = http://10.0.0.5:26536/phone/101/onIncomingCall?k=")
    ),
  );
  assert.ok(p.lines.includes("features.action_uri_limit_ip = 10.0.0.5"));
});

Deno.test("with a host name in serverCallbackUrl an off phone's lines name that host", async () => {
  const { port, server } = await offYealink("http://pcs.office.example:26536");
  const p = await provisioningFor(port, server, KEY, "101");
  assert.ok("lines" in p, JSON.stringify(p));
  assert.ok(p.lines.includes("features.action_uri_limit_ip = pcs.office.example"));
});

Deno.test("with serverCallbackUrl = auto an off phone's lines cannot be known, and the error says what to set", async () => {
  const { port, server } = await offYealink("auto");
  const p = await provisioningFor(port, server, KEY, "101");
  assert.ok("error" in p);
  assert.match(p.error, /cannot reach phone 101 .*connection refused; set serverCallbackUrl/);
});
