import assert from "node:assert/strict";
import { join } from "node:path";
import {
  faceProblem,
  faceProblems,
  importGraph,
  LAYERS,
  problems,
} from "../../scripts/check_imports.ts";
import { ROOT, tempDir } from "../helpers.ts";

async function tree(
  files: Record<string, string>,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await tempDir();
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir.path, name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir.path, name), text);
  }
  return dir;
}

Deno.test("the import check finds a cycle, a bypassed mod.ts and an upward import", async () => {
  const dir = await tree({
    "low/mod.ts": 'import "../high/mod.ts";\nexport const low = 1;\n',
    "high/mod.ts": 'import "../low/mod.ts";\nexport const high = 1;\n',
    "other/mod.ts": 'import "../low/_private.ts";\n',
    "low/_private.ts": "export const hidden = 1;\n",
  });
  try {
    const found = problems(await importGraph(dir.path), {
      layers: { low: 1, high: 2, other: 2 },
      defaultLayer: 0,
      isolated: [],
    });
    assert.ok(
      found.includes("import cycle between 2 files: high/mod.ts, low/mod.ts"),
      found.join("\n"),
    );
    assert.ok(
      found.includes("other/mod.ts imports low/_private.ts: import the folder through low/mod.ts"),
    );
    assert.ok(found.includes("low/mod.ts imports high/mod.ts: high is in a higher layer than low"));
    assert.equal(found.length, 3, found.join("\n"));
  } finally {
    await dir.remove();
  }
});

Deno.test("the import check finds one feature folder importing another", async () => {
  const dir = await tree({
    "phones/mod.ts": 'import "../simulator/mod.ts";\n',
    "simulator/mod.ts": "export const sim = 1;\n",
  });
  try {
    assert.deepEqual(problems(await importGraph(dir.path), LAYERS), [
      "phones/mod.ts imports simulator/mod.ts: feature folders do not import one another",
    ]);
  } finally {
    await dir.remove();
  }
});

Deno.test("src/ keeps every import rule: no cycle, folders through mod.ts, layers downward", async () => {
  const graph = await importGraph(join(ROOT, "src"));
  assert.ok(graph.size > 50, `only ${graph.size} files in the graph`);
  assert.deepEqual(problems(graph), []);
});

Deno.test("a mod.ts with code in it is found; one that only hands names on is a face", () => {
  const face =
    '/** The face. */\nexport { a, type B } from "./a.ts";\nexport type {\n  C,\n} from "./c.ts";\n';
  assert.equal(faceProblem("x/mod.ts", face), undefined);
  const problem = faceProblem("x/mod.ts", face + "export class Server {}\n");
  assert.match(problem ?? "", /^x\/mod\.ts holds code \("export class Server/);
  assert.ok(faceProblem("x/mod.ts", 'import { a } from "./a.ts";\nexport { a };\n'));
});

Deno.test("every mod.ts of src/ is a face", async () => {
  assert.deepEqual(await faceProblems(join(ROOT, "src")), []);
});
