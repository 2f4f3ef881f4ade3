import assert from "node:assert/strict";
import { commandSteps, parseProfile, type Profile } from "../../src/config/mod.ts";
import { expandStep } from "../../src/phones/mod.ts";
import { BUILTIN_PROFILES } from "../../src/server/mod.ts";

const YEALINK = await Deno.readTextFile(`${BUILTIN_PROFILES}/yealink.cfg`);

function yealink(): Profile {
  const r = parseProfile(YEALINK, "yealink.cfg");
  assert.deepEqual(r.findings, []);
  return r.profile!;
}

function errors(text: string) {
  return parseProfile(text, "my.cfg").findings.filter((f) => f.level === "error");
}

Deno.test("the built-in Yealink profile parses without findings: Basic login, servlet?key= commands", () => {
  const p = yealink();
  assert.equal(p.auth, "basic");
  assert.equal(p.lockoutMarker, "");
  const target = (key: string, values: { number?: string; callId?: string } = {}) =>
    p.commands.get(key)!.map((s) => expandStep(s, { extension: "101", ...values }).target);
  assert.deepEqual(target("MakeCall", { number: "0049301" }), ["/servlet?key=number=0049301"]);
  assert.deepEqual(target("AnswerCall"), ["/servlet?key=OK"]);
  assert.deepEqual(target("AnswerCall callId", { callId: "33093" }), ["/servlet?key=ASW:33093"]);
  assert.deepEqual(target("ClearConnection callId", { callId: "7" }), ["/servlet?key=CANCEL:7"]);
  assert.deepEqual(target("HoldCall callId", { callId: "7" }), ["/servlet?key=HOLD:7"]);
  assert.deepEqual(target("RetrieveCall callId", { callId: "7" }), ["/servlet?key=UNHOLD:7"]);
  assert.deepEqual(target("TransferCall number", { number: "201" }), [
    "/servlet?key=F_TRANSFER;2;0;1;F_TRANSFER",
  ]);
  assert.deepEqual(target("ConsultationCall", { number: "201" }), [
    "/servlet?key=HOLD",
    "/servlet?key=number=201",
  ]);
});

Deno.test("a [Command callId] variant serves when the call id is known, the plain section otherwise", () => {
  const p = yealink();
  const resource = (r: ReturnType<typeof commandSteps>) =>
    typeof r === "string" ? r : r.map((s) => s.resource);
  assert.deepEqual(resource(commandSteps(p, "AnswerCall", false, true)), [
    "/servlet?key=ASW:{callId}",
  ]);
  assert.deepEqual(resource(commandSteps(p, "AnswerCall", false, false)), ["/servlet?key=OK"]);
  assert.equal(commandSteps(p, "RetrieveCall", false, false), "CallIdRequired");
  assert.deepEqual(resource(commandSteps(p, "RetrieveCall", false, true)), [
    "/servlet?key=UNHOLD:{callId}",
  ]);
  // A command without a callId variant ignores the call id.
  assert.deepEqual(resource(commandSteps(p, "TransferCall", false, true)), [
    "/servlet?key=F_TRANSFER",
  ]);
});

Deno.test("{callId} belongs in a [Command callId] section, and only one-call commands have one", () => {
  const plain = errors("[AnswerCall]\nresource = /servlet?key=ASW:{callId}\n");
  assert.equal(plain.length, 1);
  assert.match(plain[0].message, /\{callId\} is only known in a '\[Command callId\]' section/);
  const wrong = errors("[MakeCall callId]\nresource = /servlet?key=number={number}\n");
  assert.match(wrong[0].message, /'\[MakeCall callId\]' is never used/);
});

Deno.test("[monitorProvisioning] gives the lines to load, the probe request and the notifications", () => {
  const m = yealink().monitor!;
  assert.deepEqual(m.provisioning, {
    line: "{setting} = {url}",
    extra: ["features.action_uri_limit_ip = {serverAddress}"],
  });
  assert.equal(m.steps.length, 1);
  assert.equal(m.steps[0].resource, "/servlet?phonecfg=get");
  assert.equal(m.notifications.get("onIncomingCall"), "action_url.incoming_call");
  assert.equal(m.notifications.get("onTransfer"), "action_url.transfer_finished");
  assert.equal(m.variables, "cid=$call_id&remote=$remote&dr=$display_remote");
});

Deno.test("[monitorProvisioning] needs a line with {url}, knows its placeholders, excludes the other section", () => {
  const head = "[monitorProvisioning]\nresource = /probe\nonHold = action_url.hold\n";
  assert.match(errors(head)[0].message, /needs line = /);
  assert.match(errors(head + "line = {setting}\n")[0].message, /line must use \{url\}/);
  assert.match(
    errors(head + "line = {setting} = {url}\nextra = x = {serverAdress}\n")[0].message,
    /unknown placeholder '\{serverAdress\}' in extra/,
  );
  const both = errors(
    head + "line = {setting} = {url}\n[monitorAutoConfiguration]\nresource = /d?{settings}\n" +
      "onHold = action_hold\n",
  );
  assert.match(both[0].message, /not both/);
  const two = parseProfile(head + "line = {setting} = {url}\nextra = a = 1\nextra = b = 2\n", "t");
  assert.deepEqual(two.profile!.monitor!.provisioning!.extra, ["a = 1", "b = 2"]);
});
