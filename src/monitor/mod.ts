/**
 * Monitoring: action-URL callbacks from phones → call state per device → call events for the
 * channels that monitor the device (docs/channel-protocol.md §4).
 */

export type {
  CallbackRequest,
  CallbackResult,
  CallEvent,
  CallEventBody,
  CallInfo,
  CallState,
} from "../contract.ts";
export {
  type DeviceStatus,
  type EventCounts,
  Monitor,
  type MonitorOptions,
  type MonitorStatus,
  type PhonePort,
} from "./monitor.ts";
export {
  answeredElsewhere,
  comparableNumber,
  DeviceCalls,
  type DeviceCallsOptions,
  type PhoneReport,
  TRANSFER_WINDOW_MS,
  UNANSWERED_MS,
} from "./calls.ts";
export {
  CALLBACK_PARAMS,
  CALLBACK_PATH,
  callbackBase,
  callbackUrls,
  parseCallbackPath,
  provisionedSecret,
  provisioningLines,
} from "./callback_url.ts";
export { type Provisioning, provisioningFor } from "./provisioning.ts";
export {
  decodeLenient,
  type Lookup,
  parseParty,
  parseQuery,
  type Party,
  SourceCheck,
  systemLookup,
} from "./_callback_check.ts";
export { addressKey } from "../config/mod.ts";
