/**
 * Where the configuration file is (docs/configuration.md §2): `--config` wins, else the
 * first existing `phone-companion.cfg` or `24uPhoneCompanionServer.cfg` in the executable's
 * folder (compiled) or the working folder (`deno run`).
 */

import { dirname, join, resolve } from "node:path";

/** File names looked for, in order; the second is the vendor's, for drop-in migration. */
export const CONFIG_NAMES = ["phone-companion.cfg", "24uPhoneCompanionServer.cfg"] as const;

/** The result of discovery: the path to use and whether a default file must be written. */
export interface Discovered {
  readonly path: string;
  readonly exists: boolean;
}

/** True when this process is a `deno compile` executable rather than `deno run`. */
export function isCompiled(execPath = Deno.execPath()): boolean {
  const name = execPath.split(/[\\/]/).pop() ?? "";
  return !/^deno(\.exe)?$/i.test(name);
}

/** The checkout this module runs from, under `deno run`. */
const CHECKOUT = resolve(import.meta.dirname ?? ".", "..", "..");

/**
 * The folder that holds config files when none is named: beside the executable; under
 * `deno run`, the working folder. `deno task` runs its command in the checkout and names the
 * folder it was started from in `INIT_CWD`: that folder counts then, and only then (a process
 * started elsewhere may have inherited a stale `INIT_CWD`).
 */
export function homeFolder(): string {
  if (isCompiled()) return dirname(Deno.execPath());
  const cwd = Deno.cwd();
  const init = Deno.env.get("INIT_CWD");
  return init && resolve(cwd) === CHECKOUT ? resolve(init) : cwd;
}

/**
 * Chooses the configuration file. With `explicit`, that path is used whether or not it
 * exists (a missing explicit file gets the default written there).
 */
export async function discoverConfig(
  explicit: string | undefined,
  folder: string,
  exists: (path: string) => Promise<boolean> = fileExists,
): Promise<Discovered> {
  if (explicit !== undefined) {
    const path = resolve(explicit);
    return { path, exists: await exists(path) };
  }
  for (const name of CONFIG_NAMES) {
    const path = join(folder, name);
    if (await exists(path)) return { path, exists: true };
  }
  return { path: join(folder, CONFIG_NAMES[0]), exists: false };
}

/**
 * True when `path` is a file, or when it cannot even be looked at (no permission): then it is
 * taken as there, so reading it reports the real problem instead of writing a default over it.
 */
async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound);
  }
}
