/**
 * Settings for phone tests, built the way the server builds them: configuration text through
 * `loadSettings`, with the built-in profiles and, when given, extra profile files.
 */

import { join } from "node:path";
import { loadSettings, type Settings } from "../../src/server/mod.ts";

/** Where the test configuration pretends to live; profiles given here are found beside it. */
export const TEST_CONFIG = "/nonexistent/pcs-test/phone-companion.cfg";

/**
 * Parses configuration text into settings, or throws with every finding. `profiles` maps a
 * file name to profile text found beside the configuration file. Reachability checks are off
 * unless the text sets `phoneCheckSeconds`, so a test sees only the requests it caused.
 */
export async function settingsFrom(
  text: string,
  profiles: Readonly<Record<string, string>> = {},
): Promise<Settings> {
  const beside = new Map(
    Object.entries(profiles).map(([n, t]) => [join("/nonexistent/pcs-test", n), t]),
  );
  const read = async (path: string) => {
    if (beside.has(path)) return beside.get(path);
    try {
      return await Deno.readTextFile(path);
    } catch {
      return undefined;
    }
  };
  const checks = /^\s*phoneCheckSeconds\s*=/im.test(text) ? "" : "\nphoneCheckSeconds = 0\n";
  const result = await loadSettings(text + checks, TEST_CONFIG, read);
  if (!result.settings) {
    throw new Error(`test settings are invalid: ${JSON.stringify(result.findings)}`);
  }
  return result.settings;
}

/** The `phone=` line of a simulated phone. */
export function phoneLine(
  extension: string,
  port: number,
  profile = "snom.cfg",
  login?: { username: string; password: string },
): string {
  const credentials = login ? ` ${login.username} ${login.password}` : "";
  return `phone=${extension}@127.0.0.1:${port} ${profile}${credentials}`;
}
