/**
 * The permissions are named one by one and kept in one place (docs/building.md §6): the start
 * task runs with exactly those of `src/server/permissions.ts`, and each executable with those
 * plus its platform's extras, never `--allow-all`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { compiledPermissions, RUN_PERMISSIONS, V8_FLAGS } from "../../src/server/permissions.ts";
import { ROOT } from "../helpers.ts";

Deno.test("deno task start runs with the V8 flags and permissions of src/server/permissions.ts", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.equal(
    config.tasks.start,
    `deno run ${V8_FLAGS} ${RUN_PERMISSIONS.join(" ")} main.ts`,
  );
});

Deno.test("each executable's permissions are named, scoped where they can be, never all", () => {
  for (const os of ["linux", "darwin", "windows"] as const) {
    const flags = compiledPermissions(os);
    assert.deepEqual(flags.slice(0, RUN_PERMISSIONS.length), [...RUN_PERMISSIONS], os);
    for (const f of flags) assert.doesNotMatch(f, /^(-A|--allow-all)$/, os);
    // Running programs and loading libraries are allowed for one named thing each.
    for (const f of flags.filter((f) => /^--allow-(run|ffi)/.test(f))) {
      assert.match(f, /^--allow-(run|ffi)=[^,]+$/, `${os}: ${f}`);
    }
  }
  assert.ok(compiledPermissions("linux").includes("--allow-run=systemctl"));
  assert.ok(compiledPermissions("darwin").includes("--allow-run=launchctl"));
  assert.ok(compiledPermissions("windows").includes("--allow-run=schtasks"));
});
