import assert from "node:assert/strict";
import {
  SimNetwork,
  type SimPhone,
  type SimPhoneOptions,
  substitute,
} from "../../src/simulator/mod.ts";
import { ActionReceiver } from "../fakes/action_receiver.ts";

const EVENTS: Record<string, string> = {
  action_incoming_url: "incoming",
  action_outgoing_url: "outgoing",
  action_connected_url: "connected",
  action_disconnected_url: "disconnected",
  action_missed_url: "missed",
  action_hold: "hold",
  action_unhold: "unhold",
  action_transfer: "transfer",
  action_offhook_url: "offhook",
  action_onhook_url: "onhook",
};

/** Points every action URL of `phone` at the receiver, with the event in the path. */
function configure(
  phone: SimPhone,
  receiver: ActionReceiver,
  query = "cid=$call-id&remote=$remote",
) {
  const settings = Object.entries(EVENTS)
    .map(([setting, event]) =>
      `${setting}=${
        encodeURIComponent(`${receiver.url}/${phone.extension}/${event}?${query}`).replaceAll(
          "%24",
          "$",
        )
      }`
    )
    .join("&");
  return fetch(`${phone.url}/dummy.htm?settings=save&${settings}&store_settings=save`).then((r) =>
    r.text()
  );
}

async function withNetwork(
  options: Partial<SimPhoneOptions>,
  test: (a: SimPhone, b: SimPhone, receiver: ActionReceiver) => Promise<void>,
) {
  const network = new SimNetwork();
  const receiver = await ActionReceiver.start();
  try {
    const a = await network.addPhone({ extension: "101", ...options });
    const b = await network.addPhone({ extension: "102", ...options });
    await configure(a, receiver);
    await configure(b, receiver);
    await test(a, b, receiver);
  } finally {
    await network.close();
    await receiver.close();
  }
}

/** `<phone>/<event>` for each received request, in order. */
function events(receiver: ActionReceiver, phone?: string): string[] {
  return receiver.targets.map((t) => t.split("?")[0].slice(1)).filter((e) =>
    !phone || e.startsWith(phone + "/")
  );
}

async function settle(...phones: SimPhone[]) {
  // Sending one phone's action URL can make no other phone fire, so one pass is enough.
  for (const p of phones) await p.actionsIdle();
}

Deno.test("a call between two phones fires outgoing, incoming, connected, disconnected and onhook in order", async () => {
  await withNetwork({}, async (a, b, receiver) => {
    a.dial("102");
    b.answer();
    a.hangup();
    await settle(a, b);
    assert.deepEqual(events(receiver, "101"), [
      "101/offhook",
      "101/outgoing",
      "101/connected",
      "101/disconnected",
      "101/onhook",
    ]);
    assert.deepEqual(events(receiver, "102"), [
      "102/incoming",
      "102/offhook",
      "102/connected",
      "102/disconnected",
      "102/onhook",
    ]);
    const callId = receiver.targets.find((t) => t.startsWith("/102/incoming"))!;
    assert.match(callId, /cid=[0-9a-f]{12}-[0-9a-z]+&remote=101%40sim\.invalid$/);
  });
});

Deno.test("rejecting a ringing call fires nothing on the callee and disconnected on the caller", async () => {
  await withNetwork({}, async (a, b, receiver) => {
    a.dial("102");
    b.press("CANCEL");
    await settle(a, b);
    assert.deepEqual(events(receiver, "102"), ["102/incoming"]);
    assert.deepEqual(events(receiver, "101"), [
      "101/offhook",
      "101/outgoing",
      "101/disconnected",
      "101/onhook",
    ]);
  });
});

Deno.test("a caller giving up makes a missed call", async () => {
  await withNetwork({}, async (a, _b, receiver) => {
    a.callFrom("0049301234", { displayName: "Jane Doe" });
    a.remoteHangup();
    await settle(a);
    assert.deepEqual(events(receiver, "101"), ["101/incoming", "101/missed"]);
    assert.ok(receiver.targets.at(-1)!.endsWith("remote=0049301234%40sim.invalid"));
  });
});

Deno.test("hold and unhold use the settings without _url", async () => {
  await withNetwork({}, async (a, b, receiver) => {
    a.dial("102");
    b.answer();
    a.press("F_HOLD");
    a.press("F_HOLD");
    await settle(a, b);
    assert.deepEqual(events(receiver, "101").slice(-2), ["101/hold", "101/unhold"]);
  });
});

Deno.test("a blind transfer fires transfer and rings the target; an attended one joins the two others", async () => {
  const network = new SimNetwork();
  const receiver = await ActionReceiver.start();
  try {
    const a = await network.addPhone({ extension: "101" });
    const b = await network.addPhone({ extension: "102" });
    const c = await network.addPhone({ extension: "103" });
    for (const p of [a, b, c]) await configure(p, receiver);
    a.callFrom("0049301234");
    a.answer();
    a.press("TRANSFER", "1", "0", "3", "ENTER");
    await settle(a, b, c);
    assert.deepEqual(events(receiver, "101"), [
      "101/incoming",
      "101/offhook",
      "101/connected",
      "101/transfer",
      "101/disconnected",
      "101/onhook",
    ]);
    assert.deepEqual(events(receiver, "103"), ["103/incoming"]);
    assert.equal(c.calls[0].remote.user, "0049301234");
    // Attended: 102 calls 101, 101 consults 103, then joins 102 and 103.
    c.hangup();
    b.dial("101");
    a.answer();
    a.dial("103");
    c.answer();
    a.press("TRANSFER");
    assert.deepEqual(a.calls, []);
    assert.deepEqual(b.calls.map((x) => [x.remote.user, x.state]), [["103", "connected"]]);
    assert.deepEqual(c.calls.map((x) => [x.remote.user, x.state]), [["102", "connected"]]);
    assert.equal(b.calls[0].callId, c.calls[0].callId);
  } finally {
    await network.close();
    await receiver.close();
  }
});

Deno.test("raw mode puts display names into the request line unencoded", async () => {
  const network = new SimNetwork();
  const receiver = await ActionReceiver.start();
  try {
    const a = await network.addPhone({
      extension: "101",
      actionEncoding: "raw",
      remoteFormat: "sip:user@host",
    });
    await configure(a, receiver, "dr=$display_remote&remote=$remote&local=$local");
    a.callFrom("0049301234", { displayName: "Jane Doe" });
    await settle(a);
    assert.equal(
      receiver.targets[0],
      "/101/incoming?dr=Jane Doe&remote=sip:0049301234@sim.invalid&local=sip:101@sim.invalid",
    );
  } finally {
    await network.close();
    await receiver.close();
  }
});

Deno.test("action URLs carry a SNOM User-Agent", async () => {
  await withNetwork({ model: "D785" }, async (a, _b, receiver) => {
    a.callFrom("1");
    await settle(a);
    assert.match(
      receiver.received[0].headers.get("user-agent")!,
      /^Mozilla\/4.0 \(compatible; snomD785-SIP 10\.1\.\S+ .*000413[0-9A-F]{6}/,
    );
  });
});

Deno.test("an unreachable action URL is recorded and does not stop the next one", async () => {
  const network = new SimNetwork();
  try {
    const a = await network.addPhone({
      extension: "101",
      settings: { action_incoming_url: "http://127.0.0.1:1/x", action_missed_url: "not a url" },
    });
    a.callFrom("1");
    a.remoteHangup();
    await a.actionsIdle();
    assert.equal(a.actions.length, 2);
    assert.ok(a.actions[0].error);
    assert.equal(a.actions[1].error, "not an http(s) URL");
  } finally {
    await network.close();
  }
});

Deno.test("$variables: runtime values, settings, blank passwords, unknown names blank", () => {
  const runtime = {
    "call-id": "abc-1",
    remote: "0049@pbx",
    display_remote: "Jane Doe",
    nr_ongoing_calls: "2",
  };
  const settings = new Map([["user_name1", "101"], ["http_pass", "secret"]]);
  const out = substitute(
    "/e?cid=$call-id&r=$remote&d=$display_remote&n=$nr_ongoing_calls&u=$user_name1&p=$http_pass&x=$nosuch&y=$remote-tail",
    runtime,
    (n) => settings.get(n),
    true,
  );
  assert.equal(out, "/e?cid=abc-1&r=0049%40pbx&d=Jane%20Doe&n=2&u=101&p=&x=&y=0049%40pbx-tail");
});

Deno.test("actionDelayMs holds action URLs back until after the command's reply", async () => {
  await withNetwork({}, async (a, _b, receiver) => {
    a.actionDelayMs = 100;
    const reply = await fetch(`${a.url}/command.htm?number=102`, { redirect: "manual" });
    await reply.body?.cancel();
    assert.equal(reply.status, 302);
    assert.equal(receiver.received.length, 0, "nothing fired yet");
    await a.actionsIdle();
    assert.deepEqual(events(receiver, "101"), ["101/offhook", "101/outgoing"]);
  });
});
