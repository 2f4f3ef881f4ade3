/**
 * The provisioning lines of phones whose action URLs are loaded by provisioning
 * (docs/phone-profiles.md §2.4, docs/yealink.md §5): shared by the status page (through the
 * monitor) and the `provisioning <extension>` command.
 */

import type { PhonePort } from "./_phone_setup.ts";
import {
  callbackBase,
  callbackUrls,
  provisionedSecret,
  provisioningLines,
} from "./callback_url.ts";
import { isIP } from "node:net";
import { errorText } from "../text.ts";

/** The lines to load into a phone, or why there are none. */
export type Provisioning =
  | { readonly lines: readonly string[] }
  | { readonly error: string; readonly notNeeded?: true };

/**
 * Works out one phone's provisioning lines with its stable callback key: what the status page
 * shows and `provisioning <extension>` prints (docs/yealink.md §5). Never rejects.
 */
export async function provisioningFor(
  phones: PhonePort,
  server: { readonly callbackUrl: string; readonly httpPort: number },
  callbackKey: string,
  extension: string,
): Promise<Provisioning> {
  if (!phones.has(extension)) return { error: `${extension} is not a configured phone` };
  const setup = phones.monitorSetup(extension);
  if (!setup?.provisioning) {
    return {
      error: `phone ${extension}'s profile has no [monitorProvisioning]: ` +
        "the server writes its action URLs itself at MonitorStart",
      notNeeded: true,
    };
  }
  // With serverCallbackUrl set, the lines can be made before the phone is plugged in.
  const configured = server.callbackUrl === "auto" ? undefined : new URL(server.callbackUrl);
  let local: string;
  try {
    local = configured && isIP(configured.hostname.replace(/^\[|\]$/g, ""))
      ? configured.hostname.replace(/^\[|\]$/g, "")
      : await phones.localAddressFor(extension);
  } catch (e) {
    if (!configured) {
      return {
        error: `cannot reach phone ${extension} to learn this server's address on its route: ${
          errorText(e)
        }; set serverCallbackUrl to prepare its lines while it is off`,
      };
    }
    local = configured.hostname;
  }
  const base = callbackBase(server.callbackUrl, local, server.httpPort);
  const urls = callbackUrls(base, extension, provisionedSecret(callbackKey, extension), setup);
  return { lines: provisioningLines(setup, urls, local, extension) };
}
