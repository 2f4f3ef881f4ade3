/**
 * Configuration: the file grammar, the key table, parsing into a frozen snapshot, discovery,
 * the generated default file, the reload loop, and the phone profiles a configuration names
 * (docs/configuration.md).
 */

export {
  addressAllowed,
  addressKey,
  addressOnSubnetOf,
  type Cidr,
  DEFAULT_ALLOWED_CLIENTS,
  type InterfaceAddress,
  mappedIPv4,
  parseCidr,
} from "./cidr.ts";
export { renderDefaultConfig } from "./default_file.ts";
export {
  CONFIG_NAMES,
  discoverConfig,
  type Discovered,
  homeFolder,
  isCompiled,
} from "./discover.ts";
export {
  ConfigError,
  type Finding,
  type FindingLevel,
  formatFinding,
  hasErrors,
} from "./findings.ts";
export { type Line, nearest, readLines } from "./lines.ts";
export { deepFreeze, parseConfig, type ParseResult } from "./parse.ts";
export {
  ConfigTooLarge,
  type ConfigWatch,
  CONFIRM_MS,
  MAX_CONFIG_BYTES,
  readConfigText,
  type ReadText,
  watchConfig,
  type WatchOptions,
} from "./reload.ts";
export {
  CALL_ID_COMMANDS,
  COMMAND_PLACEHOLDERS,
  commandSteps,
  EXTRA_PLACEHOLDERS,
  fillPlaceholders,
  LINE_PLACEHOLDERS,
  MONITOR_PLACEHOLDERS,
  type MonitorConfiguration,
  type NotificationName,
  NOTIFICATIONS,
  parseProfile,
  placeholdersIn,
  type Profile,
  PROFILE_COMMANDS,
  type ProfileCommand,
  type ProfileResult,
  type ProvisioningLines,
  type RequestStep,
  type SuccessRule,
} from "./profile.ts";
export { ADMIN_PASSWORD_MIN, KEY_NAMES, type KeyDef, KEYS, SECRET_KEYS } from "./schema.ts";
export {
  BUILTIN_PROFILES,
  DEMO_PROFILE,
  DEMO_YEALINK_PROFILE,
  findProfile,
  type LoadResult,
  loadSettings,
  type ReadFile,
  type Settings,
} from "./settings.ts";
export type {
  CloudPhoneConfig,
  ConfigSnapshot,
  DeviceInfoMode,
  LogFormatName,
  LogLevelName,
  PhoneConfig,
  ProviderAuth,
  ProviderConfig,
} from "./types.ts";
export { demoExtensions } from "./types.ts";
