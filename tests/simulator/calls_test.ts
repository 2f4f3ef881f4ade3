import assert from "node:assert/strict";
import { CallModel, type Effect, type Peer } from "../../src/simulator/mod.ts";

function model(ids = ["c1", "c2", "c3", "c4"]) {
  let i = 0;
  return new CallModel({
    self: { user: "101", display: "Me" },
    resolve: (target) => ({
      peer: target.startsWith("1")
        ? { kind: "phone", extension: target }
        : { kind: "external", number: target, display: "" },
      party: { user: target, display: "" },
    }),
    newCallId: () => ids[i++],
  });
}

/** The events and messages of some effects, as short strings. */
function names(effects: Effect[]): string[] {
  return effects.map((e) => {
    switch (e.kind) {
      case "event":
        return e.call ? `${e.name}:${e.call.callId}` : e.name;
      case "ended":
        return `ended:${e.callId}:${e.how}`;
      case "refer":
      case "deflect":
        return `${e.kind}:${e.callId}>${e.target}`;
      case "join":
        return `join:${e.left.callId}+${e.right.callId}`;
      default:
        return `${e.kind}:${e.callId}`;
    }
  });
}

const external: Peer = { kind: "external", number: "0049301234", display: "Jane" };

Deno.test("dialling goes off-hook, reports outgoing and invites the other party", () => {
  const m = model();
  assert.deepEqual(names(m.dial("102")), ["offhook", "outgoing:c1", "invite:c1"]);
  assert.deepEqual(m.calls.map((c) => c.state), ["dialing"]);
  assert.deepEqual(names(m.remoteAnswered("c1")), ["connected:c1"]);
  assert.deepEqual(names(m.press(["CANCEL"])), ["disconnected:c1", "ended:c1:bye", "onhook"]);
  assert.deepEqual(m.calls, []);
});

Deno.test("rejecting a ringing call with CANCEL is the rejected event (a SNOM has no setting for it)", () => {
  const m = model();
  assert.deepEqual(names(m.incoming("x1", { user: "0049301234", display: "Jane" }, external)), [
    "incoming:x1",
  ]);
  assert.deepEqual(names(m.press(["CANCEL"])), ["rejected:x1", "ended:x1:reject"]);
  assert.deepEqual(m.calls, []);
});

Deno.test("a caller giving up on a ringing call is a missed call", () => {
  const m = model();
  m.incoming("x1", { user: "0049301234", display: "Jane" }, external);
  assert.deepEqual(names(m.remoteEnded("x1", "Q.850;cause=16")), ["missed:x1"]);
  const missed = m.remoteEnded("none");
  assert.deepEqual(missed, []);
});

Deno.test("answering a call while talking holds the first call", () => {
  const m = model();
  m.dial("102");
  m.remoteAnswered("c1");
  m.incoming("x1", { user: "0049301234", display: "" }, external);
  assert.deepEqual(names(m.press(["ENTER"])), ["hold:c1", "connected:x1", "answered:x1"]);
  assert.deepEqual(m.calls.map((c) => [c.callId, c.state]), [["c1", "held"], ["x1", "connected"]]);
});

Deno.test("F_HOLD toggles hold and unhold", () => {
  const m = model();
  m.dial("102");
  m.remoteAnswered("c1");
  assert.deepEqual(names(m.press(["F_HOLD"])), ["hold:c1"]);
  assert.deepEqual(names(m.press(["F_HOLD"])), ["unhold:c1"]);
  assert.deepEqual(names(m.press(["F_HOLD", "CANCEL"])), [
    "hold:c1",
    "disconnected:c1",
    "ended:c1:bye",
    "onhook",
  ]);
});

Deno.test("number= during a call holds it and opens a second one (consultation)", () => {
  const m = model();
  m.dial("102");
  m.remoteAnswered("c1");
  assert.deepEqual(names(m.dial("0301")), ["hold:c1", "outgoing:c2", "invite:c2"]);
  assert.deepEqual(m.calls.map((c) => c.state), ["held", "dialing"]);
});

Deno.test("TRANSFER, digits and ENTER transfer the call blind", () => {
  const m = model();
  m.incoming("x1", { user: "0049301234", display: "" }, external);
  m.press(["ENTER"]);
  assert.deepEqual(names(m.press(["TRANSFER", "1", "0", "3", "ENTER"])), [
    "transfer:x1",
    "blind_transfer:x1",
    "disconnected:x1",
    "refer:x1>103",
    "onhook",
  ]);
  assert.deepEqual(m.calls, []);
});

Deno.test("TRANSFER then number= completes the transfer to that number", () => {
  const m = model();
  m.dial("102");
  m.remoteAnswered("c1");
  assert.deepEqual(names(m.press(["TRANSFER"])), []);
  assert.deepEqual(m.entry, { mode: "transfer", digits: "" });
  assert.deepEqual(names(m.dial("104")), [
    "transfer:c1",
    "blind_transfer:c1",
    "disconnected:c1",
    "refer:c1>104",
    "onhook",
  ]);
});

Deno.test("TRANSFER with one held and one connected call joins them (attended transfer)", () => {
  const m = model();
  m.dial("102");
  m.remoteAnswered("c1");
  m.dial("103");
  m.remoteAnswered("c2");
  assert.deepEqual(names(m.press(["TRANSFER"])), [
    "transfer:c1",
    "attended_transfer:c1",
    "disconnected:c1",
    "disconnected:c2",
    "join:c1+c2",
    "onhook",
  ]);
  assert.deepEqual(m.calls, []);
});

Deno.test("TRANSFER on a ringing call forwards it (deflects it to the number)", () => {
  const m = model();
  m.incoming("x1", { user: "0049301234", display: "" }, external);
  assert.deepEqual(names(m.press(["TRANSFER", "1", "0", "5", "ENTER"])), [
    "forwarded:x1",
    "deflect:x1>105",
  ]);
  assert.deepEqual(m.calls, []);
});

Deno.test("CANCEL during a transfer prompt leaves the call as it was", () => {
  const m = model();
  m.dial("102");
  m.remoteAnswered("c1");
  m.press(["TRANSFER", "5"]);
  assert.deepEqual(names(m.press(["CANCEL"])), []);
  assert.equal(m.entry, undefined);
  assert.deepEqual(m.calls.map((c) => c.state), ["connected"]);
});

Deno.test("a blind-transferred party calls the new target, and an attended one is replaced", () => {
  const m = model();
  m.incoming("x1", { user: "200", display: "" }, { kind: "phone", extension: "200" });
  m.press(["ENTER"]);
  assert.deepEqual(names(m.referred("x1", "0777")), [
    "disconnected:x1",
    "outgoing:c1",
    "invite:c1",
  ]);
  assert.deepEqual(
    names(
      m.replaced(
        "c1",
        "n1",
        { user: "300", display: "" },
        { kind: "phone", extension: "300" },
        true,
      ),
    ),
    [
      "disconnected:c1",
      "received_attended_transfer:n1",
      "connected:n1",
    ],
  );
  assert.deepEqual(m.calls.map((c) => [c.callId, c.state, c.remote.user]), [[
    "n1",
    "connected",
    "300",
  ]]);
});

Deno.test("DND refuses incoming calls silently and reports its changes", () => {
  const m = model();
  assert.deepEqual(names(m.press(["DND"])), ["dnd_on"]);
  assert.deepEqual(names(m.incoming("x1", { user: "1", display: "" }, external)), [
    "ended:x1:reject",
  ]);
  assert.deepEqual(names(m.press(["DND"])), ["dnd_off"]);
});

Deno.test("OFFHOOK, digits and ENTER dial; RELEASE_ALL_CALLS ends everything", () => {
  const m = model();
  assert.deepEqual(names(m.press(["OFFHOOK", "1", "0", "2", "ENTER"])), [
    "offhook",
    "outgoing:c1",
    "invite:c1",
  ]);
  m.remoteAnswered("c1");
  m.incoming("x1", { user: "1", display: "" }, external);
  assert.deepEqual(names(m.releaseAll()), [
    "disconnected:c1",
    "ended:c1:bye",
    "ended:x1:reject",
    "onhook",
  ]);
});
