/**
 * The action URLs the server writes into a phone, and how a callback proves it came from
 * there (docs/channel-protocol.md §4.1):
 *
 * `<base>/phone/<extension>/<notification>?k=<secret>&<profile variables>`
 *
 * `<base>` is `serverCallbackUrl`, or with `auto` `http://<local address that routes to the
 * phone>:<serverHttpPort>`. The secret is per phone and per server run, 192 random bits in
 * base64url, so it needs no escaping anywhere.
 */

import { fillPlaceholders, type NotificationName, NOTIFICATIONS } from "../config/mod.ts";
import type { MonitorSetup } from "../contract.ts";
import { hostPort, percentEncode } from "../net.ts";
import { derivedSecret } from "../secret.ts";

/** Where every callback path starts on `serverHttpPort`. */
export const CALLBACK_PATH = "/phone/";

/**
 * Query parameters the monitor reads. A profile's `variables` must use these names (the
 * built-in snom.cfg does): `cid=$call-id&remote=$remote&dr=$display_remote&n=$nr_ongoing_calls`
 * `&cr=$cancel_reason`. `dr`, `n` and `cr` are optional; without `n` a rejected call ends only
 * by timeout, without `cr` a call answered elsewhere reads as missed (docs/snom.md §5.6).
 */
export const CALLBACK_PARAMS = {
  secret: "k",
  callId: "cid",
  remote: "remote",
  displayName: "dr",
  ongoing: "n",
  cancelReason: "cr",
} as const;

/**
 * The base URL phones call back to: the configured one, or (for `auto`) the server's address
 * on the phone's network with the callback port; IPv6 addresses are bracketed.
 */
export function callbackBase(callbackUrl: string, localAddress: string, httpPort: number): string {
  if (callbackUrl !== "auto") return callbackUrl.replace(/\/+$/, "");
  return `http://${hostPort(localAddress, httpPort)}`;
}

/** One URL per notification the profile maps to a phone setting. Not yet percent-encoded. */
export function callbackUrls(
  base: string,
  extension: string,
  secret: string,
  setup: MonitorSetup,
): Map<NotificationName, string> {
  const urls = new Map<NotificationName, string>();
  const vars = setup.variables.replace(/^[?&]+/, "");
  for (const notification of setup.notifications.keys()) {
    urls.set(
      notification,
      `${base}${CALLBACK_PATH}${percentEncode(extension)}/${notification}?` +
        `${CALLBACK_PARAMS.secret}=${secret}` +
        (vars === "" ? "" : `&${vars}`),
    );
  }
  return urls;
}

/** The extension and notification a callback path names, or undefined when it names none. */
export function parseCallbackPath(
  path: string,
): { extension: string; notification: NotificationName } | undefined {
  const m = /(?:^|\/)phone\/([^/]+)\/([^/?]+)\/?$/.exec(path);
  if (!m) return undefined;
  let extension: string;
  try {
    extension = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  const notification = NOTIFICATIONS.find((n) => n === m[2]);
  return notification ? { extension, notification } : undefined;
}

/**
 * For each query parameter, the `$variable` the profile puts there. A phone that has no value
 * for a variable in some event may leave the name itself in the URL; such a value means
 * "none".
 */
export function placeholders(variables: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const piece of variables.split("&")) {
    const eq = piece.indexOf("=");
    if (eq > 0 && piece.slice(eq + 1).startsWith("$")) {
      out.set(piece.slice(0, eq), piece.slice(eq + 1));
    }
  }
  return out;
}

/** The callback key of a phone whose URLs are provisioned: the same on every start. */
export function provisionedSecret(callbackKey: string, extension: string): string {
  return derivedSecret(callbackKey, `callback ${extension}`);
}

/**
 * The provisioning lines of one phone (docs/phone-profiles.md §2.4): the profile's `line` per
 * notification with the URL as it is, then its `extra` lines.
 */
export function provisioningLines(
  setup: MonitorSetup,
  urls: ReadonlyMap<NotificationName, string>,
  serverAddress: string,
  extension: string,
): string[] {
  const lines = setup.provisioning;
  if (!lines) return [];
  const fill = (text: string, values: Record<string, string>) =>
    fillPlaceholders(text, (name) => values[name]);
  const out: string[] = [];
  for (const [notification, setting] of setup.notifications) {
    const url = urls.get(notification);
    if (url !== undefined) out.push(fill(lines.line, { setting, url }));
  }
  for (const extra of lines.extra) out.push(fill(extra, { serverAddress, extension }));
  return out;
}
