import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ConfigTooLarge,
  type ConfigWatch,
  CONFIRM_MS,
  MAX_CONFIG_BYTES,
  readConfigText,
  watchConfig,
} from "../../src/config/mod.ts";
import { ManualClock, tempDir } from "../helpers.ts";

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** A watch over a file held in memory, whose `onChange` waits until the test releases it. */
function heldWatch() {
  const clock = new ManualClock();
  const file = { text: "a" };
  const started: string[] = [];
  const applied: string[] = [];
  const releases: (() => void)[] = [];
  const watch: ConfigWatch = watchConfig({
    path: "/tmp/reload-test.cfg",
    initialText: "a",
    intervalSeconds: () => 5,
    clock,
    read: () => Promise.resolve(file.text),
    onReadError: (e) => {
      throw e;
    },
    onChange: async (text) => {
      started.push(text);
      await new Promise<void>((resolve) => releases.push(resolve));
      applied.push(text);
    },
  });
  const releaseAll = async () => {
    while (releases.length > 0) {
      releases.shift()!();
      await settle();
    }
  };
  return { clock, file, started, applied, watch, releaseAll };
}

Deno.test("checkNow while the timer's check is applying a change resolves only once it is applied", async () => {
  const w = heldWatch();
  w.file.text = "b";
  w.clock.advance(5000);
  await settle();
  assert.deepEqual(w.started, [], "a change is applied only when the next check sees it again");
  w.clock.advance(5000);
  await settle();
  assert.deepEqual(w.started, ["b"]);
  let done = false;
  const now = w.watch.checkNow().then(() => done = true);
  await settle();
  assert.equal(done, false, "checkNow returned while the change was still being applied");
  await w.releaseAll();
  await now;
  assert.deepEqual(w.applied, ["b"]);
  await w.watch.stop();
});

Deno.test("a timer check waits for a checkNow in progress, so changes apply one at a time, in order", async () => {
  const w = heldWatch();
  w.file.text = "b";
  await w.watch.checkNow();
  const now = w.watch.checkNow();
  await settle();
  w.file.text = "c";
  w.clock.advance(5000);
  await settle();
  assert.deepEqual(w.started, ["b"], "a second change started while the first was applying");
  await w.releaseAll();
  await now;
  w.clock.advance(5000);
  await settle();
  await w.releaseAll();
  assert.deepEqual(w.applied, ["b", "c"]);
  await w.watch.stop();
});

Deno.test("a file caught while it is written is not applied until it reads the same twice", async () => {
  const w = heldWatch();
  w.file.text = "phone=101@10.0.0.1 sn";
  await w.watch.checkNow();
  w.file.text = "phone=101@10.0.0.1 snom.cfg\nphone=102@";
  await w.watch.checkNow();
  assert.deepEqual(w.started, [], "a text that changed between two checks was applied");
  w.file.text = "phone=101@10.0.0.1 snom.cfg\nphone=102@10.0.0.2 snom.cfg\n";
  await w.watch.checkNow();
  const done = w.watch.checkNow();
  await settle();
  await w.releaseAll();
  await done;
  assert.deepEqual(w.applied, ["phone=101@10.0.0.1 snom.cfg\nphone=102@10.0.0.2 snom.cfg\n"]);
  await w.watch.stop();
});

Deno.test("a configuration file above 1 MiB is refused unread, with a clear reason", async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, "huge.cfg");
    await Deno.writeTextFile(path, "# " + "x".repeat(MAX_CONFIG_BYTES) + "\n");
    await assert.rejects(readConfigText(path), ConfigTooLarge);
    await assert.rejects(readConfigText(path), /more than the 1048576 bytes/);
    await Deno.writeTextFile(path, "serverPort = 26535\n");
    assert.equal(await readConfigText(path), "serverPort = 26535\n");
  } finally {
    await dir.remove();
  }
});

Deno.test("a saved change applies half a second after the check that sees it, not a whole interval later", async () => {
  const clock = new ManualClock();
  const file = { text: "a" };
  const applied: [string, number][] = [];
  const watch = watchConfig({
    path: "/tmp/reload-test.cfg",
    initialText: "a",
    intervalSeconds: () => 5,
    clock,
    read: () => Promise.resolve(file.text),
    onReadError: (e) => {
      throw e;
    },
    onChange: (text) => void applied.push([text, clock.now()]),
  });
  const start = clock.now();
  file.text = "b";
  clock.advance(5000);
  await settle();
  assert.equal(applied.length, 0, "one read is not enough: the file may be half-written");
  clock.advance(CONFIRM_MS);
  await settle();
  assert.deepEqual(applied, [["b", start + 5000 + CONFIRM_MS]]);
  // A file still being written (another text at the confirming read) waits for a stable one.
  file.text = "c-half";
  clock.advance(5000);
  await settle();
  file.text = "c-whole";
  const written = clock.now();
  clock.advance(CONFIRM_MS);
  await settle();
  assert.equal(applied.length, 1, "a text that changed again is not taken");
  clock.advance(CONFIRM_MS);
  await settle();
  const [text, at] = applied.at(-1)!;
  assert.equal(text, "c-whole");
  assert.ok(at - written <= 2 * CONFIRM_MS, `applied ${at - written} ms after it was written`);
  await watch.stop();
  assert.equal(clock.pending, 0, "stop leaves no timer behind");
});
