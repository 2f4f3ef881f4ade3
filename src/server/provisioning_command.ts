/**
 * `provisioning <extension>` (docs/yealink.md §5): prints the lines an administrator loads
 * into a phone whose action URLs are provisioned, `key = value`, with the phone's callback
 * URLs and stable callback key. Local only: it reads the configuration file and the
 * callback key next to it, and asks the phone's route for the server's address.
 */

import type { Settings } from "../contract.ts";
import { provisioningFor } from "../monitor/mod.ts";
import { PhoneRegistry, type PhoneTransport } from "../phones/mod.ts";
import { readOrCreateCallbackKey } from "./callback_key.ts";
import { errorText } from "../text.ts";

/** Prints the lines (or why there are none, on `note`); the exit code. */
export async function provisioningCommand(
  settings: Settings,
  extension: string,
  print: (line: string) => void,
  note: (line: string) => void,
  transport?: PhoneTransport,
): Promise<number> {
  const registry = new PhoneRegistry({ transport });
  try {
    // A one-shot command: no reachability checks, so nothing is sent to a phone that does not
    // need asking.
    await registry.apply({ ...settings, config: { ...settings.config, phoneCheckSeconds: 0 } });
    const key = readOrCreateCallbackKey(settings.config.server.callbackKeyFile);
    const result = await provisioningFor(registry, settings.config.server, key, extension);
    if ("error" in result) {
      note(`error: ${result.error}`);
      return 1;
    }
    for (const line of result.lines) print(line);
    return 0;
  } catch (e) {
    note(`error: ${errorText(e)}`);
    return 1;
  } finally {
    await registry.close();
  }
}
