import assert from "node:assert/strict";
import { listProblems, MUTANTS } from "../../scripts/mutants.ts";
import { ROOT } from "../helpers.ts";

Deno.test("every mutant of the mutation run still finds its rule in the code, once", async () => {
  assert.deepEqual(await listProblems(ROOT), []);
  assert.equal(new Set(MUTANTS.map((m) => m.name)).size, MUTANTS.length, "names are unique");
});

Deno.test("a mutant whose text is gone from its file is reported, not silently skipped", async () => {
  const gone = { ...MUTANTS[0], find: "this text is nowhere in the session" };
  const problems = await listProblems(ROOT, [gone]);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /occurs 0 times in src\/channel\/session\.ts/);
});
