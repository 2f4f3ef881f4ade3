/**
 * Phones: profiles (how to drive a phone model), and, as they land, the phone registry, the
 * HTTP client with Basic and Digest auth and the per-phone serial queue.
 */

export {
  type MonitorConfiguration,
  type NotificationName,
  NOTIFICATIONS,
  parseProfile,
  type Profile,
  PROFILE_COMMANDS,
  type ProfileCommand,
  type ProfileResult,
  type RequestStep,
  type SuccessRule,
} from "./profile.ts";
