/**
 * The release workflow's helpers (docs/building.md §8), so that the workflow holds no logic
 * of its own that could not be run here:
 *
 *   deno task release version              the version (from src/version.ts)
 *   deno task release check-tag <tag>      the tag is v<version> and CHANGELOG.md has its section
 *   deno task release notes                that section, for the GitHub release's text
 *   deno task release pack --target <t> [--exe <file>] [--out <dir>]
 *                                          phone-companion-server-<version>-<target>.zip|tar.gz
 *   deno task release sums <dir>           SHA256SUMS for every archive in <dir>
 */

import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { type Entry, tarGz, zip } from "./archive.ts";
import { outputPath, targetOs, TARGETS } from "./compile.ts";
import { EXECUTABLE, VERSION } from "../src/version.ts";

const ROOT = join(import.meta.dirname!, "..");

/** The documents every archive carries beside the executable. */
export const DOCUMENTS = ["README.md", "LICENSE", "CHANGELOG.md", "THIRD_PARTY_NOTICES.md"];

/** The archive's file name for a target. */
export function archiveName(target: string, version = VERSION): string {
  const ext = targetOs(target) === "windows" ? "zip" : "tar.gz";
  return `${EXECUTABLE}-${version}-${target}.${ext}`;
}

/**
 * The CHANGELOG section of `version` (`## [x.y.z] - YYYY-MM-DD`), without its heading, or
 * undefined when there is none.
 */
export function changelogSection(changelog: string, version: string): string | undefined {
  const lines = changelog.split(/\r?\n/);
  const heading = new RegExp(`^## \\[${version.replace(/\./g, "\\.")}\\] - \\d{4}-\\d{2}-\\d{2}$`);
  const start = lines.findIndex((l) => heading.test(l));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n").trim();
}

/** Why `tag` may not be released, or undefined when it may. */
export function tagProblem(tag: string, changelog: string, version = VERSION): string | undefined {
  const name = tag.replace(/^refs\/tags\//, "");
  if (name !== `v${version}`) {
    return `the tag ${name} does not match the version in src/version.ts (v${version})`;
  }
  if (!changelogSection(changelog, version)) {
    return `CHANGELOG.md has no section '## [${version}] - YYYY-MM-DD'`;
  }
  return undefined;
}

/** Packs one target's archive; resolves with its path. */
export async function pack(
  target: string,
  exe: string,
  outDir: string,
  mtime: number,
): Promise<string> {
  const folder = `${EXECUTABLE}-${VERSION}-${target}`;
  const entries: Entry[] = [
    {
      path: `${folder}/${basename(outputPath(target))}`,
      data: await Deno.readFile(exe),
      mode: 0o755,
    },
  ];
  for (const doc of DOCUMENTS) {
    entries.push({
      path: `${folder}/${doc}`,
      data: await Deno.readFile(join(ROOT, doc)),
      mode: 0o644,
    });
  }
  const bytes = targetOs(target) === "windows" ? zip(entries, mtime) : tarGz(entries, mtime);
  await Deno.mkdir(outDir, { recursive: true });
  const path = join(outDir, archiveName(target));
  await Deno.writeFile(path, bytes);
  return path;
}

/** `SHA256SUMS` in the format `sha256sum -c` reads, for the archives in `dir`. */
export async function sums(dir: string): Promise<string> {
  const names = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && /\.(zip|tar\.gz)$/.test(e.name))
    .map((e) => e.name)
    .sort();
  const lines = [];
  for (const name of names) {
    const hash = createHash("sha256").update(await Deno.readFile(join(dir, name))).digest("hex");
    lines.push(`${hash}  ${name}`);
  }
  return lines.join("\n") + "\n";
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      target: { type: "string" },
      exe: { type: "string" },
      out: { type: "string", default: "dist" },
    },
  });
  const changelog = () => Deno.readTextFile(join(ROOT, "CHANGELOG.md"));
  switch (command) {
    case "version":
      console.log(VERSION);
      return 0;
    case "check-tag": {
      const problem = tagProblem(positionals[0] ?? "", await changelog());
      if (problem) console.error(`error: ${problem}`);
      else console.log(`v${VERSION} may be released`);
      return problem ? 1 : 0;
    }
    case "notes": {
      const section = changelogSection(await changelog(), VERSION);
      if (!section) {
        console.error(`error: CHANGELOG.md has no section for ${VERSION}`);
        return 1;
      }
      console.log(section);
      return 0;
    }
    case "pack": {
      const target = values.target ?? "";
      if (!(TARGETS as readonly string[]).includes(target)) {
        console.error(`error: --target must be one of ${TARGETS.join(", ")}`);
        return 2;
      }
      // Reproducible: the time of the commit when the workflow gives it.
      const epoch = Number(Deno.env.get("SOURCE_DATE_EPOCH") ?? Math.floor(Date.now() / 1000));
      const path = await pack(
        target,
        values.exe ?? join(ROOT, outputPath(target)),
        values.out,
        epoch,
      );
      console.log(path);
      return 0;
    }
    case "sums": {
      const dir = positionals[0] ?? "dist";
      const text = await sums(dir);
      await Deno.writeTextFile(join(dir, "SHA256SUMS"), text);
      console.log(text.trimEnd());
      return 0;
    }
    default:
      console.error(
        "usage: release.ts version | check-tag <tag> | notes | pack --target <t> | sums <dir>",
      );
      return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
