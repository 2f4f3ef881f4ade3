/**
 * Builds the self-contained executables with `deno compile`: 64-bit Windows, macOS (Intel and
 * Apple silicon) and Linux, with the built-in profiles embedded and the server's permissions
 * baked in.
 *
 *   deno task compile                 all targets into dist/
 *   deno task compile --target <t>    one target
 *   deno task compile --check         front half only (module graph, type check, embedding),
 *                                     for hosts without the denort runtime download; the
 *                                     output is not runnable (docs/building.md §5)
 */

import { parseArgs } from "node:util";
import { join } from "node:path";

/** Targets we ship: 64-bit Windows, macOS and Linux. */
export const TARGETS = [
  "x86_64-pc-windows-msvc",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-unknown-linux-gnu",
] as const;

/** The permissions the compiled server runs with (the same as `deno task start`). */
export const PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

/**
 * V8 heap settings the server runs with (the same as `deno task start`): a smaller young
 * generation and an old-space limit far above the live heap (~20 MB at 1,000 phones) keep the
 * memory V8 holds after load near what it uses (docs/performance.md §3).
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=4,--max-old-space-size=512";

const root = join(import.meta.dirname!, "..");
const { values } = parseArgs({
  args: Deno.args,
  options: { target: { type: "string", multiple: true }, check: { type: "boolean" } },
});
const check = values.check ?? false;
const targets = check ? ["x86_64-unknown-linux-gnu"] : values.target ?? [...TARGETS];

let failed = 0;
for (const target of targets) {
  const suffix = target.includes("windows") ? ".exe" : "";
  const output = join(
    root,
    check ? ".tmp/compile-check" : "dist",
    `phone-companion-${target}${suffix}`,
  );
  const args = [
    "compile",
    ...PERMISSIONS,
    V8_FLAGS,
    "--include",
    "profiles",
    "--target",
    target,
    "--output",
    output,
    "main.ts",
  ];
  const env: Record<string, string> = { NO_COLOR: "1" };
  // A stand-in runtime lets the front half run where the denort download is unreachable.
  if (check) env.DENORT_BIN = Deno.execPath();
  console.log(`deno ${args.join(" ")}`);
  const result = await new Deno.Command(Deno.execPath(), { args, cwd: root, env }).output();
  const text = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  console.log(text.trimEnd());
  if (!result.success) {
    failed++;
    if (/dns error|error sending request/.test(text)) {
      console.error(
        `The ${target} runtime (denort) could not be downloaded. On a host without access to ` +
          `dl.deno.land, put denort-${target}.zip for Deno ${Deno.version.deno} into ` +
          `$DENO_DIR/dl/release/v${Deno.version.deno}/ (see docs), or run with --check.`,
      );
    }
  }
}
if (check && failed === 0) {
  console.log("front half of deno compile passed (the output is not runnable: stand-in runtime)");
}
Deno.exit(failed === 0 ? 0 : 1);
