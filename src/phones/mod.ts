/**
 * Phones: profiles (how to drive a phone model), the phone registry with one serial queue
 * per phone, and the HTTP client with Basic and Digest auth that drives phones over their
 * web interface (docs/snom.md §2–§4).
 *
 * Wiring: `new PhoneRegistry()` is a server component (`apply(settings)`, `close()`); the
 * dispatcher calls `execute`, the monitor `localAddressFor`, `monitorSetup`,
 * `configureMonitoring`, `hostOf` and `addressOf`, and the status page `status`. Every
 * `phoneCheckSeconds` the registry checks that each phone is there (docs/status-page.md §4).
 */

export {
  type AuthMode,
  type Challenge,
  chooseChallenge,
  digestAuthorization,
  type DigestRequest,
  parseChallenges,
} from "./auth.ts";
// The transport the registry's options take: the one phone client of src/http/.
export type { PhoneTransport } from "../http/mod.ts";
export type { CommandRecord, PhoneStatus } from "./phone.ts";
export type { Reachability, ReachStatus } from "./reach.ts";
export {
  AUTH_COOLDOWN_MS,
  CHECK_CONCURRENCY,
  type DemoPhone,
  type DemoPhones,
  LOCK_COOLDOWN_MS,
  PhoneRegistry,
  type PhoneRegistryOptions,
  UnknownPhoneError,
} from "./registry.ts";
export {
  encodeSettingValue,
  type ExpandedStep,
  expandStep,
  settingsQuery,
  type TemplateValues,
} from "./template.ts";
