/**
 * The specs live in `docs/` and cannot drift: the configuration page agrees with the key
 * table, every citation of a doc names a file and section that exist, and nothing cites a
 * document outside the repository or an issue (docs/architecture.md §9.9).
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { CONFIGURATION_DOC, isCurrent } from "../../scripts/docs.ts";
import { ROOT } from "../helpers.ts";

/** Every text file whose comments or prose may cite a doc. */
async function citingFiles(): Promise<string[]> {
  const out: string[] = [join(ROOT, "main.ts"), join(ROOT, "README.md")];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (/\.(ts|md|cfg|txt)$/.test(e.name)) out.push(path);
    }
  };
  for (const dir of ["src", "tests", "scripts", "profiles", "docs"]) await walk(join(ROOT, dir));
  return out;
}

/** The section numbers a doc has: headings `## 3. Title`, `### 3.4 Title`. */
function sectionsOf(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const m of markdown.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)) found.add(m[1]);
  return found;
}

/** This file, which shows broken citations on purpose. */
const SELF = join(ROOT, "tests", "docs", "docs_test.ts");

// A citation: `docs/<name>.md`, then optionally `§N` items joined by `, `, ` and ` or `–`.
const CITATION = /(?<![\w/.:-])docs\/([a-z][a-z-]*)\.md((?:(?:,? | and |–)?§\d+(?:\.\d+)*)*)/g;

Deno.test("docs/configuration.md lists every configuration key as the key table defines it", async () => {
  const page = await Deno.readTextFile(CONFIGURATION_DOC);
  assert.ok(isCurrent(page), "docs/configuration.md is out of date: run `deno task docs`");
});

Deno.test("every citation of a doc names a file in docs/ and a section it has", async () => {
  const sections = new Map<string, Set<string>>();
  const broken: string[] = [];
  let citations = 0;
  for (const file of await citingFiles()) {
    if (file === SELF) continue;
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(CITATION)) {
      citations++;
      const doc = `${m[1]}.md`;
      if (!sections.has(doc)) {
        try {
          sections.set(doc, sectionsOf(await Deno.readTextFile(join(ROOT, "docs", doc))));
        } catch {
          sections.set(doc, new Set(["missing"]));
        }
      }
      const have = sections.get(doc)!;
      const where = `${relative(ROOT, file)}: ${m[0]}`;
      if (have.has("missing")) broken.push(`${where} (no such doc)`);
      for (const s of m[2].matchAll(/§(\d+(?:\.\d+)*)/g)) {
        if (!have.has(s[1])) broken.push(`${where} (no section ${s[1]})`);
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(citations > 100, `only ${citations} citations found; is the pattern still right?`);
});

Deno.test("the citation check catches a missing doc and a missing section", () => {
  const cited = [..."see docs/snom.md §2.6 and docs/nowhere.md §1".matchAll(CITATION)];
  assert.deepEqual(cited.map((m) => [m[1], m[2]]), [["snom", " §2.6"], ["nowhere", " §1"]]);
  assert.equal(sectionsOf("## 2. A\n### 2.6 B\n").has("2.6"), true);
  assert.equal(sectionsOf("## 2. A\n").has("2.6"), false);
});

Deno.test("nothing cites a document outside the repository or an issue number", async () => {
  const outside = new RegExp(
    [
      "\\.\\./" + "shared",
      "(?<![\\w/-])(stli-sources|deno-toolchain|snom-http|ringcentral)\\.md",
      "(?<![\\w/.-])(channel-protocol|config|architecture)\\.md",
      "\\b[Ii]ssues? #?\\d+",
    ].join("|"),
  );
  const found: string[] = [];
  for (const file of await citingFiles()) {
    if (file === SELF) continue;
    const lines = (await Deno.readTextFile(file)).split("\n");
    lines.forEach((line, i) => {
      if (outside.test(line)) found.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});
