/**
 * The phone callback route (docs/channel-protocol.md §4.1): a phone's action URL,
 * `GET /phone/<extension>/<notification>?k=<key>&…` on `serverHttpPort`, handed to the monitor
 * as a {@link CallbackRequest} and answered with an empty `text/plain` body (a Snom shows an
 * XML body on its screen). Every answer is counted in the metrics, accepted or refused by
 * reason (docs/status-page.md §6).
 */

import type { CallbackRefusal, CallbackRequest, CallbackResult } from "../contract.ts";
import { CALLBACK_PATH } from "../monitor/mod.ts";

/** Where the route hands a callback: the monitor. */
export interface CallbackHandler {
  handleCallback(request: CallbackRequest): Promise<CallbackResult>;
}

/** What the route counts. */
export interface CallbackCounts {
  accepted(): void;
  refused(reason: CallbackRefusal): void;
}

/**
 * The route as the HTTP listener calls it: a request and the address it came from. Answers
 * undefined for a path that is not a callback's, which the listener serves otherwise.
 */
export type CallbackRoute = (
  request: Request,
  remoteAddress: string,
) => Promise<Response> | undefined;

/** Builds the route over the monitor's callback handler. */
export function callbackRoute(handle: CallbackHandler, counts?: CallbackCounts): CallbackRoute {
  return (request, remoteAddress) => {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(CALLBACK_PATH)) return undefined;
    return answer(handle, counts, url, remoteAddress);
  };
}

async function answer(
  handle: CallbackHandler,
  counts: CallbackCounts | undefined,
  url: URL,
  remoteAddress: string,
): Promise<Response> {
  const result = await handle.handleCallback({
    path: url.pathname,
    rawQuery: url.search.slice(1),
    remoteAddress,
  });
  if (result.status === 200) counts?.accepted();
  else counts?.refused(result.refused ?? "unknown_phone");
  return new Response(result.status === 200 ? "" : null, {
    status: result.status,
    headers: { "content-type": "text/plain" },
  });
}
