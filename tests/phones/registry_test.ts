import assert from "node:assert/strict";
import net from "node:net";
import type { NotificationName } from "../../src/config/mod.ts";
import { PhoneRegistry, UnknownPhoneError } from "../../src/phones/mod.ts";
import type { Component } from "../../src/server/mod.ts";
import { SimDemoPhones, SimNetwork, SimPhone } from "../../src/simulator/mod.ts";
import { ActionReceiver } from "../fakes/action_receiver.ts";
import { phoneLine, settingsFrom } from "../fakes/phone_settings.ts";
import { call } from "../helpers.ts";

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.on("error", () => resolve(true));
  });
}

Deno.test("demoPhones = 2 starts phones 101 and 102, and MakeCall 101 102 makes 102 ring", async () => {
  const registry = new PhoneRegistry({ demoPhones: new SimDemoPhones() });
  try {
    await registry.apply(await settingsFrom("demoPhones = 2\n"));
    assert.deepEqual(registry.extensions, ["101", "102"]);
    assert.deepEqual(await registry.execute(call("101", "MakeCall", "102")), { ok: true });
    const b = registry.demoPhone("102")!;
    assert.equal(b.calls[0].state, "ringing");
    assert.equal(b.calls[0].remote.user, "101");
    assert.deepEqual(await registry.execute(call("102", "AnswerCall")), { ok: true });
    assert.equal(registry.demoPhone("101")!.calls[0].state, "connected");
    const status = registry.status();
    assert.deepEqual(status.map((s) => [s.extension, s.host, s.demo, s.profile]), [
      ["101", "127.0.0.1", true, "snom.cfg"],
      ["102", "127.0.0.1", true, "snom.cfg"],
    ]);
  } finally {
    await registry.close();
  }
});

Deno.test("demo phones start when demoPhones grows and stop when it shrinks", async () => {
  const registry = new PhoneRegistry({ demoPhones: new SimDemoPhones() });
  try {
    await registry.apply(await settingsFrom("demoPhones = 1\n"));
    assert.deepEqual(registry.extensions, ["101"]);
    const first = registry.demoPhone("101")!;
    await registry.apply(await settingsFrom("demoPhones = 3\n"));
    assert.deepEqual(registry.extensions, ["101", "102", "103"]);
    assert.equal(registry.demoPhone("101"), first, "a running demo phone is kept");
    const port103 = registry.demoPhone("103")!.port;
    await registry.apply(await settingsFrom("demoPhones = 1\n"));
    assert.deepEqual(registry.extensions, ["101"]);
    assert.equal(registry.demoPhone("103"), undefined);
    assert.ok(await refuses(port103));
    assert.equal((await registry.execute(call("103", "AnswerCall"))).ok, false);
  } finally {
    await registry.close();
  }
});

Deno.test("phones are added, moved and removed live", async () => {
  const network = new SimNetwork();
  const a = await network.addPhone({ extension: "201" });
  const b = await network.addPhone({ extension: "202" });
  const registry = new PhoneRegistry({ timeoutMs: 1000, demoPhones: new SimDemoPhones() });
  try {
    await registry.apply(await settingsFrom(phoneLine("201", a.port)));
    assert.equal(registry.has("202"), false);
    await registry.apply(
      await settingsFrom([phoneLine("201", a.port), phoneLine("202", b.port)].join("\n")),
    );
    assert.equal(registry.has("202"), true);
    assert.deepEqual(await registry.execute(call("202", "HoldCall")), { ok: true });
    // 201's address now points at the other simulated phone.
    await registry.apply(
      await settingsFrom([phoneLine("201", b.port), phoneLine("202", b.port)].join("\n")),
    );
    await registry.execute(call("201", "AnswerCall"));
    assert.equal(a.requests.length, 0);
    assert.equal(b.requests.at(-1)!.target, "/command.htm?key=ENTER");
    await registry.apply(await settingsFrom(phoneLine("202", b.port)));
    assert.equal(registry.has("201"), false);
    const o = await registry.execute(call("201", "AnswerCall"));
    assert.equal(!o.ok && o.reason, "UnknownDevice");
  } finally {
    await registry.close();
    await network.close();
  }
});

Deno.test("removing a phone fails its waiting commands and lets the one in flight finish", async () => {
  const network = new SimNetwork();
  const a = await network.addPhone({ extension: "201" });
  const registry = new PhoneRegistry({ timeoutMs: 2000, demoPhones: new SimDemoPhones() });
  try {
    await registry.apply(await settingsFrom(phoneLine("201", a.port)));
    a.delayMs = 150;
    const inFlight = registry.execute(call("201", "HoldCall"));
    const waiting = registry.execute(call("201", "RetrieveCall"));
    await new Promise((r) => setTimeout(r, 30));
    await registry.apply(await settingsFrom("demoPhones = 0\n"));
    const [first, second] = await Promise.all([inFlight, waiting]);
    assert.deepEqual(first, { ok: true });
    assert.equal(!second.ok && second.reason, "UnknownDevice");
    assert.equal(a.requests.length, 1);
  } finally {
    await registry.close();
    await network.close();
  }
});

Deno.test("closing the registry fails waiting commands and finishes the one in flight", async () => {
  const network = new SimNetwork();
  const a = await network.addPhone({ extension: "201" });
  const registry = new PhoneRegistry({ timeoutMs: 2000, demoPhones: new SimDemoPhones() });
  await registry.apply(await settingsFrom(phoneLine("201", a.port)));
  a.delayMs = 100;
  const inFlight = registry.execute(call("201", "HoldCall"));
  const waiting = registry.execute(call("201", "RetrieveCall"));
  await new Promise((r) => setTimeout(r, 20));
  await registry.close();
  assert.deepEqual(await inFlight, { ok: true });
  const second = await waiting;
  assert.equal(!second.ok && second.reason, "UnknownDevice");
  await network.close();
});

Deno.test("configureMonitoring writes the URLs through dummy.htm, and the phone then calls them", async () => {
  const receiver = await ActionReceiver.start();
  const registry = new PhoneRegistry({ demoPhones: new SimDemoPhones() });
  try {
    await registry.apply(await settingsFrom("demoPhones = 2\n"));
    const setup = registry.monitorSetup("102")!;
    assert.equal(setup.notifications.get("onIncomingCall"), "action_incoming_url");
    assert.equal(setup.notifications.get("onHold"), "action_hold");
    const urls = new Map<NotificationName, string>();
    for (const n of setup.notifications.keys()) {
      urls.set(n, `${receiver.url}/phone/102/${n}?k=secret&${setup.variables}`);
    }
    assert.deepEqual(await registry.configureMonitoring("102", urls), { ok: true });
    const b = registry.demoPhone("102");
    assert.ok(b instanceof SimPhone);
    const request = b.requests.at(-1)!;
    assert.ok(
      request.target.startsWith(
        "/dummy.htm?settings=save&action_incoming_url=http%3A%2F%2F127.0.0.1%3A",
      ),
    );
    assert.ok(request.target.endsWith("&store_settings=save"));
    assert.ok(request.target.includes("%26cid%3D$call-id%26remote%3D$remote"));
    assert.equal(b.storedSettings.get("action_hold"), urls.get("onHold"));
    assert.equal(b.settings.get("action_incoming_url"), urls.get("onIncomingCall"));

    await registry.execute(call("101", "MakeCall", "102"));
    await receiver.waitFor(1);
    const callId = b.calls[0].callId;
    assert.equal(
      receiver.targets[0],
      `/phone/102/onIncomingCall?k=secret&cid=${callId}&remote=101%40sim.invalid&local=102%40sim.invalid&dr=Phone%20101&n=1&cr=`,
    );
  } finally {
    await registry.close();
    await receiver.close();
  }
});

Deno.test("the monitor API answers for known phones and refuses unknown ones", async () => {
  const registry = new PhoneRegistry({ demoPhones: new SimDemoPhones() });
  try {
    await registry.apply(await settingsFrom("demoPhones = 1\n"));
    assert.equal(await registry.localAddressFor("101"), "127.0.0.1");
    await assert.rejects(registry.localAddressFor("999"), UnknownPhoneError);
    assert.equal(registry.hostOf("101"), "127.0.0.1");
    assert.equal(registry.hostOf("999"), undefined);
    assert.equal(registry.monitorSetup("999"), undefined);
    const o = await registry.configureMonitoring("999", new Map());
    assert.equal(!o.ok && o.reason, "UnknownDevice");
  } finally {
    await registry.close();
  }
});

Deno.test("the status shows results, errors and queue, but never the password", async () => {
  const network = new SimNetwork();
  const a = await network.addPhone({
    extension: "201",
    auth: "digest",
    username: "admin",
    password: "Pa55w0rd",
  });
  const registry = new PhoneRegistry({ timeoutMs: 1000, demoPhones: new SimDemoPhones() });
  try {
    await registry.apply(
      await settingsFrom(
        phoneLine("201", a.port, "snom.cfg", { username: "admin", password: "Pa55w0rd" }),
      ),
    );
    await registry.execute(call("201", "HoldCall"));
    a.fault = 500;
    await registry.execute(call("201", "AnswerCall"));
    const [s] = registry.status();
    assert.equal(s.extension, "201");
    assert.equal(s.port, a.port);
    assert.equal(s.auth, "digest");
    assert.equal(s.busy, false);
    assert.equal(s.queued, 0);
    assert.equal(s.last?.command, "AnswerCall");
    assert.equal(s.last?.ok, false);
    assert.equal(s.lastError?.reason, "PhoneRefused");
    assert.doesNotMatch(JSON.stringify(registry.status()), /Pa55w0rd/);
  } finally {
    await registry.close();
    await network.close();
  }
});

Deno.test("the registry is a server component", async () => {
  const component: Component = new PhoneRegistry({ demoPhones: new SimDemoPhones() });
  assert.equal(component.name, "phones");
  await component.apply(await settingsFrom("demoPhones = 1\n"));
  await component.close();
  await component.close();
});
