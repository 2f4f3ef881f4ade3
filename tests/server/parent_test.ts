/**
 * Stopping a server started from a checkout (docs/install.md §6): the parent watch alone, and
 * the real `npx … task start` chain stopped by signalling the process the banner names, and by
 * the end of `deno task` above it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { PARENT_CHECK_MS, watchParent } from "../../src/server/parent.ts";
import { freePort, ManualClock, ROOT, tempDir, waitFor } from "../helpers.ts";

Deno.test("the watch tells once when this process's parent is replaced (it was orphaned)", () => {
  const clock = new ManualClock();
  let ppid = 42;
  let gone = 0;
  const stop = watchParent(() => gone++, () => ppid, clock);
  clock.advance(PARENT_CHECK_MS * 3);
  assert.equal(gone, 0, "the same parent: nothing happens");
  ppid = 1;
  clock.advance(PARENT_CHECK_MS);
  assert.equal(gone, 1);
  clock.advance(PARENT_CHECK_MS * 5);
  assert.equal(gone, 1, "told once");
  stop();
  assert.equal(clock.pending, 0, "no timer left after the watch ends");
});

/** `npx -y deno@2.9.6 task start` in a fresh folder, with the server's pid from its banner. */
async function startViaNpx() {
  const dir = await tempDir();
  const port = freePort();
  await Deno.writeTextFile(
    join(dir.path, "phone-companion.cfg"),
    `serverPort = ${port}\nserverHttpPort = ${freePort()}\ndemoPhones = 0\n`,
  );
  const npx = new Deno.Command("npx", {
    args: ["-y", "deno@2.9.6", "task", "--config", join(ROOT, "deno.json"), "start"],
    cwd: dir.path,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  let out = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of npx.stdout) out += decoder.decode(chunk, { stream: true });
  })();
  const pid = Number(
    (await waitFor("the banner", () => /SIGTERM to process (\d+)/.exec(out), 30_000))[1],
  );
  const accepts = async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  };
  const log = () => Deno.readTextFile(join(dir.path, "phone-companion.log"));
  return {
    pid,
    accepts,
    log,
    async [Symbol.asyncDispose]() {
      for (const p of [pid, npx.pid]) {
        try {
          Deno.kill(p, "SIGKILL");
        } catch { /* already ended */ }
      }
      await npx.status;
      await reading;
      await dir.remove();
    },
  };
}

/** The parent of a process, from `ps`. */
async function parentOf(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "ppid=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

const linux = Deno.build.os === "linux";

Deno.test({
  name: "SIGTERM to the process the banner names stops a server started with npx … task start",
  ignore: !linux,
  async fn() {
    await using s = await startViaNpx();
    assert.ok(await s.accepts());
    Deno.kill(s.pid, "SIGTERM");
    await waitFor("the channel port to close", async () => !await s.accepts(), 5_000);
    const log = await waitFor("the last log line", async () => {
      const text = await s.log();
      return text.endsWith("[server] stopped\n") ? text : undefined;
    });
    assert.match(log, /\[server\] stopping\n.*\[server\] stopped\n$/s);
  },
});

Deno.test({
  name: "a server whose deno task ended stops too, instead of holding its ports orphaned",
  ignore: !linux,
  async fn() {
    await using s = await startViaNpx();
    Deno.kill(await parentOf(s.pid), "SIGKILL"); // deno task, killed without passing it on
    await waitFor("the channel port to close", async () => !await s.accepts(), 5_000);
    const log = await waitFor("the last log line", async () => {
      const text = await s.log();
      return text.endsWith("[server] stopped\n") ? text : undefined;
    });
    assert.match(log, /the process that started the server has ended; stopping with it\n/);
  },
});
