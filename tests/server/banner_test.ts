/**
 * The start banner (docs/install.md §2) and the start-up error pause (docs/install.md §3):
 * what a person reads in the console, and when the window waits for Enter.
 */

import assert from "node:assert/strict";
import { bannerText, clientTarget, lanAddresses } from "../../src/server/banner.ts";
import { parseCli } from "../../src/server/cli.ts";
import { type ConsoleFacts, shouldWaitForEnter } from "../../src/server/console.ts";
import { loadSettings } from "../../src/server/mod.ts";

async function settings(lines: string[]) {
  const result = await loadSettings(lines.join("\n") + "\n", "/opt/pcs/phone-companion.cfg");
  assert.ok(result.settings, JSON.stringify(result.findings));
  return result.settings;
}

Deno.test("LAN addresses: office ranges first, never loopback or link-local, at most three", () => {
  const v4 = (address: string) => ({ family: "IPv4" as const, address });
  assert.deepEqual(
    lanAddresses([
      v4("127.0.0.1"),
      v4("169.254.10.1"),
      v4("203.0.113.7"),
      { family: "IPv6", address: "fe80::1" },
      v4("192.168.1.20"),
      v4("10.1.2.3"),
      v4("192.168.1.20"),
      v4("172.20.0.1"),
    ]),
    ["192.168.1.20", "10.1.2.3", "172.20.0.1"],
  );
  assert.deepEqual(lanAddresses([v4("127.0.0.1")]), []);
});

Deno.test("the banner names the files, the page at localhost and the LAN, and how to try it", async () => {
  const text = bannerText({
    settings: await settings(["demoPhones = 2"]),
    wroteDefault: true,
    lan: ["192.168.1.20"],
    clientCommand: "phone-companion-server client",
    pid: 4242,
    os: "linux",
  });
  const lines = text.split("\n");
  assert.equal(lines[0], "Phone Companion Server 0.1.0 is running.");
  for (
    const want of [
      "  Configuration  /opt/pcs/phone-companion.cfg",
      "                 written just now, with every setting explained; add your phones there",
      "  Log            /opt/pcs/phone-companion.log",
      "  Status page    http://localhost:26536/",
      "                 from other computers: http://192.168.1.20:26536/",
      "                 (answers them once adminPassword is set in the configuration)",
      "  Plug-in port   26535; plug-ins on other computers connect to 192.168.1.20:26535",
      "  Try it         in another window: phone-companion-server client",
      "  Stop           Ctrl+C, or SIGTERM to process 4242 (kill 4242)",
    ]
  ) assert.ok(lines.includes(want), `missing '${want}' in:\n${text}`);
  assert.doesNotMatch(text, /0\.0\.0\.0/);
  assert.match(text, /then type: MonitorStart 101 {2}MakeCall 101 102 {2}AnswerCall 102/);
});

Deno.test("the banner says so when other computers cannot reach the page", async () => {
  const loopback = bannerText({
    settings: await settings(["serverBindAddress = 127.0.0.1", "demoPhones = 0"]),
    wroteDefault: false,
    lan: ["192.168.1.20"],
    clientCommand: "x client",
    pid: 1,
    os: "linux",
  });
  assert.match(
    loopback,
    /http:\/\/localhost:26536\/\n +\(this computer only: serverBindAddress is 127\.0\.0\.1\)/,
  );
  assert.doesNotMatch(loopback, /192\.168|Demo phones/);
  const password = bannerText({
    settings: await settings(["adminPassword = s3cret-pass-word"]),
    wroteDefault: false,
    lan: ["10.0.0.9"],
    clientCommand: "x client",
    pid: 1,
    os: "linux",
  });
  assert.match(password, /\(user admin, the adminPassword of the configuration\)/);
  assert.doesNotMatch(password, /s3cret/);
  const offline = bannerText({
    settings: await settings([]),
    wroteDefault: false,
    lan: [],
    clientCommand: "x client",
    pid: 1,
    os: "linux",
  });
  assert.match(offline, /no network address of this computer was found/);
});

Deno.test("on another channel port or address the banner's client command connects there", async () => {
  const tryIt = async (lines: string[]) =>
    bannerText({
      settings: await settings(lines),
      wroteDefault: false,
      lan: [],
      clientCommand: "phone-companion-server client",
      pid: 1,
      os: "windows",
    }).split("\n").find((l) => l.includes("Try it"));
  assert.equal(
    await tryIt([]),
    "  Try it         in another window: phone-companion-server client",
  );
  assert.equal(
    await tryIt(["serverPort = 27000"]),
    "  Try it         in another window: phone-companion-server client 127.0.0.1:27000",
  );
  assert.equal(
    await tryIt(["serverBindAddress = 192.168.1.20"]),
    "  Try it         in another window: phone-companion-server client 192.168.1.20:26535",
  );
  assert.equal(
    await tryIt(["serverBindAddress = ::", "serverPort = 27000"]),
    "  Try it         in another window: phone-companion-server client [::1]:27000",
  );
});

Deno.test("the client command the banner prints reaches a server on another port", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = listener.accept();
  const target = clientTarget("0.0.0.0", port);
  const request = parseCli(["client", target]);
  assert.deepEqual(request, { kind: "client", host: "127.0.0.1", port });
  const conn = await Deno.connect({ hostname: request.host, port: request.port });
  (await accepted).close();
  conn.close();
  listener.close();
});

Deno.test("a start-up error waits for Enter only in a Windows console opened for it alone", () => {
  const doubleClicked: ConsoleFacts = {
    os: "windows",
    consoleProcesses: 1,
    stdinIsTerminal: true,
    noPause: false,
  };
  assert.equal(shouldWaitForEnter(doubleClicked), true);
  // Started from cmd or PowerShell: the shell shares the console and keeps the message.
  assert.equal(shouldWaitForEnter({ ...doubleClicked, consoleProcesses: 2 }), false);
  // A service or a script: told not to, or nobody at the keyboard.
  assert.equal(shouldWaitForEnter({ ...doubleClicked, noPause: true }), false);
  assert.equal(shouldWaitForEnter({ ...doubleClicked, stdinIsTerminal: false }), false);
  // The list could not be read: no guessing.
  assert.equal(shouldWaitForEnter({ ...doubleClicked, consoleProcesses: undefined }), false);
  // macOS Terminal and Linux terminals keep the window open after an error exit.
  assert.equal(shouldWaitForEnter({ ...doubleClicked, os: "darwin" }), false);
  assert.equal(shouldWaitForEnter({ ...doubleClicked, os: "linux" }), false);
});
