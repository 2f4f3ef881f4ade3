import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../../src/config/mod.ts";
import { log, LogService, REDACTED, Redactor, redactor } from "../../src/log/mod.ts";
import { tempDir } from "../helpers.ts";

Deno.test("the redactor hides known secrets, their URL-encoded form and credential shapes", () => {
  const r = new Redactor();
  r.setConfigSecrets(["p@ss word", "long-secret"]);
  r.add("tok-12345");
  const line = r.redact(
    'login p@ss word / p%40ss%20word; Authorization: Bearer abc.def; {"access_token":"zzz","ok":1} grant&password=hunter2&x=1 tok-12345 long-secret',
  );
  assert.equal(
    line,
    `login ${REDACTED} / ${REDACTED}; Authorization: Bearer ${REDACTED}; {"access_token":"${REDACTED}","ok":1} grant&password=${REDACTED}&x=1 ${REDACTED} ${REDACTED}`,
  );
  // A page may show some secrets on purpose (provisioning lines); the others stay hidden.
  const key = "Q2FsbGJhY2tLZXlGb3JQaG9uZTEwMQ";
  r.add(key);
  assert.equal(
    r.redact(`k=${key} tok-12345 long-secret`, new Set([key, "long-secret"])),
    `k=${key} ${REDACTED} long-secret`,
  );
  assert.equal(r.redact(`k=${key}`), `k=${REDACTED}`);
  r.remove("tok-12345");
  assert.equal(r.redact("tok-12345"), "tok-12345");
  r.setConfigSecrets([]);
  assert.equal(r.redact("long-secret"), "long-secret");
});

Deno.test("a short secret is not replaced by its text: times, ports and versions stay readable", () => {
  const r = new Redactor();
  r.setConfigSecrets(["0", "snom"]);
  const line =
    '2026-12-02T10:00:00.000Z INFO  [phones] phone 101 at 10.0.0.5:80 (snom.cfg) {"ok":0}';
  assert.equal(r.redact(line), line);
});

Deno.test("log lines go to the console and the file alike, redacted, and the file rotates by size", async () => {
  const dir = await tempDir();
  const lines: string[] = [];
  const service = new LogService((l) => lines.push(l));
  try {
    const file = join(dir.path, "pcs.cfg");
    const { snapshot } = parseConfig(
      "serverLogFilePath = logs/test.log\nlogMaxBytes = 4096\nlogMaxFiles = 2\nlogLevel = debug\nadminPassword = Hidden-42",
      file,
    );
    await service.apply(snapshot!);
    for (let i = 0; i < 200; i++) {
      log("test").debug("line {i} with the password {pw} and a\nbreak", { i, pw: "Hidden-42" });
    }
    await service.close();
    const main = await Deno.readTextFile(join(dir.path, "logs", "test.log"));
    const rotated = await Deno.readTextFile(join(dir.path, "logs", "test.log.1"));
    assert.ok(main.length <= 4096 + 8192, `the live file stays near logMaxBytes (${main.length})`);
    assert.ok(rotated.length > 0);
    assert.throws(() => Deno.statSync(join(dir.path, "logs", "test.log.3")), Deno.errors.NotFound);
    assert.equal(lines.length, 200);
    assert.match(
      lines[0],
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z DEBUG \[test\] line 0 with the password \*\*\* and a\\nbreak$/,
    );
    assert.ok(main.split("\n").filter((l) => l !== "").every((l) => lines.includes(l)));
    assert.ok(!main.includes("Hidden-42") && !rotated.includes("Hidden-42"));
  } finally {
    await service.close();
    redactor.setConfigSecrets([]);
    await dir.remove();
  }
});

Deno.test("levels below the configured one are not written", async () => {
  const dir = await tempDir();
  const lines: string[] = [];
  const service = new LogService((l) => lines.push(l));
  try {
    const { snapshot } = parseConfig("logLevel = warning", join(dir.path, "x.cfg"));
    await service.apply(snapshot!);
    log("test").info("hidden");
    log("test").warning("shown");
    assert.deepEqual(lines.map((l) => l.replace(/^\S+ /, "")), ["WARN  [test] shown"]);
  } finally {
    await service.close();
    await dir.remove();
  }
});

Deno.test("logFormat = json writes JSON Lines to the console and the file, secrets hidden", async () => {
  const dir = await tempDir();
  const lines: string[] = [];
  const service = new LogService((l) => lines.push(l));
  try {
    // A password with a quote and a backslash reads differently once JSON escapes it.
    const { snapshot } = parseConfig(
      'serverLogFilePath = j.log\nlogFormat = json\nadminPassword = Se"cr\\et-1234',
      join(dir.path, "pcs.cfg"),
    );
    await service.apply(snapshot!);
    log("phones").warning("phone {extension} said {pw}", {
      extension: "101",
      pw: 'Se"cr\\et-1234',
      error: new Error("boom", { cause: new Error("deeper") }),
    });
    await service.close();
    const file = (await Deno.readTextFile(join(dir.path, "j.log"))).trimEnd().split("\n");
    assert.deepEqual(file, lines);
    const record = JSON.parse(lines[0]);
    assert.equal(record.level, "WARN");
    assert.equal(record.logger, "pcs.phones");
    assert.equal(record.message, "phone 101 said ***");
    assert.equal(record.properties.extension, "101");
    assert.equal(record.properties.pw, "***");
    assert.equal(record.properties.error, "Error: boom (cause: Error: deeper)");
    assert.ok(!Number.isNaN(Date.parse(record["@timestamp"])));
    assert.ok(!lines[0].includes("cr\\\\et"), lines[0]);
  } finally {
    await service.close();
    redactor.setConfigSecrets([]);
    await dir.remove();
  }
});

Deno.test("the last 100 warnings and errors are kept for the status page, repeats counted", async () => {
  const service = new LogService(() => {});
  try {
    await service.start("info");
    log("test").info("not a problem");
    for (let i = 0; i < 120; i++) log("test").warning("warning {i}", { i });
    log("phones").error("gone");
    log("phones").error("gone");
    const recent = service.recent.list();
    assert.equal(recent.length, 100);
    assert.deepEqual(
      recent.slice(0, 2).map((p) => [p.level, p.area, p.message, p.count]),
      [["error", "phones", "gone", 2], ["warning", "test", "warning 119", 1]],
    );
    assert.equal(recent.at(-1)!.message, "warning 21");
    assert.ok(recent.every((p) => p.message !== "not a problem"));
  } finally {
    await service.close();
  }
});
