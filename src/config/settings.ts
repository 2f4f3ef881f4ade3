/**
 * Settings: the configuration snapshot together with the phone profiles it names, loaded and
 * validated as one unit. A reload swaps settings only when the file and every profile are
 * valid (docs/architecture.md §9.5); components receive them through `apply(settings)`.
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import { type Finding, hasErrors } from "./findings.ts";
import { deepFreeze, parseConfig } from "./parse.ts";
import { parseProfile, type Profile } from "./profile.ts";
import type { ConfigSnapshot } from "./types.ts";
import { errorText } from "../text.ts";

/** The profile demo phones are driven with. */
export const DEMO_PROFILE = "snom.cfg";

/** The profile of the demo phones that are Yealinks (`demoYealinkPhones`). */
export const DEMO_YEALINK_PROFILE = "yealink.cfg";

/** The folder of profiles built into the executable (`profiles/` in the repository). */
export const BUILTIN_PROFILES = resolve(import.meta.dirname ?? ".", "..", "..", "profiles");

/** A valid configuration with its profiles, keyed by the name the `phone=` lines use. */
export interface Settings {
  readonly config: ConfigSnapshot;
  readonly profiles: ReadonlyMap<string, Profile>;
}

/** Settings when valid, and every finding of the file and its profiles. */
export interface LoadResult {
  readonly settings?: Settings;
  readonly findings: readonly Finding[];
  /** The file sets nothing at all; see `ParseResult.empty`. */
  readonly empty: boolean;
}

/** Reads a text file, or returns undefined when it does not exist. */
export type ReadFile = (path: string) => Promise<string | undefined>;

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.IsADirectory) {
      return undefined;
    }
    throw e;
  }
}

/**
 * Finds a profile: beside the configuration file first, then among the built-in profiles
 * (docs/configuration.md §1). Returns the path it was read from and its text.
 */
export async function findProfile(
  name: string,
  configDir: string,
  read: ReadFile = readIfExists,
): Promise<{ path: string; text: string } | undefined> {
  const candidates = isAbsolute(name)
    ? [name]
    : [resolve(configDir, name), join(BUILTIN_PROFILES, name)];
  for (const path of candidates) {
    const text = await read(path);
    if (text !== undefined) return { path, text };
  }
  return undefined;
}

/** Parses configuration text (from `file`) and loads every profile it names. */
export async function loadSettings(
  text: string,
  file: string,
  read: ReadFile = readIfExists,
): Promise<LoadResult> {
  const parsed = parseConfig(text, file);
  const findings: Finding[] = [...parsed.findings];
  const config = parsed.snapshot;
  const empty = parsed.empty;

  // Every profile the file names is checked even when the file has errors, so one
  // `--check-config` run shows everything there is to fix.
  const wanted = new Map(parsed.profiles);
  if (config && config.demoPhones > 0 && !wanted.has(DEMO_PROFILE)) wanted.set(DEMO_PROFILE, 0);
  if (config && config.demoYealinkPhones.length > 0 && !wanted.has(DEMO_YEALINK_PROFILE)) {
    wanted.set(DEMO_YEALINK_PROFILE, 0);
  }
  const configDir = config?.dir ?? dirname(file);

  const profiles = new Map<string, Profile>();
  for (const [name, line] of wanted) {
    let found: { path: string; text: string } | undefined;
    try {
      found = await findProfile(name, configDir, read);
    } catch (e) {
      findings.push({
        level: "error",
        file,
        line,
        key: "phone",
        message: `cannot read profile '${name}': ${errorText(e)}`,
      });
      continue;
    }
    if (!found) {
      findings.push({
        level: "error",
        file,
        line: line || undefined,
        key: "phone",
        message: `profile '${name}' not found beside the configuration file nor built in`,
      });
      continue;
    }
    const result = parseProfile(found.text, found.path, name);
    findings.push(...result.findings);
    if (result.profile) profiles.set(name, result.profile);
  }
  if (!config || hasErrors(findings)) return { findings, empty };
  return { settings: deepFreeze({ config, profiles }), findings, empty };
}
