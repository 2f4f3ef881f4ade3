import assert from "node:assert/strict";
import { compileArgs, EMBEDDED, TARGETS } from "../../scripts/compile.ts";
import { ROOT } from "../helpers.ts";
import { join } from "node:path";

Deno.test("the executable embeds the profiles and the call journal's worker, for every target", async () => {
  for (const target of TARGETS) {
    const args = compileArgs(target, { icon: "i.ico", skipped: [], output: "out" });
    const included = args.flatMap((a, i) => args[i - 1] === "--include" ? [a] : []);
    assert.deepEqual(included, ["profiles", "src/journal/_worker.ts"], target);
    assert.equal(args.at(-1), "main.ts");
    assert.equal(args.includes("--icon"), target.includes("windows"), target);
  }
  // Each embedded path exists, so a move of the worker breaks this test, not the release.
  for (const path of EMBEDDED) await Deno.stat(join(ROOT, path));
});
