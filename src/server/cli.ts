/**
 * Command-line flags (docs/configuration.md §4), parsed with `node:util` parseArgs. Pure, so
 * tests can check every answer; `main.ts` turns the result into output and an exit code.
 */

import { parseArgs } from "node:util";
import { PRODUCT, VERSION } from "../version.ts";

/** What the command line asks for. */
export type CliRequest =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "check"; readonly config?: string }
  | { readonly kind: "run"; readonly config?: string }
  | { readonly kind: "bad"; readonly message: string };

/** The usage text printed by `--help` and after a bad flag. */
export const USAGE = `Usage: phone-companion [--config <path>] [--check-config] [--version] [--help]

  --config <path>   configuration file (default: phone-companion.cfg or
                    24uPhoneCompanionServer.cfg beside the executable, or in the
                    working folder with deno run; written with defaults if missing)
  --check-config    check the configuration and the profiles it names, print every
                    finding with its line, exit 0 when there is no error, 1 otherwise
  --version         print the version and exit
  --help            print this help and exit`;

/** Parses the flags; never throws. */
export function parseCli(args: readonly string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string", short: "c" },
        "check-config": { type: "boolean" },
        version: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return { kind: "bad", message };
  }
  const v = { ...parsed.values };
  if (v.help) return { kind: "help" };
  if (v.version) return { kind: "version" };
  if (v.config === "") return { kind: "bad", message: "Option '--config <path>' needs a path" };
  if (v["check-config"]) return { kind: "check", config: v.config };
  return { kind: "run", config: v.config };
}

/** `--version` output: version, Deno version, target. */
export function versionText(): string {
  return `${PRODUCT} ${VERSION} (Deno ${Deno.version.deno}, ${Deno.build.target})`;
}
