/**
 * The built-in line client (docs/install.md §4) against the real server, through a real
 * process and real sockets: what a person types and what they see.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer } from "../e2e/_server.ts";
import { freePort, ROOT, SERVER_PERMISSIONS, waitFor } from "../helpers.ts";

/** `main.ts client` with a keyboard the test types on. */
function startClient(target: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVER_PERMISSIONS, join(ROOT, "main.ts"), "client", target],
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const dec = new TextDecoder();
  const pumps = Promise.all([
    (async () => {
      for await (const c of child.stdout) out += dec.decode(c, { stream: true });
    })(),
    (async () => {
      for await (const c of child.stderr) err += dec.decode(c, { stream: true });
    })(),
  ]);
  const keyboard = child.stdin.getWriter();
  return {
    type: (line: string) => keyboard.write(new TextEncoder().encode(line + "\n")),
    endInput: () => keyboard.close(),
    lines: () => out.split("\n").filter((l) => l !== ""),
    err: () => err,
    waitForLines: (n: number) =>
      waitFor(`${n} lines from the client`, () => out.split("\n").length > n),
    exit: async () => {
      const s = await child.status;
      await pumps;
      return s.code;
    },
  };
}

Deno.test("the client sends typed lines and prints every reply and event of a call until BYE", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2"] });
  const client = startClient(`127.0.0.1:${pcs.channelPort}`);
  await waitFor("the greeting", () => /connected to 127\.0\.0\.1:/.test(client.err()));
  const typed: [string, number][] = [
    ["STLI;Version=2", 1],
    ["MonitorStart 101", 2],
    ["MakeCall 101 102", 7],
    ["AnswerCall 102", 9],
    ["ClearConnection 101", 12],
  ];
  for (const [line, total] of typed) {
    await client.type(line);
    await client.waitForLines(total);
  }
  await client.type("BYE");
  assert.equal(await client.exit(), 0);
  const lines = client.lines();
  const ref = /^Initiated 101 makeCall (\d+) 101$/.exec(lines[3])?.[1];
  assert.ok(ref, lines.join("\n"));
  assert.deepEqual(lines, [
    "error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard",
    "error_ind SUCCESS MonitorStart",
    "error_ind SUCCESS MakeCall",
    `Initiated 101 makeCall ${ref} 101`,
    `DeviceInformation 101 1 (${ref}:dialing:102)`,
    "Originated 101 newCall 101 102 101",
    `DeviceInformation 101 1 (${ref}:dialing:102)`,
    "error_ind SUCCESS AnswerCall",
    "Established 101 newCall 102 101 102",
    "error_ind SUCCESS ClearConnection",
    "ConnectionCleared 101 normalClearing 101",
    "DeviceInformation 101 0 ()",
    "error_ind SUCCESS BYE",
  ]);
  assert.match(client.err(), /the server closed the channel/);
});

Deno.test("at the end of piped input the client waits for the replies due, then ends", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2"] });
  const client = startClient(`127.0.0.1:${pcs.channelPort}`);
  await client.type("MonitorStart 101\nMakeCall 101 102\nBogus");
  await client.endInput();
  assert.equal(await client.exit(), 0);
  const lines = client.lines();
  assert.deepEqual(lines.filter((l) => l.startsWith("error_ind")), [
    "error_ind SUCCESS MonitorStart",
    "error_ind SUCCESS MakeCall",
    "error_ind INVALCMD Bogus",
  ]);
  assert.ok(lines.some((l) => l.startsWith("Initiated 101 makeCall ")), lines.join("\n"));
});

Deno.test("no server at the address: one line saying so, exit 1", async () => {
  const client = startClient(`127.0.0.1:${freePort()}`);
  await client.endInput();
  assert.equal(await client.exit(), 1);
  assert.match(client.err(), /^cannot connect to 127\.0\.0\.1:\d+: .*; is the server running\?\n$/);
  assert.deepEqual(client.lines(), []);
});
