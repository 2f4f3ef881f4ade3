import assert from "node:assert/strict";
import net from "node:net";
import type { Outcome } from "../../src/contract.ts";
import { PhoneRegistry, type PhoneRegistryOptions } from "../../src/phones/mod.ts";
import { SimNetwork, type SimPhoneOptions } from "../../src/simulator/mod.ts";
import { phoneLine, settingsFrom } from "../fakes/phone_settings.ts";
import { call } from "../helpers.ts";

const LOGIN = { username: "admin", password: "right" };

/** One simulated phone 101 and a registry driving it with the given login. */
async function setup(
  sim: Partial<SimPhoneOptions> = {},
  login: { username: string; password: string } | undefined = undefined,
  options: PhoneRegistryOptions = {},
  profiles: Record<string, string> = {},
  profile = "snom.cfg",
) {
  const network = new SimNetwork();
  const phone = await network.addPhone({ extension: "101", ...sim });
  const registry = new PhoneRegistry({ timeoutMs: 1000, ...options });
  await registry.apply(await settingsFrom(phoneLine("101", phone.port, profile, login), profiles));
  return {
    phone,
    registry,
    async [Symbol.asyncDispose]() {
      await registry.close();
      await network.close();
    },
  };
}

function reason(o: Outcome): string | undefined {
  return o.ok ? undefined : o.reason;
}

Deno.test("a phone slower than the timeout gives Timeout", async () => {
  await using t = await setup({}, undefined, { timeoutMs: 100 });
  t.phone.delayMs = 400;
  assert.equal(reason(await t.registry.execute(call("101", "AnswerCall"))), "Timeout");
});

Deno.test("a dropped connection fails a key command with PhoneUnreachable", async () => {
  await using t = await setup();
  t.phone.fault = "drop";
  assert.equal(reason(await t.registry.execute(call("101", "AnswerCall"))), "PhoneUnreachable");
});

Deno.test("a 500 answer is PhoneRefused", async () => {
  await using t = await setup();
  t.phone.fault = 500;
  const o = await t.registry.execute(call("101", "MakeCall", "102"));
  assert.equal(reason(o), "PhoneRefused");
  assert.match(!o.ok ? o.detail ?? "" : "", /HTTP 500/);
  assert.deepEqual(t.phone.calls, []);
});

Deno.test("302 counts as success for dialling only", async () => {
  await using t = await setup();
  t.phone.fault = 302;
  assert.deepEqual(await t.registry.execute(call("101", "MakeCall", "102")), { ok: true });
  assert.equal(reason(await t.registry.execute(call("101", "AnswerCall"))), "PhoneRefused");
});

Deno.test("a phone that dials and closes the connection without a reply has dialled", async () => {
  await using t = await setup({ dialReply: "closed" });
  assert.deepEqual(await t.registry.execute(call("101", "MakeCall", "0049301234")), { ok: true });
  assert.equal(t.phone.requests[0].outcome, "closed");
  assert.equal(t.phone.calls[0].remote.user, "0049301234");
});

Deno.test("closing without a reply fails a key command with PhoneUnreachable", async () => {
  await using t = await setup();
  t.phone.fault = "close";
  assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "PhoneUnreachable");
});

Deno.test("a phone that is not listening is PhoneUnreachable", async () => {
  await using t = await setup();
  await t.phone.close();
  assert.equal(
    reason(await t.registry.execute(call("101", "MakeCall", "102"))),
    "PhoneUnreachable",
  );
});

Deno.test("use_hidden_tags=on refuses remote control: PhoneRefused with a hint", async () => {
  await using t = await setup({ settings: { use_hidden_tags: "on" } });
  const o = await t.registry.execute(call("101", "AnswerCall"));
  assert.equal(reason(o), "PhoneRefused");
  assert.match(!o.ok ? o.detail ?? "" : "", /use_hidden_tags/);
});

Deno.test("a MakeCall without a number is InvalidNumber and nothing is sent", async () => {
  await using t = await setup();
  assert.equal(reason(await t.registry.execute(call("101", "MakeCall"))), "InvalidNumber");
  assert.equal(t.phone.requests.length, 0);
});

Deno.test("an unknown extension is UnknownDevice", async () => {
  await using t = await setup();
  assert.equal(reason(await t.registry.execute(call("999", "AnswerCall"))), "UnknownDevice");
});

for (const auth of ["basic", "digest"] as const) {
  Deno.test(`${auth}: a wrong password is AuthFailed once, then the phone is left alone`, async () => {
    await using t = await setup({ auth, ...LOGIN }, { username: "admin", password: "wrong" });
    assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "AuthFailed");
    for (let i = 0; i < 5; i++) {
      assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "AuthFailed");
    }
    // One unauthenticated probe, one refused login; never enough to lock the phone.
    assert.equal(t.phone.requests.length, 2);
    assert.equal(t.phone.failedLogins, 1);
    assert.equal(t.phone.lockedUntil, 0);
    const status = t.registry.status()[0];
    assert.equal(status.blockedReason, "AuthFailed");
    assert.ok((status.blockedUntil ?? 0) > Date.now());
  });
}

Deno.test("after the cool-down a phone is asked again, and fixing the password helps at once", async () => {
  await using t = await setup({ auth: "digest", ...LOGIN }, {
    username: "admin",
    password: "wrong",
  }, {
    authCooldownMs: 50,
  });
  assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "AuthFailed");
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "AuthFailed");
  assert.equal(t.phone.failedLogins, 2);
  // The configuration is corrected: no need to wait for the cool-down.
  await t.registry.apply(await settingsFrom(phoneLine("101", t.phone.port, "snom.cfg", LOGIN)));
  assert.deepEqual(await t.registry.execute(call("101", "HoldCall")), { ok: true });
  assert.equal(t.phone.failedLogins, 0);
});

Deno.test("a phone that asks for a login when none is configured is AuthFailed without a bad login", async () => {
  await using t = await setup({ auth: "digest", ...LOGIN });
  const o = await t.registry.execute(call("101", "AnswerCall"));
  assert.equal(reason(o), "AuthFailed");
  assert.match(!o.ok ? o.detail ?? "" : "", /no username and password/);
  assert.equal(t.phone.failedLogins, 0);
});

Deno.test("auth = basic in the profile never walks a Digest phone into its lock-out", async () => {
  const snom = await Deno.readTextFile(new URL("../../profiles/snom.cfg", import.meta.url));
  const basicOnly = snom.replace(/^auth = auto$/m, "auth = basic");
  await using t = await setup(
    { auth: "digest", ...LOGIN },
    LOGIN,
    {},
    { "basic.cfg": basicOnly },
    "basic.cfg",
  );
  for (let i = 0; i < 6; i++) {
    assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "AuthFailed");
  }
  assert.equal(t.phone.failedLogins, 1);
  assert.equal(t.phone.lockedUntil, 0);
});

/** Three bad Basic logins sent straight to the phone, as a careless user would. */
async function lockOut(port: number) {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end(
          `GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${
            btoa("admin:bad")
          }\r\nConnection: close\r\n\r\n`,
        );
      });
      s.on("data", () => {});
      s.on("close", () => resolve());
      s.on("error", () => resolve());
    });
  }
}

for (const lockoutStatus of [403, 401, 200]) {
  Deno.test(`a locked phone (blocked page with ${lockoutStatus}) is PhoneLocked and left alone`, async () => {
    await using t = await setup(
      { auth: "basic", ...LOGIN, lockoutStatus, lockoutMs: 60_000 },
      LOGIN,
    );
    await lockOut(t.phone.port);
    assert.ok(t.phone.lockedUntil > 0);
    const before = t.phone.requests.length;
    assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "PhoneLocked");
    assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "PhoneLocked");
    assert.equal(t.phone.requests.length, before + 1, "only the first command reached the phone");
    assert.equal(t.registry.status()[0].blockedReason, "PhoneLocked");
  });
}

Deno.test("once the lock is over the phone works again", async () => {
  await using t = await setup({ auth: "digest", ...LOGIN, lockoutMs: 60 }, LOGIN, {
    lockCooldownMs: 80,
  });
  await lockOut(t.phone.port);
  assert.equal(reason(await t.registry.execute(call("101", "HoldCall"))), "PhoneLocked");
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await t.registry.execute(call("101", "HoldCall")), { ok: true });
});

Deno.test("commands to one phone go one at a time, in order", async () => {
  await using t = await setup({ auth: "digest", ...LOGIN }, LOGIN);
  t.phone.delayMs = 20;
  const commands = [
    "HoldCall",
    "RetrieveCall",
    "AnswerCall",
    "ClearConnection",
    "HoldCall",
  ] as const;
  const outcomes = await Promise.all(commands.map((c) => t.registry.execute(call("101", c))));
  assert.ok(outcomes.every((o) => o.ok));
  assert.equal(t.phone.maxConcurrent, 1);
  assert.deepEqual(t.phone.requests.filter((r) => r.authorized).map((r) => r.params.get("key")), [
    "F_HOLD",
    "F_HOLD",
    "ENTER",
    "CANCEL",
    "F_HOLD",
  ]);
});

Deno.test("a slow phone does not hold up another phone", async () => {
  const network = new SimNetwork();
  const slow = await network.addPhone({ extension: "101" });
  const fast = await network.addPhone({ extension: "102" });
  const registry = new PhoneRegistry({ timeoutMs: 2000 });
  try {
    await registry.apply(
      await settingsFrom([phoneLine("101", slow.port), phoneLine("102", fast.port)].join("\n")),
    );
    slow.delayMs = 300;
    const order: string[] = [];
    const a = registry.execute(call("101", "HoldCall")).then(() => order.push("101"));
    const b = registry.execute(call("102", "HoldCall")).then(() => order.push("102"));
    await Promise.all([a, b]);
    assert.deepEqual(order, ["102", "101"]);
  } finally {
    await registry.close();
    await network.close();
  }
});

Deno.test("too many commands waiting for one phone are refused at once", async () => {
  await using t = await setup({}, undefined, { maxQueued: 2 });
  t.phone.delayMs = 100;
  const outcomes = await Promise.all(
    [1, 2, 3, 4].map(() => t.registry.execute(call("101", "HoldCall"))),
  );
  assert.deepEqual(outcomes.map(reason), [undefined, undefined, undefined, "Timeout"]);
  assert.equal(t.phone.requests.length, 3);
});
