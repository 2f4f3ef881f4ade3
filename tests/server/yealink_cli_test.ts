/**
 * `main.ts` as a process with a configuration that mixes a Yealink and a SNOM: `--check-config`
 * and `provisioning <extension>` (docs/yealink.md §5, §5.1; docs/phone-profiles.md §2.4).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { provisionedSecret } from "../../src/monitor/callback_url.ts";
import { SimNetwork } from "../../src/simulator/mod.ts";
import { runMain, tempDir } from "../helpers.ts";

Deno.test("--check-config on a Yealink beside a SNOM: valid, then a mistake in the Yealink line", async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, "mixed.cfg");
    await Deno.writeTextFile(
      file,
      "phone=101@10.0.0.1 yealink.cfg admin pw\nphone=201@10.0.0.2 snom.cfg admin pw\n",
    );
    const ok = await runMain(["--check-config", "--config", file]);
    assert.equal(ok.stdout, `${file}: 0 error(s), 0 warning(s), the configuration is valid\n`);
    assert.equal(ok.code, 0);

    await Deno.writeTextFile(
      file,
      "phone=101@10.0.0.1 yealink.cgf admin pw\nphone=201@10.0.0.2 snom.cfg admin pw\n",
    );
    const bad = await runMain(["--check-config", "--config", file]);
    assert.equal(
      bad.stdout,
      [
        `error: ${file}:1: profile 'yealink.cgf' not found beside the configuration file nor built in`,
        `${file}: 1 error(s), 0 warning(s)`,
        "",
      ].join("\n"),
    );
    assert.equal(bad.code, 1);
  } finally {
    await dir.remove();
  }
});

Deno.test("provisioning <extension> prints a Yealink's lines with its stable key; a SNOM or unknown extension is an error", async () => {
  const dir = await tempDir();
  // The server's address on the route to the phone is learnt by connecting to it.
  const network = new SimNetwork();
  try {
    const yealink = await network.addYealink({ extension: "101" });
    const file = join(dir.path, "phone-companion.cfg");
    await Deno.writeTextFile(
      file,
      [
        "serverHttpPort = 28080",
        `phone=101@127.0.0.1:${yealink.port} yealink.cfg admin pw`,
        "phone=201@127.0.0.1:9 snom.cfg admin pw",
        "",
      ].join("\n"),
    );
    const key = "k".repeat(64);
    await Deno.writeTextFile(join(dir.path, "callback-key"), key + "\n");
    const secret = provisionedSecret(key, "101");
    const url = (n: string) =>
      `http://127.0.0.1:28080/phone/101/${n}?k=${secret}&cid=$call_id&remote=$remote&dr=$display_remote`;

    const r = await runMain(["provisioning", "101", "--config", file]);
    assert.equal(r.stderr, "");
    assert.equal(
      r.stdout,
      [
        `action_url.incoming_call = ${url("onIncomingCall")}`,
        `action_url.outgoing_call = ${url("onOutgoingCall")}`,
        `action_url.call_established = ${url("onConnected")}`,
        `action_url.call_terminated = ${url("onDisconnected")}`,
        `action_url.missed_call = ${url("onMissedCall")}`,
        `action_url.reject_incoming_call = ${url("onRejected")}`,
        `action_url.forward_incoming_call = ${url("onForwarded")}`,
        `action_url.remote_busy = ${url("onRemoteBusy")}`,
        `action_url.cancel_callout = ${url("onCallCancelled")}`,
        `action_url.hold = ${url("onHold")}`,
        `action_url.unhold = ${url("onUnhold")}`,
        `action_url.transfer_finished = ${url("onTransfer")}`,
        `action_url.transfer_failed = ${url("onTransferFailed")}`,
        `action_url.busy_to_idle = ${url("onIdle")}`,
        `action_url.setup_completed = ${url("onSetup")}`,
        "features.action_uri_limit_ip = 127.0.0.1",
        "",
      ].join("\n"),
    );
    assert.equal(r.code, 0);

    const snom = await runMain(["provisioning", "201", "--config", file]);
    assert.deepEqual([snom.code, snom.stdout], [1, ""]);
    assert.equal(
      snom.stderr,
      "error: phone 201's profile has no [monitorProvisioning]: " +
        "the server writes its action URLs itself at MonitorStart\n",
    );
    const unknown = await runMain(["provisioning", "999", "--config", file]);
    assert.deepEqual([unknown.code, unknown.stdout], [1, ""]);
    assert.equal(unknown.stderr, "error: 999 is not a configured phone\n");

    // Without a key file the first run makes one; the next run prints the same lines.
    await Deno.remove(join(dir.path, "callback-key"));
    const first = await runMain(["provisioning", "101", "--config", file]);
    const again = await runMain(["provisioning", "101", "--config", file]);
    assert.equal(first.code, 0);
    assert.equal(again.stdout, first.stdout);
    assert.notEqual(first.stdout, r.stdout, "a new key file, new keys");
    const made = (await Deno.readTextFile(join(dir.path, "callback-key"))).trim();
    assert.ok(first.stdout.includes(`k=${provisionedSecret(made, "101")}&`));
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(join(dir.path, "callback-key"))).mode! & 0o777, 0o600);
    }
  } finally {
    await network.close();
    await dir.remove();
  }
});

Deno.test("provisioning <extension> prepares a Yealink's lines while it is still switched off", async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, "phone-companion.cfg");
    // A documentation address that nothing answers at: with serverCallbackUrl set, nothing is
    // sent to the phone at all.
    await Deno.writeTextFile(
      file,
      "serverCallbackUrl = http://192.0.2.10:28080\nphone=101@192.0.2.1:9 yealink.cfg admin pw\n",
    );
    const key = "k".repeat(64);
    await Deno.writeTextFile(join(dir.path, "callback-key"), key + "\n");
    const off = await runMain(["provisioning", "101", "--config", file]);
    assert.equal(off.stderr, "");
    assert.equal(off.code, 0);
    const secret = provisionedSecret(key, "101");
    assert.ok(
      off.stdout.includes(
        `action_url.incoming_call = http://192.0.2.10:28080/phone/101/onIncomingCall?k=${secret}&`,
      ),
      off.stdout,
    );
    assert.match(off.stdout, /^features\.action_uri_limit_ip = 192\.0\.2\.10$/m);
  } finally {
    await dir.remove();
  }
});
