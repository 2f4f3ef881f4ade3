/**
 * Provider: the RawCommand pass-through to RingCentral, `alliancephones` (RingCentral's API on
 * its own host) and custom REST providers (docs/channel-protocol.md §5; docs/provider.md §3, §4,
 * §11). All channels share one account per configuration: one OAuth session with
 * single-flight, proactive refresh; one rate-limit gate that holds a group's requests back
 * after a 429; one HTTP client that trusts the configured extra CAs and never an invalid
 * certificate.
 *
 * Wiring: `const provider = new ProviderService()`, add it to the server's components (it
 * follows `apply(settings)` and `close()`), let the dispatcher's `rawCommand(line, max)` call
 * `provider.rawCommand(line, max)`, and let the status page show `provider.status()`.
 */

export { ProviderError, RATE_LIMITED } from "./_errors.ts";
export type { AccountStatus, RetryPolicy } from "./_account.ts";
export { DEFAULT_RETRY } from "./_account.ts";
export type { CloudPhones } from "./_cloud.ts";
export { DEFAULT_TIMING } from "./_events.ts";
export type { SubscriptionState, SubscriptionStatus, SubscriptionTiming } from "./_events.ts";
export type { RateGateStatus, RateGroupStatus } from "./_rate_gate.ts";
export type { OAuthSessionState, OAuthSessionStatus } from "./_session.ts";
export type { FetchLike, HttpClientFactory } from "./_transport.ts";

export {
  type CloudEventsStatus,
  ProviderService,
  type ProviderServiceOptions,
  type ProviderStatus,
} from "./service.ts";
