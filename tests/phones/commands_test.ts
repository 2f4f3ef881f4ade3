import assert from "node:assert/strict";
import { PhoneRegistry } from "../../src/phones/mod.ts";
import { SimNetwork, type SimPhone } from "../../src/simulator/mod.ts";
import { phoneLine, settingsFrom } from "../fakes/phone_settings.ts";
import { call } from "../helpers.ts";

const LOGIN = { username: "admin", password: "s3cret#;pass" };

/** Phone 101 with the given login, phone 102 without, both driven by a registry. */
async function setup(
  auth: "basic" | "digest",
  extra: Parameters<SimNetwork["addPhone"]>[0] | object = {},
) {
  const net = new SimNetwork();
  const a = await net.addPhone({ extension: "101", auth, ...LOGIN, ...extra });
  const b = await net.addPhone({ extension: "102" });
  const registry = new PhoneRegistry({ timeoutMs: 2000 });
  await registry.apply(
    await settingsFrom(
      [phoneLine("101", a.port, "snom.cfg", LOGIN), phoneLine("102", b.port)].join("\n"),
    ),
  );
  return {
    a,
    b,
    registry,
    async [Symbol.asyncDispose]() {
      await registry.close();
      await net.close();
    },
  };
}

/** Request targets the phone accepted with a valid login, from `from` on. */
function accepted(phone: SimPhone, from = 0): string[] {
  return phone.requests.slice(from).filter((r) => r.authorized).map((r) => r.target);
}

for (const auth of ["basic", "digest"] as const) {
  Deno.test(`${auth}: MakeCall dials with command.htm?number= and the called phone rings`, async () => {
    await using t = await setup(auth);
    assert.deepEqual(await t.registry.execute(call("101", "MakeCall", "102")), { ok: true });
    assert.deepEqual(accepted(t.a), ["/command.htm?number=102"]);
    assert.equal(t.b.calls[0].state, "ringing");
    assert.equal(t.a.calls[0].state, "dialing");
  });

  Deno.test(`${auth}: hold, retrieve, consultation and reconnect send the SNOM keys in order`, async () => {
    await using t = await setup(auth);
    await t.registry.execute(call("101", "MakeCall", "102"));
    t.b.answer();
    const from = t.a.requests.length;
    assert.deepEqual(await t.registry.execute(call("101", "HoldCall")), { ok: true });
    assert.equal(t.a.calls[0].state, "held");
    assert.deepEqual(await t.registry.execute(call("101", "RetrieveCall")), { ok: true });
    assert.equal(t.a.calls[0].state, "connected");
    assert.deepEqual(await t.registry.execute(call("101", "ConsultationCall", "*21#")), {
      ok: true,
    });
    assert.deepEqual(t.a.calls.map((c) => [c.remote.user, c.state]), [["102", "held"], [
      "*21#",
      "dialing",
    ]]);
    assert.deepEqual(await t.registry.execute(call("101", "ReconnectCall")), { ok: true });
    assert.deepEqual(t.a.calls.map((c) => [c.remote.user, c.state]), [["102", "connected"]]);
    assert.deepEqual(accepted(t.a, from), [
      "/command.htm?key=F_HOLD",
      "/command.htm?key=F_HOLD",
      "/command.htm?key=F_HOLD",
      "/command.htm?number=%2A21%23",
      "/command.htm?key=CANCEL",
      "/command.htm?key=F_HOLD",
    ]);
  });

  Deno.test(`${auth}: AnswerCall presses ENTER and ClearConnection presses CANCEL`, async () => {
    await using t = await setup(auth);
    t.a.callFrom("0049301234", { displayName: "Jane Doe" });
    assert.deepEqual(await t.registry.execute(call("101", "AnswerCall")), { ok: true });
    assert.equal(t.a.calls[0].state, "connected");
    assert.deepEqual(await t.registry.execute(call("101", "ClearConnection")), { ok: true });
    assert.deepEqual(t.a.calls, []);
    assert.deepEqual(accepted(t.a), ["/command.htm?key=ENTER", "/command.htm?key=CANCEL"]);
  });

  Deno.test(`${auth}: TransferCall with a number is a blind transfer in one request`, async () => {
    await using t = await setup(auth);
    t.a.callFrom("0049301234");
    await t.registry.execute(call("101", "AnswerCall"));
    const from = t.a.requests.length;
    assert.deepEqual(await t.registry.execute(call("101", "TransferCall", "102")), { ok: true });
    assert.deepEqual(accepted(t.a, from), ["/command.htm?key=TRANSFER;1;0;2;ENTER"]);
    assert.deepEqual(t.a.calls, []);
    assert.deepEqual(t.b.calls.map((c) => [c.remote.user, c.state]), [["0049301234", "ringing"]]);
  });

  Deno.test(`${auth}: TransferCall then MakeCall transfers to the number dialled`, async () => {
    await using t = await setup(auth);
    await t.registry.execute(call("101", "MakeCall", "102"));
    t.b.answer();
    const from = t.a.requests.length;
    assert.deepEqual(await t.registry.execute(call("101", "TransferCall")), { ok: true });
    assert.deepEqual(await t.registry.execute(call("101", "MakeCall", "+4930123")), { ok: true });
    assert.deepEqual(accepted(t.a, from), [
      "/command.htm?key=TRANSFER",
      "/command.htm?number=%2B4930123",
    ]);
    assert.deepEqual(t.a.calls, []);
    // 102 was referred to the new number: it now calls it.
    assert.deepEqual(t.b.calls.map((c) => [c.remote.user, c.state]), [["+4930123", "dialing"]]);
  });
}

Deno.test("ConferenceCall and AlternateCall are not in the SNOM profile: NotSupported, nothing sent", async () => {
  await using t = await setup("digest");
  for (const command of ["ConferenceCall", "AlternateCall"] as const) {
    const outcome = await t.registry.execute(call("101", command));
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.reason, "NotSupported");
  }
  assert.equal(t.a.requests.length, 0);
});

Deno.test("digest: the phone is challenged once, later commands reuse the nonce", async () => {
  await using t = await setup("digest");
  for (let i = 0; i < 4; i++) await t.registry.execute(call("101", "HoldCall"));
  assert.deepEqual(t.a.requests.map((r) => r.outcome), [401, 200, 200, 200, 200]);
  const ncs = t.a.requests.slice(1).map((r) =>
    /nc=(\w+)/.exec(r.headers.find(([n]) => n === "authorization")![1])![1]
  );
  assert.deepEqual(ncs, ["00000001", "00000002", "00000003", "00000004"]);
  assert.equal(t.a.failedLogins, 0);
});

Deno.test("basic: after the first challenge the credentials go up front", async () => {
  await using t = await setup("basic");
  for (let i = 0; i < 3; i++) await t.registry.execute(call("101", "HoldCall"));
  assert.deepEqual(t.a.requests.map((r) => r.outcome), [401, 200, 200, 200]);
  assert.equal(t.a.requests[0].headers.some(([n]) => n === "authorization"), false);
});

Deno.test("digest: SHA-256 is preferred when the phone offers it next to MD5", async () => {
  await using t = await setup("digest", { digestAlgorithms: ["MD5", "SHA-256"] });
  assert.deepEqual(await t.registry.execute(call("101", "HoldCall")), { ok: true });
  const authorization = t.a.requests[1].headers.find(([n]) => n === "authorization")![1];
  assert.match(authorization, /algorithm=SHA-256/);
  assert.match(authorization, /qop=auth/);
});

Deno.test("digest: a phone without qop (RFC 2069) is answered too", async () => {
  await using t = await setup("digest", { digestQop: "none" });
  assert.deepEqual(await t.registry.execute(call("101", "HoldCall")), { ok: true });
  assert.doesNotMatch(t.a.requests[1].headers.find(([n]) => n === "authorization")![1], /qop=/);
});

Deno.test("digest: a stale nonce is answered again and is not a failed login", async () => {
  await using t = await setup("digest", { digestNonceReuse: false });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await t.registry.execute(call("101", "HoldCall")), { ok: true });
  }
  assert.deepEqual(t.a.requests.map((r) => r.outcome), [401, 200, 401, 200, 401, 200]);
  assert.equal(t.a.failedLogins, 0);
});
