import assert from "node:assert/strict";
import { LogService } from "../../src/log/mod.ts";
import { loadSettings, logFindings } from "../../src/server/mod.ts";

Deno.test("a finding that quotes braces from the file is logged as written", async () => {
  const lines: string[] = [];
  const service = new LogService((line) => lines.push(line));
  await service.start("info");
  try {
    const result = await loadSettings(
      "serverCallbackUrl = http://{host}:26536/x?y\n{unknown} = 1\n",
      "/tmp/settings-test/phone-companion.cfg",
    );
    assert.equal(result.settings, undefined);
    logFindings(result.findings);
  } finally {
    await service.close();
  }
  assert.equal(lines.length, 2);
  assert.match(lines[0], / ERROR \[config\] \/tmp\/settings-test\/phone-companion\.cfg:1: /);
  assert.match(lines[0], /got 'http:\/\/\{host\}:26536\/x\?y'$/);
  assert.match(lines[1], / WARN {2}\[config\] .*:2: unknown key '\{unknown\}', ignored$/);
});
