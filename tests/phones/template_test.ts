import assert from "node:assert/strict";
import { type NotificationName, parseProfile, type RequestStep } from "../../src/config/mod.ts";
import { encodeSettingValue, expandStep } from "../../src/phones/mod.ts";

function step(lines: string): RequestStep {
  const r = parseProfile(`[MakeCall]\n${lines}\n`, "t.cfg");
  assert.ok(r.profile, JSON.stringify(r.findings));
  return r.profile.commands.get("MakeCall")![0];
}

Deno.test("# and * in a number are percent-encoded on the wire, and so is a leading +", () => {
  const s = step("resource = /command.htm?number={number}");
  assert.equal(
    expandStep(s, { number: "*21#", extension: "101" }).target,
    "/command.htm?number=%2A21%23",
  );
  assert.equal(
    expandStep(s, { number: "+4930123", extension: "101" }).target,
    "/command.htm?number=%2B4930123",
  );
});

Deno.test("{numberKeys} spells the number as key presses with encoded # and *", () => {
  const s = step("resource = /command.htm?key=TRANSFER;{numberKeys};ENTER");
  assert.equal(
    expandStep(s, { number: "20*1#", extension: "101" }).target,
    "/command.htm?key=TRANSFER;2;0;%2A;1;%23;ENTER",
  );
});

Deno.test("a body is encoded for its content type", () => {
  const json = step(
    'method = POST\nresource = /d\ncontent_type = application/json\nbody = {"n":"{number}","e":"{extension}"}',
  );
  assert.equal(expandStep(json, { number: "#1", extension: 'x"y' }).body, '{"n":"#1","e":"x\\"y"}');
  const form = step(
    "method = POST\nresource = /d\ncontent_type = application/x-www-form-urlencoded\nbody = number={number}",
  );
  assert.equal(expandStep(form, { number: "*5#", extension: "1" }).body, "number=%2A5%23");
  const xml = step(
    "method = POST\nresource = /d\ncontent_type = text/xml\nbody = <dial>{extension}</dial>",
  );
  assert.equal(expandStep(xml, { number: "1", extension: "a&b" }).body, "<dial>a&#38;b</dial>");
});

Deno.test("{settings} percent-encodes each URL except $, so & stays inside the value", () => {
  const r = parseProfile(
    "[monitorAutoConfiguration]\nresource = /dummy.htm?settings=save&{settings}&store_settings=save\n" +
      "onIncomingCall = action_incoming_url\nonHold = action_hold\n",
    "m.cfg",
  );
  const m = r.profile!.monitor!;
  const urls = new Map<NotificationName, string>([
    ["onHold", "http://10.0.0.5:26536/phone/101/onHold?k=s3cr3t&cid=$call-id"],
    ["onIncomingCall", "http://10.0.0.5:26536/phone/101/onIncomingCall?k=s3cr3t&remote=$remote"],
  ]);
  const out = expandStep(m.steps[0], { extension: "101", urls, settings: m.notifications });
  assert.equal(
    out.target,
    "/dummy.htm?settings=save" +
      "&action_incoming_url=http%3A%2F%2F10.0.0.5%3A26536%2Fphone%2F101%2FonIncomingCall%3Fk%3Ds3cr3t%26remote%3D$remote" +
      "&action_hold=http%3A%2F%2F10.0.0.5%3A26536%2Fphone%2F101%2FonHold%3Fk%3Ds3cr3t%26cid%3D$call-id" +
      "&store_settings=save",
  );
  const decoded = new URLSearchParams(out.target.split("?")[1]);
  assert.equal(decoded.get("action_hold"), urls.get("onHold"));
});

Deno.test("with no URL to write, {settings} leaves no empty separator behind", () => {
  const r = parseProfile(
    "[monitorAutoConfiguration]\nresource = /dummy.htm?settings=save&{settings}&store_settings=save\n" +
      "onIncomingCall = action_incoming_url\n",
    "m.cfg",
  );
  const m = r.profile!.monitor!;
  const out = expandStep(m.steps[0], {
    extension: "1",
    urls: new Map(),
    settings: m.notifications,
  });
  assert.equal(out.target, "/dummy.htm?settings=save&store_settings=save");
});

Deno.test("a single notification placeholder puts just that URL in place", () => {
  const r = parseProfile(
    "[monitorAutoConfiguration]\nresource = /cgi?ring={onIncomingCall}\nonIncomingCall = ring_url\n",
    "m.cfg",
  );
  const m = r.profile!.monitor!;
  const urls = new Map<NotificationName, string>([["onIncomingCall", "http://h/x?a=1&b=$remote"]]);
  assert.equal(
    expandStep(m.steps[0], { extension: "1", urls, settings: m.notifications }).target,
    "/cgi?ring=http%3A%2F%2Fh%2Fx%3Fa%3D1%26b%3D$remote",
  );
  assert.equal(encodeSettingValue("a b$c"), "a%20b$c");
});
