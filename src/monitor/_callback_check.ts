/**
 * Checking a phone's callback before it may change anything (docs/channel-protocol.md §4.1):
 * a known phone and notification, a query of sane size, the phone's key, and a source address
 * that is the phone's. Also reads the callback's query into a {@link PhoneReport}, and keeps
 * per phone what the status page shows about callbacks.
 */

import type { NotificationName } from "../config/mod.ts";
import type { CallbackRefusal, CallbackRequest } from "../contract.ts";
import { log, type RepeatedWarning } from "../log/mod.ts";
import { CALLBACK_PARAMS, parseCallbackPath } from "./callback_url.ts";
import type { PhoneReport } from "./calls.ts";
import { parseParty } from "./party.ts";
import { parseQuery } from "./query.ts";

/** The longest query taken; a phone's substituted variables are far shorter. */
const MAX_QUERY_CHARS = 16_384;

/** What the status page shows about one phone's callbacks. */
export interface CallbackRecord {
  lastCallbackAt?: number;
  refused: number;
  lastRefusal?: string;
}

/** A callback for a known phone, its query read; key and source not yet checked. */
export interface ReadCallback {
  readonly extension: string;
  readonly notification: NotificationName;
  readonly params: ReadonlyMap<string, string>;
  /** The key it presented, if any. */
  readonly key?: string;
}

const logger = () => log("monitor");

/**
 * Reads a callback: 404 when it is not a callback path or names an unknown phone, 400 when
 * its query is too long; else what it says.
 */
export function readCallback(
  request: CallbackRequest,
  knows: (extension: string) => boolean,
): ReadCallback | { readonly status: 400 | 404; readonly refused: CallbackRefusal } {
  const target = parseCallbackPath(request.path);
  if (!target || !knows(target.extension)) return { status: 404, refused: "unknown_phone" };
  if (request.rawQuery.length > MAX_QUERY_CHARS) {
    logger().warning("refused a callback for phone {device} from {address}: query too long", {
      device: target.extension,
      address: request.remoteAddress,
    });
    return { status: 400, refused: "too_long" };
  }
  const params = parseQuery(request.rawQuery);
  return { ...target, params, key: params.get(CALLBACK_PARAMS.secret) };
}

/**
 * Counts a refused callback and logs it; repeats for the same phone and reason are summarised
 * (anyone who can reach the port can send forged callbacks).
 */
export function refuse(
  warnings: RepeatedWarning,
  record: CallbackRecord | undefined,
  extension: string,
  address: string,
  why: string,
): void {
  if (record) {
    record.refused++;
    record.lastRefusal = `${why} from ${address}`;
  }
  warnings.note(
    `${extension} ${why}`,
    "refused a callback for phone {device} from {address}: {why}",
    { device: extension, address, why },
  );
}

/**
 * What a checked callback reports. A variable the phone left unsubstituted (its placeholder
 * came back as written) reads as empty.
 */
export function phoneReport(
  notification: NotificationName,
  params: ReadonlyMap<string, string>,
  unsubstituted: ReadonlyMap<string, string>,
): PhoneReport {
  const value = (name: string) => {
    const v = params.get(name) ?? "";
    return v === unsubstituted.get(name) ? "" : v;
  };
  const party = parseParty(value(CALLBACK_PARAMS.remote));
  const shown = value(CALLBACK_PARAMS.displayName).trim().replace(/^"(.*)"$/, "$1");
  const ongoing = value(CALLBACK_PARAMS.ongoing).trim();
  return {
    notification,
    callId: value(CALLBACK_PARAMS.callId).trim(),
    remote: party.user,
    displayName: shown !== "" ? shown : party.displayName,
    ongoing: /^\d{1,6}$/.test(ongoing) ? Number(ongoing) : undefined,
  };
}
