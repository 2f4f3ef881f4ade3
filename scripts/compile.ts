/**
 * Builds the self-contained executables with `deno compile` (docs/building.md §6): 64-bit
 * Windows, macOS (Intel and Apple silicon) and Linux (x64 and ARM), each
 * `dist/<target>/phone-companion-server[.exe]`, with the built-in profiles embedded and the
 * server's permissions named one by one.
 *
 *   deno task compile                 all targets into dist/
 *   deno task compile --target <t>    one target
 *   deno task compile --check         front half only (module graph, type check, embedding),
 *                                     for hosts without the denort runtime download; the
 *                                     output is not runnable (docs/building.md §5)
 *   DENORT_BIN=<deno.exe> deno task compile --check --target x86_64-pc-windows-msvc
 *                                     the same for Windows, with a Windows deno as the
 *                                     stand-in, so the icon is embedded too
 *
 * Windows executables get the icon that scripts/icon.ts draws (docs/building.md §10).
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { iconFile } from "./icon.ts";
import { compiledPermissions, V8_FLAGS } from "../src/server/permissions.ts";
import { EXECUTABLE } from "../src/version.ts";

/** Targets we ship. */
export const TARGETS = [
  "x86_64-pc-windows-msvc",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
] as const;

/** The operating system a target runs on. */
export function targetOs(target: string): "windows" | "darwin" | "linux" {
  return target.includes("windows") ? "windows" : target.includes("darwin") ? "darwin" : "linux";
}

/** Where `deno task compile` writes a target's executable, relative to the checkout. */
export function outputPath(target: string): string {
  return join("dist", target, EXECUTABLE + (targetOs(target) === "windows" ? ".exe" : ""));
}

/**
 * Folders of npm packages left out of the executable: `bintrees` (under prom-client's
 * `tdigest`) ships its test data, and Deno 2.9's compile overflows its stack walking it
 * (docs/building.md §6). The server never loads them.
 */
const NPM_EXCLUDED = ["registry.npmjs.org/bintrees/1.0.2/test"];

/** The excluded folders as paths in this machine's npm cache (`deno info --json`). */
async function npmExclusions(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const { npmCache } = JSON.parse(new TextDecoder().decode(out.stdout)) as { npmCache: string };
  return NPM_EXCLUDED.map((p) => join(npmCache, p));
}

/**
 * Files `deno compile` cannot find from `main.ts` alone and must embed: the phone profiles,
 * and the call journal's writer, which runs as a worker (docs/call-journal.md §3).
 */
export const EMBEDDED = ["profiles", "src/journal/_worker.ts"] as const;

/** The arguments of `deno compile` for one target. */
export function compileArgs(
  target: string,
  options: { readonly icon: string; readonly skipped: readonly string[]; readonly output: string },
): string[] {
  return [
    "compile",
    V8_FLAGS,
    ...compiledPermissions(targetOs(target)),
    ...(targetOs(target) === "windows" ? ["--icon", options.icon] : []),
    // Only the npm packages the server imports (not the test and tool packages of deno.json).
    "--exclude-unused-npm",
    ...options.skipped.flatMap((path) => ["--exclude", path]),
    ...EMBEDDED.flatMap((path) => ["--include", path]),
    "--target",
    target,
    "--output",
    options.output,
    "main.ts",
  ];
}

if (import.meta.main) Deno.exit(await compile(Deno.args));

/** Compiles as the flags say; resolves with the exit code. */
async function compile(flags: string[]): Promise<number> {
  const root = join(import.meta.dirname!, "..");
  const { values } = parseArgs({
    args: flags,
    options: { target: { type: "string", multiple: true }, check: { type: "boolean" } },
  });
  const check = values.check ?? false;
  // The stand-in must have the target's binary format: the running deno, or one given.
  const standIn = Deno.env.get("DENORT_BIN") ?? Deno.execPath();
  const targets = values.target ?? (check ? ["x86_64-unknown-linux-gnu"] : [...TARGETS]);
  const icon = join(root, ".tmp", "icon", `${EXECUTABLE}.ico`);
  await Deno.mkdir(join(root, ".tmp", "icon"), { recursive: true });
  await Deno.writeFile(icon, iconFile());

  const skipped = await npmExclusions();
  let failed = 0;
  for (const target of targets) {
    const output = join(
      root,
      check ? join(".tmp", "compile-check", outputPath(target)) : outputPath(target),
    );
    const args = compileArgs(target, { icon, skipped, output });
    const env: Record<string, string> = { NO_COLOR: "1" };
    // A stand-in runtime lets the front half run where the denort download is unreachable.
    if (check) env.DENORT_BIN = standIn;
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
  return failed === 0 ? 0 : 1;
}
