import assert from "node:assert/strict";
import {
  addressKey,
  callbackBase,
  comparableNumber,
  decodeLenient,
  parseCallbackPath,
  parseParty,
  parseQuery,
} from "../../src/monitor/mod.ts";

const q = (raw: string) => Object.fromEntries(parseQuery(raw));

Deno.test("query values keep a plus sign: +49 numbers survive", () => {
  assert.deepEqual(q("remote=+4930123%40pbx&n=1"), { remote: "+4930123@pbx", n: "1" });
  assert.deepEqual(q("remote=%2B4930123"), { remote: "+4930123" });
});

Deno.test("raw spaces the HTTP front percent-encoded come back as spaces", () => {
  assert.deepEqual(q("dr=John%20Doe&cid=abc"), { dr: "John Doe", cid: "abc" });
});

Deno.test("bad escapes are kept as written, good ones beside them decoded", () => {
  assert.equal(decodeLenient("100%"), "100%");
  assert.equal(decodeLenient("%zz%41%4"), "%zzA%4");
  assert.deepEqual(q("dr=50%25%off&cid=x"), { dr: "50%%off", cid: "x" });
});

Deno.test("percent-encoded UTF-8 is decoded, invalid bytes become U+FFFD", () => {
  assert.equal(decodeLenient("J%C3%BCrgen"), "Jürgen");
  assert.equal(decodeLenient("M%FCller"), "M\uFFFDller");
});

Deno.test("a raw ampersand inside a value does not cut it short", () => {
  assert.deepEqual(q("dr=Smith%20&%20Sons&n=2"), { dr: "Smith & Sons", n: "2" });
});

Deno.test("the first of repeated parameters wins; a piece without '=' continues a value", () => {
  assert.deepEqual(q("?k=one&k=two&cid=&n=0"), { k: "one", cid: "", n: "0" });
  assert.deepEqual(q("dr=A&&B&cid=x"), { dr: "A&&B", cid: "x" });
  assert.deepEqual(q("flag&x=1"), { flag: "", x: "1" });
});

Deno.test("remote party: every form Snom may send gives the user part", () => {
  const cases: [string, string, string][] = [
    ["sip:0049301234@pbx", "0049301234", ""],
    ["0049301234@pbx.example", "0049301234", ""],
    ['"Jane" <sip:12@h>', "12", "Jane"],
    ["Jane Doe <sip:12@h;transport=udp>", "12", "Jane Doe"],
    ["<sips:+4930123@h:5061>", "+4930123", ""],
    ["tel:+4930123;phone-context=example.com", "+4930123", ""],
    ["sip:12;user=phone@h", "12", ""],
    ["sip:%2A21%23@pbx", "*21#", ""],
    ["Jane sip:12@h", "12", "Jane"],
    ["102", "102", ""],
    ["", "", ""],
  ];
  for (const [text, user, name] of cases) {
    assert.deepEqual(parseParty(text), { user, displayName: name }, text);
  }
});

Deno.test("numbers compare by digits, with + written as 00", () => {
  assert.equal(comparableNumber("+49 (30) 123-4"), "0049301234");
  assert.equal(comparableNumber("*21#"), "*21#");
});

Deno.test("callback paths name an extension and a known notification", () => {
  assert.deepEqual(parseCallbackPath("/phone/101/onConnected"), {
    extension: "101",
    notification: "onConnected",
  });
  assert.deepEqual(parseCallbackPath("/pcs/phone/1%2001/onHold"), {
    extension: "1 01",
    notification: "onHold",
  });
  assert.equal(parseCallbackPath("/phone/101/onNothing"), undefined);
  assert.equal(parseCallbackPath("/phone/101"), undefined);
  assert.equal(parseCallbackPath("/status"), undefined);
});

Deno.test("callback base: configured URL as is, auto from the local address", () => {
  assert.equal(
    callbackBase("http://pcs.example:8080", "10.0.0.2", 26536),
    "http://pcs.example:8080",
  );
  assert.equal(callbackBase("auto", "10.0.0.2", 26536), "http://10.0.0.2:26536");
  assert.equal(callbackBase("auto", "fe80::1%eth0", 26536), "http://[fe80::1]:26536");
  assert.equal(callbackBase("auto", "2001:db8::5", 1), "http://[2001:db8::5]:1");
});

Deno.test("addresses compare by value, IPv4-mapped IPv6 equal to IPv4", () => {
  assert.equal(addressKey("::ffff:192.0.2.7"), addressKey("192.0.2.7"));
  assert.equal(addressKey("::ffff:c000:207"), addressKey("192.0.2.7"));
  assert.equal(addressKey("[2001:db8::1]"), addressKey("2001:0db8:0:0:0:0:0:1"));
  assert.notEqual(addressKey("192.0.2.8"), addressKey("192.0.2.7"));
  assert.equal(addressKey("phone.example"), undefined);
});
