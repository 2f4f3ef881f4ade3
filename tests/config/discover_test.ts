import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { discoverConfig, isCompiled } from "../../src/config/mod.ts";

Deno.test("discovery prefers --config, then phone-companion.cfg, then the vendor's file name", async () => {
  const existing = new Set<string>();
  const exists = (p: string) => Promise.resolve(existing.has(p));
  const folder = "/opt/pcs";
  assert.deepEqual(await discoverConfig(undefined, folder, exists), {
    path: join(folder, "phone-companion.cfg"),
    exists: false,
  });
  existing.add(join(folder, "24uPhoneCompanionServer.cfg"));
  assert.deepEqual(await discoverConfig(undefined, folder, exists), {
    path: join(folder, "24uPhoneCompanionServer.cfg"),
    exists: true,
  });
  existing.add(join(folder, "phone-companion.cfg"));
  assert.equal(
    (await discoverConfig(undefined, folder, exists)).path,
    join(folder, "phone-companion.cfg"),
  );
  assert.deepEqual(await discoverConfig("custom.cfg", folder, exists), {
    path: resolve("custom.cfg"),
    exists: false,
  });
});

Deno.test("a deno binary is not taken for a compiled executable, anything else is", () => {
  assert.equal(isCompiled("/usr/bin/deno"), false);
  assert.equal(isCompiled("C:\\deno\\deno.exe"), false);
  assert.equal(isCompiled("/opt/pcs/phone-companion"), true);
  assert.equal(isCompiled("C:\\PCS\\phone-companion.exe"), true);
});
