import assert from "node:assert/strict";
import { createAdminApp, frontHandler } from "../../src/admin/mod.ts";
import type { CallbackRequest } from "../../src/contract.ts";
import { serveHttp1 } from "../../src/http/mod.ts";
import { Monitor } from "../../src/monitor/mod.ts";
import { callbackRoute } from "../../src/server/callback_route.ts";
import { ManualClock } from "../helpers.ts";
import { FakePort, phonesConfig, Recorder } from "../monitor/_fakes.ts";

/** The status page app with a password, as the listener serves it beside the route. */
function pageApp() {
  return createAdminApp({
    status: () => ({}),
    view: () => {
      throw new Error("the page is not what this test asks for");
    },
    health: () => ({ ok: true, reasons: [] }),
    adminPassword: () => "correct horse battery",
    loginDelayMs: () => 0,
  });
}

Deno.test("phone callbacks bypass the page password and get an empty text/plain answer, counted", async () => {
  const seen: CallbackRequest[] = [];
  const counted: string[] = [];
  const route = callbackRoute(
    {
      handleCallback: (request) => {
        seen.push(request);
        return Promise.resolve(
          request.rawQuery.includes("k=good")
            ? { status: 200 }
            : { status: 403, refused: "wrong_key" },
        );
      },
    },
    { accepted: () => counted.push("accepted"), refused: (why) => counted.push(why) },
  );
  const handler = frontHandler(pageApp(), route);
  const from = { remoteAddress: "192.168.1.50", remotePort: 5060, rawTarget: "" };
  const ask = (target: string) =>
    Promise.resolve(handler(new Request(`http://localhost${target}`), from));

  const ok = await ask("/phone/101/onConnected?k=good&remote=+49%20x");
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("content-type"), "text/plain");
  assert.equal(await ok.text(), "");
  assert.deepEqual(seen[0], {
    path: "/phone/101/onConnected",
    rawQuery: "k=good&remote=+49%20x",
    remoteAddress: "192.168.1.50",
  });
  const bad = await ask("/phone/101/onConnected?k=bad");
  assert.equal(bad.status, 403);
  assert.equal(await bad.text(), "");
  assert.deepEqual(counted, ["accepted", "wrong_key"]);
  // Anything else from that address meets the page's password, and never the route.
  assert.equal((await ask("/api/status")).status, 401);
  assert.equal(seen.length, 2);
});

Deno.test("phones calling back over HTTP get an empty 200 and their events arrive", async () => {
  const settings = await phonesConfig({ "101": "127.0.0.1" });
  const port = new FakePort(settings);
  const monitor = new Monitor({ phones: port, clock: new ManualClock() });
  monitor.apply(settings);
  const channel = new Recorder();
  await monitor.subscribe("101", channel);
  const front = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    handler: frontHandler(pageApp(), callbackRoute(monitor)),
  });
  try {
    const base = `http://127.0.0.1:${front.port}/phone/101`;
    const key = port.secretOf("101");
    const genuine = await fetch(
      `${base}/onIncomingCall?k=${key}&cid=abc@pbx&remote=+4930123@pbx&dr=Jane%20Doe&n=1`,
    );
    assert.equal(genuine.status, 200);
    assert.equal(genuine.headers.get("content-type"), "text/plain");
    assert.equal(await genuine.text(), "");
    const forged = await fetch(`${base}/onConnected?k=forged&cid=abc@pbx`);
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    assert.deepEqual(channel.lines, ["Delivered 101 +4930123 [1:alerting:+4930123]"]);
    assert.equal(channel.events[0].calls[0].displayName, "Jane Doe");
  } finally {
    await front.close();
    await monitor.close();
  }
});
