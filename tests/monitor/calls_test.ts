import assert from "node:assert/strict";
import {
  answeredElsewhere,
  type CallEvent,
  DeviceCalls,
  type PhoneReport,
} from "../../src/monitor/mod.ts";
import type { NotificationName } from "../../src/config/mod.ts";
import { describe } from "./_fakes.ts";

const T0 = 1_000_000;

function machine(unansweredMs?: number) {
  let ref = 17;
  return new DeviceCalls("101", { nextCallRef: () => ref++, unansweredMs });
}

function report(
  notification: NotificationName,
  callId: string,
  remote = "",
  more: Partial<PhoneReport> = {},
): PhoneReport {
  return { notification, callId, remote, displayName: "", ...more };
}

/** Feeds reports in order; returns every event as a compact line. */
function run(m: DeviceCalls, ...reports: PhoneReport[]): string[] {
  return reports.flatMap((r) => m.report(r, T0)).map(describe);
}

const lines = (events: CallEvent[]) => events.map(describe);

Deno.test("an answered incoming call is delivered, established and cleared", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onIncomingCall", "a", "0049301234"),
      report("onConnected", "a", "0049301234"),
      report("onDisconnected", "a", "0049301234"),
    ),
    [
      "Delivered 101 0049301234 [17:alerting:0049301234]",
      "Established 101 incoming 0049301234 [17:connected:0049301234]",
      "ConnectionCleared 101 []",
    ],
  );
  assert.deepEqual(m.calls(), []);
});

Deno.test("an outgoing call is originated, established, held, retrieved and cleared", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onOutgoingCall", "b", "102"),
      report("onConnected", "b", "102"),
      report("onHold", "b", "102"),
      report("onUnhold", "b", "102"),
      report("onDisconnected", "b", "102"),
    ),
    [
      "Originated 101 102 [17:dialing:102]",
      "Established 101 outgoing 102 [17:connected:102]",
      "Held 101 [17:held:102]",
      "Retrieved 101 [17:connected:102]",
      "ConnectionCleared 101 []",
    ],
  );
});

Deno.test("a missed call ends with ConnectionCleared", () => {
  const m = machine();
  assert.deepEqual(
    run(m, report("onIncomingCall", "a", "555"), report("onMissedCall", "a", "555")),
    ["Delivered 101 555 [17:alerting:555]", "ConnectionCleared 101 []"],
  );
});

Deno.test("a call rejected on the phone ends when the phone next reports no calls", () => {
  const m = machine();
  // The user rejects call a with CANCEL: the phone reports nothing. Later call b comes and goes.
  const out = run(
    m,
    report("onIncomingCall", "a", "555", { ongoing: 1 }),
    report("onOutgoingCall", "b", "102", { ongoing: 1 }),
    report("onDisconnected", "b", "102", { ongoing: 0 }),
  );
  assert.deepEqual(out, [
    "Delivered 101 555 [17:alerting:555]",
    "Originated 101 102 [17:alerting:555,18:dialing:102]",
    "ConnectionCleared 101 [17:alerting:555]",
    "ConnectionCleared 101 []",
  ]);
});

Deno.test("a ringing call its CANCEL says was answered elsewhere ends as callPickup, not missed", () => {
  const m = machine();
  const elsewhere = 'SIP;cause=200;text="Call completed elsewhere"';
  assert.deepEqual(
    run(
      m,
      report("onIncomingCall", "a", "555"),
      report("onMissedCall", "a", "555", { cancelReason: elsewhere }),
      report("onIncomingCall", "b", "556"),
      report("onMissedCall", "b", "556", { cancelReason: "Q.850;cause=16" }),
    ),
    [
      "Delivered 101 555 [17:alerting:555]",
      "ConnectionCleared 101 callPickup []",
      "Delivered 101 556 [18:alerting:556]",
      "ConnectionCleared 101 []",
    ],
  );
  assert.ok(answeredElsewhere('SIP ;cause=200 ;text="Call completed elsewhere"'));
  assert.ok(!answeredElsewhere("SIP;cause=486"));
  assert.ok(!answeredElsewhere("$cancel_reason"));
});

Deno.test("a call the phone reports rejected or forwarded ends at once, with its cause", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onIncomingCall", "a", "555"),
      report("onIncomingCall", "b", "556"),
      report("onRejected", "a", "555"),
      report("onForwarded", "b", "556"),
    ),
    [
      "Delivered 101 555 [17:alerting:555]",
      "Delivered 101 556 [17:alerting:555,18:alerting:556]",
      "ConnectionCleared 101 callRejected [18:alerting:556]",
      "ConnectionCleared 101 redirected []",
    ],
  );
  // The phone's own word: a straggler for the rejected call changes nothing.
  assert.deepEqual(run(m, report("onConnected", "a", "555")), []);
  // Only a ringing call can be rejected: for a connected call the report is stale news.
  run(m, report("onIncomingCall", "c", "557"), report("onConnected", "c", "557"));
  assert.deepEqual(run(m, report("onRejected", "c", "557")), []);
  assert.deepEqual(m.calls().map((c) => c.state), ["connected"]);
});

Deno.test("an outgoing call turned down or given up before an answer ends at once", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onOutgoingCall", "a", "102"),
      report("onRemoteBusy", "", "102"),
      report("onOutgoingCall", "b", "103"),
      report("onCallCancelled", "b", "103"),
    ),
    [
      "Originated 101 102 [17:dialing:102]",
      "ConnectionCleared 101 busy []",
      "Originated 101 103 [18:dialing:103]",
      "ConnectionCleared 101 callCancelled []",
    ],
  );
});

Deno.test("the phone going idle ends every call but a MakeCall it has not reported yet", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onOutgoingCall", "b", "102"));
  m.made("103", T0);
  assert.deepEqual(run(m, report("onIdle", "")), [
    "ConnectionCleared 101 [18:dialing:102,19:dialing:103]",
    "ConnectionCleared 101 [19:dialing:103]",
  ]);
});

Deno.test("a failed transfer leaves the call as it is and the next MakeCall a call of its own", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onConnected", "a", "555"));
  m.transferStarted(undefined, T0);
  assert.deepEqual(run(m, report("onTransferFailed", "a", "555")), []);
  assert.deepEqual(m.calls().map((c) => c.state), ["connected"]);
  assert.deepEqual(lines(m.made("104", T0)), [
    "Initiated 101 18 [17:connected:555,18:dialing:104]",
  ]);
  // A later transfer of the first call takes that call only: 104 was no transfer's target.
  assert.deepEqual(run(m, report("onTransfer", "a", "555")), [
    "Transferred 101 555 [18:dialing:104]",
  ]);
});

Deno.test("a failed transfer frees the target leg already made for it", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onConnected", "a", "555"));
  m.transferStarted(undefined, T0);
  m.made("103", T0);
  assert.deepEqual(run(m, report("onTransferFailed", "")), []);
  assert.deepEqual(run(m, report("onTransfer", "a", "555")), [
    "Transferred 101 555 [18:dialing:103]",
  ]);
});

Deno.test("a call rejected on the phone ends after the unanswered timeout", () => {
  const m = machine(60_000);
  m.report(report("onIncomingCall", "a", "555"), T0);
  assert.equal(m.nextDeadline(), T0 + 60_000);
  assert.deepEqual(m.expire(T0 + 59_999), []);
  assert.deepEqual(lines(m.expire(T0 + 60_000)), ["ConnectionCleared 101 []"]);
  assert.equal(m.nextDeadline(), undefined);
});

Deno.test("a call ended on a guess comes back when the phone reports it connected", () => {
  const m = machine(60_000);
  m.report(report("onIncomingCall", "a", "555"), T0);
  m.expire(T0 + 60_000);
  assert.deepEqual(lines(m.report(report("onConnected", "a", "555"), T0 + 61_000)), [
    "Established 101 incoming 555 [18:connected:555]",
  ]);
  // The phone's own hang-up report still ends it.
  assert.deepEqual(lines(m.report(report("onDisconnected", "a"), T0 + 62_000)), [
    "ConnectionCleared 101 []",
  ]);
});

Deno.test("a connected call is not timed out and not cleared by a count above zero", () => {
  const m = machine(60_000);
  m.report(report("onIncomingCall", "a", "555"), T0);
  m.report(report("onConnected", "a", "555"), T0);
  assert.equal(m.nextDeadline(), undefined);
  assert.deepEqual(m.expire(T0 + 10 * 60_000), []);
  assert.deepEqual(run(m, report("onOutgoingCall", "b", "7", { ongoing: 2 })), [
    "Originated 101 7 [17:connected:555,18:dialing:7]",
  ]);
});

Deno.test("consultation: two calls at once, each with its own state", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onIncomingCall", "a", "555"),
      report("onConnected", "a", "555"),
      report("onHold", "a", "555"),
      report("onOutgoingCall", "b", "103"),
      report("onConnected", "b", "103"),
      report("onDisconnected", "b", "103"),
      report("onUnhold", "a", "555"),
      report("onDisconnected", "a", "555"),
    ),
    [
      "Delivered 101 555 [17:alerting:555]",
      "Established 101 incoming 555 [17:connected:555]",
      "Held 101 [17:held:555]",
      "Originated 101 103 [17:held:555,18:dialing:103]",
      "Established 101 outgoing 103 [17:held:555,18:connected:103]",
      "ConnectionCleared 101 [17:held:555]",
      "Retrieved 101 [17:connected:555]",
      "ConnectionCleared 101 []",
    ],
  );
});

Deno.test("a second call ringing during a call is delivered beside it", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onOutgoingCall", "a", "102"),
      report("onConnected", "a", "102"),
      report("onIncomingCall", "b", "555"),
      report("onMissedCall", "b", "555"),
    ),
    [
      "Originated 101 102 [17:dialing:102]",
      "Established 101 outgoing 102 [17:connected:102]",
      "Delivered 101 555 [17:connected:102,18:alerting:555]",
      "ConnectionCleared 101 [17:connected:102]",
    ],
  );
});

Deno.test("a transfer reported by the phone ends the call with Transferred", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onIncomingCall", "a", "555"),
      report("onConnected", "a", "555"),
      report("onTransfer", "a", "103"),
      report("onDisconnected", "a", "555"),
    ),
    [
      "Delivered 101 555 [17:alerting:555]",
      "Established 101 incoming 555 [17:connected:555]",
      "Transferred 101 103 []",
    ],
  );
});

Deno.test("an attended transfer takes both the held and the active call off the device", () => {
  const m = machine();
  const out = run(
    m,
    report("onIncomingCall", "a", "555"),
    report("onConnected", "a", "555"),
    report("onHold", "a", "555"),
    report("onOutgoingCall", "b", "103"),
    report("onConnected", "b", "103"),
    report("onAttendedTransfer", "b", "103"),
    report("onDisconnected", "a", "555"),
  );
  assert.deepEqual(out.slice(-2), [
    "Transferred 101 103 [17:held:555]",
    "ConnectionCleared 101 []",
  ]);
  assert.deepEqual(m.calls(), []);
});

Deno.test("a blind transfer with a number names the target when the phone does not", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onConnected", "a", "555"));
  m.transferStarted("103", T0);
  assert.deepEqual(run(m, report("onTransfer", "a", "")), ["Transferred 101 103 []"]);
  // The blind transfer does not turn the next MakeCall into a transfer leg.
  assert.deepEqual(lines(m.made("104", T0)), ["Initiated 101 18 [18:dialing:104]"]);
});

Deno.test("TransferCall then MakeCall: the transfer ends the call and the target leg", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onConnected", "a", "555"));
  m.transferStarted(undefined, T0);
  assert.deepEqual(lines(m.made("103", T0)), [
    "Initiated 101 18 [17:connected:555,18:dialing:103]",
  ]);
  assert.deepEqual(run(m, report("onHold", "a", "555"), report("onTransfer", "a", "")), [
    "Held 101 [17:held:555,18:dialing:103]",
    "Transferred 101 103 [18:dialing:103]",
    "ConnectionCleared 101 []",
  ]);
});

Deno.test("TransferCall then MakeCall, when the phone dials the target as a second call", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onConnected", "a", "555"));
  m.transferStarted(undefined, T0);
  m.made("103", T0);
  assert.deepEqual(
    run(
      m,
      report("onHold", "a", "555"),
      report("onOutgoingCall", "c", "103"),
      report("onConnected", "c", "103"),
      report("onTransfer", "a", "103"),
    ),
    [
      "Held 101 [17:held:555,18:dialing:103]",
      "Originated 101 103 [17:held:555,18:dialing:103]",
      "Established 101 outgoing 103 [17:held:555,18:connected:103]",
      "Transferred 101 103 [18:connected:103]",
      "ConnectionCleared 101 []",
    ],
  );
});

Deno.test("repeated reports change nothing and publish nothing", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onIncomingCall", "a", "555"),
      report("onIncomingCall", "a", "555"),
      report("onConnected", "a", "555"),
      report("onConnected", "a", "555"),
      report("onHold", "a", "555"),
      report("onHold", "a", "555"),
      report("onConnected", "a", "555"),
      report("onUnhold", "a", "555"),
      report("onUnhold", "a", "555"),
      report("onDisconnected", "a", "555"),
      report("onDisconnected", "a", "555"),
      report("onMissedCall", "a", "555"),
      report("onTransfer", "a", "555"),
    ),
    [
      "Delivered 101 555 [17:alerting:555]",
      "Established 101 incoming 555 [17:connected:555]",
      "Held 101 [17:held:555]",
      "Retrieved 101 [17:connected:555]",
      "ConnectionCleared 101 []",
    ],
  );
});

Deno.test("a late report about an ended call is ignored, its call count too", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onDisconnected", "a", "555"));
  assert.deepEqual(
    run(
      m,
      report("onIncomingCall", "b", "666", { ongoing: 1 }),
      report("onConnected", "a", "555", { ongoing: 0 }),
      report("onIncomingCall", "a", "555", { ongoing: 0 }),
    ),
    ["Delivered 101 666 [18:alerting:666]"],
  );
});

Deno.test("connected before incoming: the call is established once, incoming adds nothing", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onConnected", "a", "555"),
      report("onIncomingCall", "a", "555"),
      report("onDisconnected", "a", "555"),
    ),
    ["Established 101 incoming 555 [17:connected:555]", "ConnectionCleared 101 []"],
  );
});

Deno.test("a hold of a call never seen connected implies Established", () => {
  const m = machine();
  assert.deepEqual(
    run(m, report("onOutgoingCall", "a", "102"), report("onHold", "a", "102")),
    [
      "Originated 101 102 [17:dialing:102]",
      "Established 101 outgoing 102 [17:connected:102]",
      "Held 101 [17:held:102]",
    ],
  );
  assert.deepEqual(run(m, report("onHold", "x", "9")), [
    "Established 101 incoming 9 [17:held:102,18:connected:9]",
    "Held 101 [17:held:102,18:held:9]",
  ]);
});

Deno.test("reports about unknown calls that end them are ignored", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onDisconnected", "zz"),
      report("onMissedCall", "zz"),
      report("onTransfer", "zz", "5"),
      report("onUnhold", "", ""),
    ),
    [],
  );
  assert.deepEqual(m.calls(), []);
});

Deno.test("reports without a call id apply to the one call they can mean", () => {
  const m = machine();
  assert.deepEqual(
    run(
      m,
      report("onIncomingCall", "", "555"),
      report("onConnected", "", "555"),
      report("onHold", "", ""),
      report("onUnhold", "", ""),
      report("onDisconnected", "", ""),
    ),
    [
      "Delivered 101 555 [17:alerting:555]",
      "Established 101 incoming 555 [17:connected:555]",
      "Held 101 [17:held:555]",
      "Retrieved 101 [17:connected:555]",
      "ConnectionCleared 101 []",
    ],
  );
});

Deno.test("MakeCall: Initiated, and the phone's outgoing report is the same call", () => {
  const m = machine();
  assert.deepEqual(lines(m.made("102", T0)), ["Initiated 101 17 [17:dialing:102]"]);
  assert.deepEqual(
    run(
      m,
      report("onOutgoingCall", "x", "102"),
      report("onConnected", "x", "102"),
      report("onDisconnected", "x", "102"),
    ),
    [
      // The same call (17), now reported by the phone: Originated after Initiated.
      "Originated 101 102 [17:dialing:102]",
      "Established 101 outgoing 102 [17:connected:102]",
      "ConnectionCleared 101 []",
    ],
  );
});

Deno.test("MakeCall: the phone's report binds even when the dial plan rewrote the number", () => {
  const m = machine();
  m.made("+4930123", T0);
  assert.deepEqual(run(m, report("onOutgoingCall", "x", "004930123")), [
    "Originated 101 004930123 [17:dialing:004930123]",
  ]);
  m.made("0301234", T0);
  assert.deepEqual(run(m, report("onOutgoingCall", "y", "90301234")), [
    "Originated 101 90301234 [17:dialing:004930123,18:dialing:90301234]",
  ]);
  assert.deepEqual(m.calls().map((c) => `${c.callRef}:${c.remote}`), [
    "17:004930123",
    "18:90301234",
  ]);
});

Deno.test("MakeCall: an incoming call meanwhile stays a call of its own", () => {
  const m = machine();
  m.made("102", T0);
  assert.deepEqual(run(m, report("onIncomingCall", "i", "555")), [
    "Delivered 101 555 [17:dialing:102,18:alerting:555]",
  ]);
  assert.deepEqual(run(m, report("onConnected", "i", "555")), [
    "Established 101 incoming 555 [17:dialing:102,18:connected:555]",
  ]);
});

Deno.test("MakeCall: a stale 'no calls' count does not end the call just made", () => {
  const m = machine();
  run(m, report("onOutgoingCall", "old", "5"));
  m.made("102", T0);
  assert.deepEqual(run(m, report("onDisconnected", "old", "5", { ongoing: 0 })), [
    "ConnectionCleared 101 [18:dialing:102]",
  ]);
});

Deno.test("MakeCall the phone never reports ends after the unanswered timeout", () => {
  const m = machine(30_000);
  m.made("102", T0);
  assert.deepEqual(lines(m.expire(T0 + 30_000)), ["ConnectionCleared 101 []"]);
});

Deno.test("ClearConnection ends a ringing call, but leaves active calls to the phone", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onIncomingCall", "b", "666"));
  assert.deepEqual(lines(m.cleared(0)), ["ConnectionCleared 101 callRejected [18:alerting:666]"]);
  run(m, report("onConnected", "b", "666"));
  assert.deepEqual(m.cleared(0), []);
  assert.equal(m.calls().length, 1);
});

Deno.test("the phone restarting ends every call", () => {
  const m = machine();
  run(m, report("onIncomingCall", "a", "555"), report("onOutgoingCall", "b", "7"));
  assert.deepEqual(run(m, report("onSetup", "")), [
    "ConnectionCleared 101 [18:dialing:7]",
    "ConnectionCleared 101 []",
  ]);
});

Deno.test("call references are unique across calls and snapshots are frozen", () => {
  const m = machine();
  const events = [
    ...m.report(report("onIncomingCall", "a", "1"), T0),
    ...m.report(report("onIncomingCall", "b", "2"), T0),
    ...m.made("3", T0),
  ];
  assert.deepEqual(events.at(-1)!.calls.map((c) => c.callRef), [17, 18, 19]);
  assert.ok(Object.isFrozen(events[0]) && Object.isFrozen(events[0].calls));
  assert.ok(Object.isFrozen(events[0].calls[0]));
});

Deno.test("display names go to the call info, never into the remote", () => {
  const m = machine();
  const [e] = m.report(report("onIncomingCall", "a", "12", { displayName: "Jane Doe" }), T0);
  assert.equal(e.type === "Delivered" && e.caller, "12");
  assert.deepEqual(e.calls[0], {
    callRef: 17,
    state: "alerting",
    remote: "12",
    displayName: "Jane Doe",
  });
});

Deno.test("a command acts on the call its name means: ringing to answer, connected to hold, held to retrieve", () => {
  const m = machine();
  assert.equal(m.targetCallId("AnswerCall"), undefined);
  run(m, report("onIncomingCall", "a", "201"), report("onIncomingCall", "b", "202"));
  assert.equal(m.targetCallId("AnswerCall"), "a");
  assert.equal(m.targetCallId("ClearConnection"), "a");
  run(m, report("onConnected", "a", "201"));
  assert.equal(m.targetCallId("AnswerCall"), "b");
  assert.equal(m.targetCallId("HoldCall"), "a");
  assert.equal(m.targetCallId("ClearConnection"), "a");
  assert.equal(m.targetCallId("RetrieveCall"), undefined);
  run(m, report("onHold", "a", "201"));
  assert.equal(m.targetCallId("RetrieveCall"), "a");
  assert.equal(m.targetCallId("HoldCall"), undefined);
  assert.equal(m.targetCallId("ClearConnection"), "b");
  assert.equal(m.targetCallId("MakeCall"), undefined);
});

Deno.test("every call that ends leaves one record for the journal, with its outcome and times", () => {
  const m = machine(60_000);
  const at = (t: number, r: PhoneReport) => m.report(r, T0 + t);
  // Answered, with start, answer and end times.
  at(0, report("onIncomingCall", "a", "0301234", { displayName: "Jane" }));
  at(4000, report("onConnected", "a", "0301234"));
  at(64_000, report("onDisconnected", "a", "0301234"));
  // Missed: the caller gave up.
  at(70_000, report("onIncomingCall", "b", "0305551"));
  at(75_000, report("onMissedCall", "b", "0305551"));
  // Rejected: a ClearConnection on the only, ringing call.
  at(80_000, report("onIncomingCall", "c", "0307777"));
  m.cleared(T0 + 81_000);
  // Failed: an outgoing call nobody answered.
  at(90_000, report("onOutgoingCall", "d", "0409999"));
  at(95_000, report("onDisconnected", "d", "0409999"));
  // Busy: the called party turned the call down.
  at(100_000, report("onOutgoingCall", "e", "0408888"));
  at(101_000, report("onRemoteBusy", "e", "0408888"));
  // Transferred to 102 after being answered.
  at(110_000, report("onIncomingCall", "f", "0306666"));
  at(111_000, report("onConnected", "f", "0306666"));
  at(120_000, report("onTransfer", "f", "102"));
  // Rejected on the phone itself, forwarded while ringing, answered on another phone.
  at(121_000, report("onIncomingCall", "h", "0301111"));
  at(122_000, report("onRejected", "h", "0301111"));
  at(123_000, report("onIncomingCall", "i", "0302222"));
  at(124_000, report("onForwarded", "i", "0302222"));
  at(125_000, report("onIncomingCall", "j", "0303333"));
  at(126_000, report("onMissedCall", "j", "0303333", { cancelReason: "SIP;cause=200" }));
  // Missed by silence: a ringing call without any further report.
  at(130_000, report("onIncomingCall", "g", "0305555"));
  m.expire(T0 + 190_000);

  const records = m.takeRecords();
  assert.deepEqual(
    records.map((r) => [r.number, r.direction, r.outcome, r.transferredTo]),
    [
      ["0301234", "incoming", "answered", undefined],
      ["0305551", "incoming", "missed", undefined],
      ["0307777", "incoming", "rejected", undefined],
      ["0409999", "outgoing", "failed", undefined],
      ["0408888", "outgoing", "busy", undefined],
      ["0306666", "incoming", "transferred", "102"],
      ["0301111", "incoming", "rejected", undefined],
      ["0302222", "incoming", "transferred", undefined],
      ["0303333", "incoming", "elsewhere", undefined],
      ["0305555", "incoming", "missed", undefined],
    ],
  );
  const [answered] = records;
  assert.deepEqual(
    {
      device: answered.device,
      name: answered.name,
      startedAt: answered.startedAt,
      answeredAt: answered.answeredAt,
      endedAt: answered.endedAt,
      callRef: answered.callRef,
    },
    {
      device: "101",
      name: "Jane",
      startedAt: T0,
      answeredAt: T0 + 4000,
      endedAt: T0 + 64_000,
      callRef: 17,
    },
  );
  assert.equal(records[1].answeredAt, undefined);
  assert.equal(records.at(-1)!.endedAt, T0 + 190_000);
  assert.deepEqual(m.takeRecords(), [], "each call is handed over once");
});
