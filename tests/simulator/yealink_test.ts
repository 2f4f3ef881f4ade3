import assert from "node:assert/strict";
import {
  SimNetwork,
  substituteYealink,
  trustedBy,
  type YealinkOptions,
  type YealinkPhone,
} from "../../src/simulator/mod.ts";
import { ActionReceiver } from "../fakes/action_receiver.ts";

const BASIC = "Basic " + btoa("admin:pw");

function get(phone: YealinkPhone, target: string, auth = BASIC): Promise<Response> {
  return fetch(`${phone.url}${target}`, { headers: auth ? { authorization: auth } : {} });
}

async function withYealinks(
  options: Partial<YealinkOptions>,
  test: (a: YealinkPhone, net: SimNetwork, receiver: ActionReceiver) => Promise<void>,
) {
  const network = new SimNetwork();
  const receiver = await ActionReceiver.start();
  const events = [
    "incoming_call",
    "outgoing_call",
    "call_established",
    "call_terminated",
    "missed_call",
    "hold",
    "unhold",
    "transfer_finished",
    "reject_incoming_call",
    "forward_incoming_call",
    "transfer_failed",
    "dnd_on",
    "dnd_off",
  ];
  const lines = (ext: string) =>
    [
      "features.action_uri_limit_ip = 127.0.0.1",
      ...events.map((e) =>
        `action_url.${e} = ${receiver.url}/${ext}/${e}?cid=$call_id&remote=$remote&dr=$display_remote`
      ),
    ].join("\n");
  const a = await network.addYealink({
    extension: "101",
    password: "pw",
    provisioning: lines("101"),
    ...options,
  });
  try {
    await test(a, network, receiver);
  } finally {
    await network.close();
    await receiver.close();
  }
}

Deno.test("a simulated Yealink obeys only its Action URI Allow IP List, with * per octet and any", () => {
  assert.equal(trustedBy("", "127.0.0.1"), false);
  assert.equal(trustedBy("10.1.4.3, 127.0.*.*", "127.0.0.1"), true);
  assert.equal(trustedBy("127.0.0.2", "::ffff:127.0.0.2"), true);
  assert.equal(trustedBy("10.10.*.*", "127.0.0.1"), false);
  assert.equal(trustedBy("any", "192.0.2.1"), true);
});

Deno.test("Action URL variables are substituted raw, longest name first; unknown ones stay", () => {
  assert.equal(
    substituteYealink("/x?cid=$call_id&dr=$display_remote&r=$remote&o=$other", {
      call_id: "101",
      display_remote: "Jane Doe",
      remote: "sip:201@pbx",
    }),
    "/x?cid=101&dr=Jane Doe&r=sip:201@pbx&o=$other",
  );
});

Deno.test("a simulated Yealink: 403 off the trusted list, 401 without Basic login, then the prompt decides", async () => {
  await withYealinks({ provisioning: "" }, async (a) => {
    assert.equal((await get(a, "/servlet?key=OK")).status, 403);
    a.provision("features.action_uri_limit_ip = 127.0.0.*");
    const noLogin = await get(a, "/servlet?key=OK", "");
    assert.equal(noLogin.status, 401);
    assert.match(noLogin.headers.get("www-authenticate") ?? "", /^Basic/);
    await noLogin.body?.cancel();
    assert.equal(a.prompts, 0);
    const ok = await get(a, "/servlet?phonecfg=get");
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /firmware=/);
    assert.equal(a.prompts, 1);
    assert.equal((await get(a, "/servlet?key=OK")).status, 200);
    assert.equal(a.prompts, 1, "the prompt is shown once per address");
  });
  await withYealinks({ promptAnswer: "refuse" }, async (a) => {
    assert.equal((await get(a, "/servlet?key=number=102")).status, 403);
    assert.equal(a.calls.length, 0);
    assert.equal((await get(a, "/servlet?key=number=102")).status, 403);
    a.provision("features.show_action_uri_option = 0");
    assert.equal((await get(a, "/servlet?key=number=102")).status, 200);
    assert.equal(a.calls.length, 1);
  });
});

Deno.test("a simulated Yealink dials, answers by call id, holds, takes back and ends, and reports each raw", async () => {
  await withYealinks({}, async (a, network, receiver) => {
    const b = await network.addYealink({
      extension: "102",
      displayName: "Jane Doe",
      password: "pw",
      provisioning: "features.action_uri_limit_ip = any",
    });
    b.provision(
      `action_url.incoming_call = ${receiver.url}/102/incoming_call?cid=$call_id&dr=$display_remote`,
    );
    assert.equal((await get(a, "/servlet?key=number=102")).status, 200);
    assert.equal(b.calls[0].state, "ringing");
    const bId = b.localId(b.calls[0].callId);
    assert.match(bId, /^\d+$/, "a Yealink's call id is its own small number");
    assert.equal((await get(b, `/servlet?key=ASW:${bId}`)).status, 200);
    assert.equal(a.calls[0].state, "connected");
    const aId = a.localId(a.calls[0].callId);
    assert.equal((await get(a, `/servlet?key=HOLD:${aId}`)).status, 200);
    assert.equal(a.calls[0].state, "held");
    assert.equal((await get(a, `/servlet?key=UNHOLD:${aId}`)).status, 200);
    assert.equal(a.calls[0].state, "connected");
    assert.equal((await get(a, `/servlet?key=CANCEL:${aId}`)).status, 200);
    assert.equal(a.calls.length + b.calls.length, 0);
    assert.equal((await get(a, "/servlet?key=NOPE")).status, 400);
    await a.actionsIdle();
    await b.actionsIdle();
    await receiver.waitFor(6);
    const remote = "remote=sip:102@sim.invalid&dr=Jane Doe";
    assert.deepEqual(receiver.targets.filter((t) => t.startsWith("/101/")), [
      `/101/outgoing_call?cid=${aId}&${remote}`,
      `/101/call_established?cid=${aId}&${remote}`,
      `/101/hold?cid=${aId}&${remote}`,
      `/101/unhold?cid=${aId}&${remote}`,
      `/101/call_terminated?cid=${aId}&${remote}`,
    ]);
    assert.deepEqual(receiver.targets.filter((t) => t.startsWith("/102/")), [
      `/102/incoming_call?cid=${bId}&dr=Phone 101`,
    ]);
  });
});

Deno.test("a simulated Yealink transfers blind with F_TRANSFER, digits, F_TRANSFER, and rejects by CANCEL:<id>", async () => {
  await withYealinks({}, async (a, network) => {
    const c = await network.addYealink({ extension: "103", provisioning: "" });
    const outside = a.callFrom("0301234");
    a.answer(outside);
    assert.equal((await get(a, "/servlet?key=F_TRANSFER;1;0;3;F_TRANSFER")).status, 200);
    assert.equal(a.calls.length, 0);
    assert.equal(c.calls[0].state, "ringing");
    const again = a.callFrom("0305678");
    const id = a.localId(again);
    assert.equal((await get(a, `/servlet?key=CANCEL:${id}`)).status, 200);
    assert.equal(a.calls.length, 0);
    await a.actionsIdle();
    // One transfer_finished per transfer (not one per kind of transfer event).
    assert.equal(a.actions.filter((x) => x.url.includes("/101/transfer_finished?")).length, 1);
    assert.ok(a.actions.some((x) => x.url.includes(`/101/reject_incoming_call?cid=${id}&`)));
  });
});

Deno.test("a simulated Yealink reports DND with the guides' dnd_on and dnd_off", async () => {
  await withYealinks({}, async (a) => {
    a.press("DND");
    a.press("DND");
    await a.actionsIdle();
    assert.deepEqual(a.actions.map((x) => new URL(x.url).pathname), [
      "/101/dnd_on",
      "/101/dnd_off",
    ]);
  });
});

Deno.test("a simulated Yealink reports a call it forwards, a transfer that fails, and going busy and idle", async () => {
  await withYealinks({}, async (a, network) => {
    const c = await network.addYealink({ extension: "103", provisioning: "" });
    const path = () => a.actions.map((x) => new URL(x.url).pathname.slice(5));
    const base = new URL(a.settings.get("action_url.hold")!).origin;
    a.provision(
      ["idle_to_busy", "busy_to_idle"].map((e) => `action_url.${e} = ${base}/101/${e}`).join("\n"),
    );
    // Forwarded while ringing: F_TRANSFER, digits, F_TRANSFER deflect it to 103.
    a.callFrom("0301234");
    assert.equal((await get(a, "/servlet?key=F_TRANSFER;1;0;3;F_TRANSFER")).status, 200);
    assert.deepEqual([a.calls.length, c.calls[0]?.state], [0, "ringing"]);
    await a.actionsIdle();
    assert.deepEqual(path(), [
      "incoming_call",
      "idle_to_busy",
      "forward_incoming_call",
      "busy_to_idle",
    ]);
    // A blind transfer to a number nobody answers for fails: the call stays connected.
    a.unreachable.add("299");
    a.answer(a.callFrom("0305678"));
    a.actions.length = 0;
    assert.equal((await get(a, "/servlet?key=F_TRANSFER;2;9;9;F_TRANSFER")).status, 200);
    assert.deepEqual(a.calls.map((x) => x.state), ["connected"]);
    await a.actionsIdle();
    assert.deepEqual(path(), ["transfer_failed"]);
  });
});
