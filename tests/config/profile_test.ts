import assert from "node:assert/strict";
import { commandSteps, parseProfile, type Profile } from "../../src/config/mod.ts";
import { BUILTIN_PROFILES } from "../../src/server/mod.ts";

const SNOM = await Deno.readTextFile(`${BUILTIN_PROFILES}/snom.cfg`);

function snom(): Profile {
  const r = parseProfile(SNOM, "snom.cfg");
  assert.deepEqual(r.findings, []);
  return r.profile!;
}

function errors(text: string) {
  return parseProfile(text, "my.cfg").findings.filter((f) => f.level === "error");
}

Deno.test("the built-in SNOM profile parses without findings and dials with command.htm?number=", () => {
  const p = snom();
  assert.equal(p.protocol, "HTTP");
  assert.equal(p.port, 80);
  assert.equal(p.auth, "auto");
  assert.equal(p.lockoutMarker, "blocked");
  const dial = p.commands.get("MakeCall")!;
  assert.equal(dial.length, 1);
  assert.equal(dial[0].resource, "/command.htm?number={number}");
  assert.deepEqual(dial[0].success, ["2xx", 302, "closed"]);
});

Deno.test("the SNOM profile uses the reference's keys for every command it defines", () => {
  const p = snom();
  const resources = (key: string) => p.commands.get(key)?.map((s) => s.resource);
  assert.deepEqual(resources("AnswerCall"), ["/command.htm?key=ENTER"]);
  assert.deepEqual(resources("ClearConnection"), ["/command.htm?key=CANCEL"]);
  assert.deepEqual(resources("HoldCall"), ["/command.htm?key=F_HOLD"]);
  assert.deepEqual(resources("RetrieveCall"), ["/command.htm?key=F_HOLD"]);
  assert.deepEqual(resources("TransferCall"), ["/command.htm?key=TRANSFER"]);
  assert.deepEqual(resources("TransferCall number"), [
    "/command.htm?key=TRANSFER;{numberKeys};ENTER",
  ]);
  assert.deepEqual(resources("ConsultationCall"), [
    "/command.htm?key=F_HOLD",
    "/command.htm?number={number}",
  ]);
  assert.deepEqual(resources("ReconnectCall"), [
    "/command.htm?key=CANCEL",
    "/command.htm?key=F_HOLD",
  ]);
  assert.equal(p.commands.has("ConferenceCall"), false);
  assert.equal(p.commands.has("AlternateCall"), false);
});

Deno.test("the SNOM profile writes action URLs into the real setting names", () => {
  const m = snom().monitor!;
  assert.equal(m.steps[0].resource, "/dummy.htm?settings=save&{settings}&store_settings=save");
  assert.deepEqual(Object.fromEntries(m.notifications), {
    onIncomingCall: "action_incoming_url",
    onOutgoingCall: "action_outgoing_url",
    onConnected: "action_connected_url",
    onDisconnected: "action_disconnected_url",
    onMissedCall: "action_missed_url",
    onHold: "action_hold",
    onUnhold: "action_unhold",
    onTransfer: "action_transfer",
    onBlindTransfer: "action_blind_transfer",
    onAttendedTransfer: "action_attended_transfer",
    onSetup: "action_setup_url",
  });
  assert.match(m.variables, /cid=\$call-id/);
  assert.match(m.variables, /remote=\$remote/);
});

Deno.test("a command with a number uses the number variant, and one without uses the plain section", () => {
  const p = snom();
  const blind = commandSteps(p, "TransferCall", true);
  assert.ok(Array.isArray(blind));
  assert.equal(blind[0].resource, "/command.htm?key=TRANSFER;{numberKeys};ENTER");
  const start = commandSteps(p, "TransferCall", false);
  assert.ok(Array.isArray(start));
  assert.equal(start[0].resource, "/command.htm?key=TRANSFER");
  assert.equal(commandSteps(p, "MakeCall", false), "NumberRequired");
  assert.equal(commandSteps(p, "AnswerCall", true), "NotSupported");
  assert.equal(commandSteps(p, "ConferenceCall", false), "NotSupported");
});

Deno.test("a broken profile is reported with file and line for each mistake", () => {
  const text = [
    "protocol = FTP", // 1
    "port = 80x", // 2
    "auth = kerberos", // 3
    "[MakeCal]", // 4
    "resource = /x", // 5
    "[AnswerCall]", // 6
    "method = DELETE", // 7
    "resource = command.htm?key=ENTER", // 8
    "[HoldCall]", // 9
    "resource = /command.htm?key={nubmer}", // 10
    "success = ok", // 11
    "delayMs = soon", // 12
    "[HoldCall number]", // 13
    "[ClearConnection]", // 14
    "resource = /command.htm?key=CANCEL", // 15
    "resource = /again", // 16
    "this line has no equals sign", // 17
  ].join("\n");
  const found = parseProfile(text, "my.cfg").findings;
  const at = (line: number) => found.filter((f) => f.line === line && f.level === "error");
  assert.equal(parseProfile(text, "my.cfg").profile, undefined);
  assert.match(at(1)[0].message, /protocol must be HTTP or HTTPS, got 'FTP'/);
  assert.match(at(2)[0].message, /port must be a port number 1-65535, got '80x'/);
  assert.match(at(3)[0].message, /auth must be one of auto, basic, digest, none/);
  assert.match(at(4)[0].message, /unknown section '\[MakeCal\]', did you mean '\[MakeCall\]'\?/);
  assert.equal(at(5).length, 0, "keys of an unknown section are not reported again");
  assert.match(at(7)[0].message, /method must be GET, POST or PUT, got 'DELETE'/);
  assert.match(at(8)[0].message, /resource must be a path starting with '\/'/);
  assert.match(at(10)[0].message, /unknown placeholder '\{nubmer\}', did you mean '\{number\}'\?/);
  assert.match(at(11)[0].message, /success must list statuses/);
  assert.match(at(12)[0].message, /delayMs must be a number of milliseconds/);
  assert.match(at(13)[0].message, /HoldCall takes no number/);
  assert.match(at(16)[0].message, /resource is already set on line 15/);
  assert.match(at(17)[0].message, /expected 'key = value' or '\[section\]'/);
  assert.ok(found.every((f) => f.file === "my.cfg"));
});

Deno.test("unknown keys are warnings with a hint, and the profile still loads", () => {
  const r = parseProfile("protcol = HTTP\n[AnswerCall]\nresource = /a\nmethdo = GET\n", "my.cfg");
  assert.ok(r.profile);
  const warnings = r.findings.filter((f) => f.level === "warning");
  assert.deepEqual(warnings.map((w) => w.line), [1, 4]);
  assert.match(warnings[0].message, /did you mean 'protocol'\?/);
  assert.match(warnings[1].message, /did you mean 'method'\?/);
});

Deno.test("a resource with a raw space is refused, since it cannot go on a request line", () => {
  const e = errors("[AnswerCall]\nresource = /command.htm?key=A B\n");
  assert.equal(e.length, 1);
  assert.equal(e[0].line, 2);
  assert.match(e[0].message, /must not contain spaces/);
});

Deno.test("a monitor section must name at least one notification and may use only its placeholders", () => {
  const none = errors("[monitorAutoConfiguration]\nresource = /dummy.htm?{settings}\n");
  assert.match(none[0].message, /names no notification/);
  const wrong = errors(
    "[monitorAutoConfiguration]\nresource = /d?{number}\nonIncomingCall = action_incoming_url\n",
  );
  assert.equal(wrong[0].line, 2);
  assert.match(wrong[0].message, /unknown placeholder '\{number\}'/);
  const bad = errors("[monitorAutoConfiguration]\nresource = /d\nonHold = action hold\n");
  assert.match(bad[0].message, /onHold must name a phone setting/);
});

Deno.test("a JSON body's braces are literal, only {name} placeholders are replaced", () => {
  const r = parseProfile(
    '[MakeCall]\nmethod = POST\nresource = /api/dial\ncontent_type = application/json\nbody = {"to": "{number}"}\n',
    "json.cfg",
  );
  assert.deepEqual(r.findings, []);
  assert.equal(r.profile!.commands.get("MakeCall")![0].usesNumber, true);
});

Deno.test("a number variant that never sends the number is a warning", () => {
  const r = parseProfile("[TransferCall number]\nresource = /command.htm?key=TRANSFER\n", "w.cfg");
  assert.ok(r.profile);
  assert.match(r.findings[0].message, /never uses \{number\} or \{numberKeys\}/);
  assert.equal(r.findings[0].line, 1);
});
