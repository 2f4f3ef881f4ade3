/**
 * The callback key file (docs/yealink.md §5.1): where the configuration says, owner-only, and
 * never committed from a checkout.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { LogService } from "../../src/log/mod.ts";
import { readOrCreateCallbackKey } from "../../src/server/mod.ts";
import { loadSettings } from "../../src/server/mod.ts";
import { ROOT, tempDir } from "../helpers.ts";

const unix = Deno.build.os !== "windows";

Deno.test("the key file is made owner-only where serverCallbackKeyFile says, and tightened if it was not", async () => {
  const dir = await tempDir();
  const lines: string[] = [];
  const log = new LogService((line) => lines.push(line));
  await log.start();
  try {
    await Deno.mkdir(join(dir.path, "secrets"));
    const { settings } = await loadSettings(
      "serverCallbackKeyFile = secrets/pcs-key\n",
      join(dir.path, "phone-companion.cfg"),
    );
    const path = settings!.config.server.callbackKeyFile;
    assert.equal(path, join(dir.path, "secrets", "pcs-key"));
    const key = readOrCreateCallbackKey(path);
    assert.ok(key.length >= 32);
    assert.equal(readOrCreateCallbackKey(path), key, "the same key on the next read");
    if (unix) {
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      await Deno.chmod(path, 0o644);
      assert.equal(readOrCreateCallbackKey(path), key);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, "made owner-only again");
      assert.ok(lines.some((l) => l.includes("could be read by other users")), lines.join("\n"));
    }
  } finally {
    await log.close();
    await dir.remove();
  }
});

Deno.test("the files a start from a checkout writes into the working folder are git-ignored", async () => {
  const written = [
    "phone-companion.cfg",
    "phone-companion.log",
    "phone-companion.log.1",
    "callback-key",
  ];
  const out = await new Deno.Command("git", {
    args: ["check-ignore", "--no-index", ...written],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const ignored = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
  assert.deepEqual(ignored, written);
});
