import assert from "node:assert/strict";
import { Hono } from "hono";
import { Monitor } from "../../src/monitor/mod.ts";
import { ManualClock } from "../helpers.ts";
import { FakePort, phonesConfig, Recorder } from "./_fakes.ts";

/** The callback route as the HTTP front mounts it. */
function callbackApp(monitor: Monitor) {
  const app = new Hono<{ Bindings: Deno.ServeHandlerInfo<Deno.NetAddr> }>();
  app.get("/phone/*", async (c) => {
    const url = new URL(c.req.url);
    const { status } = await monitor.handleCallback({
      path: url.pathname,
      rawQuery: url.search.slice(1),
      remoteAddress: c.env.remoteAddr.hostname,
    });
    return c.body("", status, { "content-type": "text/plain" });
  });
  return app;
}

Deno.test("phones calling back over HTTP get an empty 200 and their events arrive", async () => {
  const settings = await phonesConfig({ "101": "127.0.0.1" });
  const port = new FakePort(settings);
  const monitor = new Monitor({ phones: port, clock: new ManualClock() });
  monitor.apply(settings);
  const channel = new Recorder();
  await monitor.subscribe("101", channel);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    callbackApp(monitor).fetch,
  );
  try {
    const base = `http://127.0.0.1:${server.addr.port}/phone/101`;
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
    await server.shutdown();
    await monitor.close();
  }
});
