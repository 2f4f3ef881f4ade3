import assert from "node:assert/strict";
import {
  encodeDisplayName,
  formatEvent,
  formatReply,
  type InputItem,
  LineDecoder,
  normalizeNumber,
  parseLine,
  tokenize,
} from "../../src/channel/mod.ts";
import type { CallEvent } from "../../src/contract.ts";
import { clientBytes, loadTranscripts } from "./_helpers.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

function decodeWhole(input: Uint8Array, max = 65536): InputItem[] {
  const d = new LineDecoder(max);
  return [...d.push(input), ...d.end()];
}

function decodeByteByByte(input: Uint8Array, max = 65536): InputItem[] {
  const d = new LineDecoder(max);
  const out: InputItem[] = [];
  for (let i = 0; i < input.length; i++) out.push(...d.push(input.subarray(i, i + 1)));
  return [...out, ...d.end()];
}

const lines = (items: InputItem[]) =>
  items.map((i) => (i.kind === "line" ? i.text : `<tooLong ${i.bytes}>`));

for (const t of loadTranscripts()) {
  Deno.test(`codec gives the same lines for ${t.name} whole and one byte at a time`, () => {
    const input = clientBytes(t);
    const max = t.config.maxLineBytes ?? 65536;
    const whole = decodeWhole(input, max);
    assert.ok(whole.length > 0);
    assert.deepEqual(decodeByteByByte(input, max), whole);
    for (let cut = 1; cut < input.length; cut += 7) {
      const d = new LineDecoder(max);
      const split = [...d.push(input.subarray(0, cut)), ...d.push(input.subarray(cut)), ...d.end()];
      assert.deepEqual(split, whole, `split at byte ${cut}`);
    }
  });
}

Deno.test("codec ends lines at LF, CR LF and a lone CR", () => {
  const input = bytes("a\nb\r\nc\rd\r\re\n\r\nf");
  assert.deepEqual(lines(decodeWhole(input)), ["a", "b", "c", "d", "", "e", "", "f"]);
  assert.deepEqual(lines(decodeByteByByte(input)), ["a", "b", "c", "d", "", "e", "", "f"]);
});

Deno.test("codec does not read a CR LF split across two chunks as two lines", () => {
  const d = new LineDecoder(100);
  assert.deepEqual(lines(d.push(bytes("BYE\r"))), ["BYE"]);
  assert.deepEqual(lines(d.push(bytes("\nSTLI\n"))), ["STLI"]);
});

Deno.test("codec replaces invalid UTF-8 and keeps valid multi-byte characters", () => {
  const input = new Uint8Array([0x41, 0xff, 0xc3, 0xa4, 0xe2, 0x82, 0x0a, 0x42, 0x0a]);
  assert.deepEqual(lines(decodeWhole(input)), ["A\uFFFDä\uFFFD", "B"]);
  assert.deepEqual(lines(decodeByteByByte(input)), ["A\uFFFDä\uFFFD", "B"]);
});

Deno.test("codec discards a line over the limit, reports it once at its end, and goes on", () => {
  const d = new LineDecoder(10);
  assert.deepEqual(d.push(bytes("0123456789")), []);
  assert.deepEqual(d.push(bytes("0123456789")), []);
  assert.ok(d.buffered === 0, "the discarded line is not kept in memory");
  assert.deepEqual(lines(d.push(bytes("xx\nok\n0123456789\n"))), [
    "<tooLong 22>",
    "ok",
    "0123456789",
  ]);
});

Deno.test("codec counts a line's bytes, not its characters, against the limit", () => {
  assert.deepEqual(lines(decodeWhole(bytes("ääää\n"), 8)), ["ääää"]);
  assert.deepEqual(lines(decodeWhole(bytes("äääää\n"), 8)), ["<tooLong 10>"]);
});

Deno.test("codec hands a last line without a line end over when the input ends", () => {
  const d = new LineDecoder(100);
  assert.deepEqual(d.push(bytes("MonitorStart 101\nBYE")), [{
    kind: "line",
    text: "MonitorStart 101",
  }]);
  assert.deepEqual(d.end(), [{ kind: "line", text: "BYE" }]);
  assert.deepEqual(d.end(), []);
});

Deno.test("tokens are separated by runs of spaces", () => {
  assert.deepEqual(tokenize("  MakeCall  101\t 102 "), ["MakeCall", "101", "102"]);
  assert.deepEqual(tokenize("   "), []);
});

Deno.test("numbers lose spaces, dashes, dots, slashes and parentheses and keep a leading +", () => {
  assert.equal(normalizeNumber(["+49", "(30)", "123-45"]), "+493012345");
  assert.equal(normalizeNumber(["030/123.45"]), "03012345");
  assert.equal(normalizeNumber(["*21#"]), "*21#");
  assert.equal(normalizeNumber(["0049", "30", "1234"]), "0049301234");
  assert.equal(normalizeNumber(["12+3"]), undefined);
  assert.equal(normalizeNumber(["++49"]), undefined);
  assert.equal(normalizeNumber(["abc"]), undefined);
  assert.equal(normalizeNumber(["--"]), undefined);
  assert.equal(normalizeNumber(["+"]), undefined);
  assert.equal(normalizeNumber(["١٢٣"]), undefined, "only ASCII digits");
});

Deno.test("parser hands commands over typed, with the number normalised", () => {
  assert.deepEqual(parseLine("makecall 101 +49 (30) 123-45"), {
    kind: "call",
    command: "MakeCall",
    device: "101",
    number: "+493012345",
  });
  assert.deepEqual(parseLine("TransferCall 101"), {
    kind: "call",
    command: "TransferCall",
    device: "101",
  });
  assert.deepEqual(parseLine("monitorstart 101"), {
    kind: "monitor",
    command: "MonitorStart",
    device: "101",
  });
  assert.deepEqual(parseLine("bye"), { kind: "bye" });
  assert.deepEqual(parseLine("  "), { kind: "empty" });
  assert.deepEqual(parseLine(' {"method":"GET"} '), { kind: "raw", line: '{"method":"GET"}' });
});

Deno.test("parser answers what it can without the server", () => {
  const reply = (line: string) => {
    const r = parseLine(line);
    assert.equal(r.kind, "reply", line);
    return r.kind === "reply" ? formatReply(r.reply, true) : "";
  };
  assert.equal(reply("Hello world"), "error_ind INVALCMD Hello");
  assert.equal(reply("holdcall"), "error_ind INVALNUMPARAM HoldCall");
  assert.equal(reply("MakeCall 101 x"), "error_ind ERROR MakeCall InvalidNumber");
  assert.equal(reply("STLI;Version=1"), "error_ind ERROR STLI UnsupportedVersion");
});

Deno.test("replies carry the reason token only on ERROR and only when asked for", () => {
  const error = { status: "ERROR", subject: "MakeCall", reason: "Timeout" } as const;
  assert.equal(formatReply(error, false), "error_ind ERROR MakeCall");
  assert.equal(formatReply(error, true), "error_ind ERROR MakeCall Timeout");
  assert.equal(
    formatReply({ status: "INVALCMD", subject: "X", reason: "Timeout" }, true),
    "error_ind INVALCMD X",
  );
});

const call = (callRef: number, state: "alerting" | "connected", remote: string, name = "") => ({
  callRef,
  state,
  remote,
  displayName: name,
});

Deno.test("events are formatted per §4 with DeviceInformation per mode", () => {
  const delivered: CallEvent = {
    type: "Delivered",
    caller: "0049301234",
    device: "101",
    calls: [call(17, "alerting", "0049301234", "Jane Doe")],
  };
  assert.deepEqual(formatEvent(delivered, "off"), ["Delivered 101 newCall 101 0049301234 101"]);
  assert.deepEqual(formatEvent(delivered, "standard"), [
    "Delivered 101 newCall 101 0049301234 101",
    "DeviceInformation 101 1 (17:alerting:0049301234)",
  ]);
  assert.deepEqual(formatEvent(delivered, "extended"), [
    "Delivered 101 newCall 101 0049301234 101",
    "DeviceInformation 101 1 (17:alerting:0049301234:Jane%20Doe)",
  ]);
  const held: CallEvent = { type: "Held", device: "101", calls: [] };
  assert.deepEqual(formatEvent(held, "extended"), ["Held 101 normal 101"]);
  const two: CallEvent = {
    type: "ConnectionCleared",
    device: "101",
    calls: [call(17, "connected", "a"), call(18, "alerting", "b")],
  };
  assert.deepEqual(formatEvent(two, "standard"), [
    "ConnectionCleared 101 normalClearing 101",
    "DeviceInformation 101 2 (17:connected:a,18:alerting:b)",
  ]);
});

Deno.test("no token written ever holds a space or breaks the DeviceInformation list", () => {
  const event: CallEvent = {
    type: "Delivered",
    caller: "a b\tc",
    device: "101",
    calls: [call(1, "alerting", "x:y,z(1)", "Ann (Sales), 2")],
  };
  const [line, info] = formatEvent(event, "extended");
  assert.equal(line, "Delivered 101 newCall 101 a%20b%09c 101");
  assert.equal(
    info,
    "DeviceInformation 101 1 (1:alerting:x%3Ay%2Cz%281%29:Ann%20%28Sales%29%2C%202)",
  );
});

Deno.test("display names are percent-encoded strictly", () => {
  assert.equal(encodeDisplayName("Müller (Sales)!"), "M%C3%BCller%20%28Sales%29%21");
  assert.equal(encodeDisplayName(""), "");
});
