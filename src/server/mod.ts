/**
 * The server: its components built and wired (`Server`), and the command-line parts `main.ts`
 * uses (banner, line client, service and provisioning commands, start-up pause).
 */

export {
  BUILTIN_PROFILES,
  DEMO_PROFILE,
  findProfile,
  type LoadResult,
  loadSettings,
} from "../config/mod.ts";
export { logFindings } from "../log/mod.ts";
export { bannerText, lanAddresses, systemInterfaces } from "./banner.ts";
export { runClient } from "./client.ts";
export { consoleFacts, shouldWaitForEnter, waitForEnter } from "./console.ts";
export { watchParent } from "./parent.ts";
export { serviceCommand } from "./service_command.ts";
export { provisioningCommand } from "./provisioning_command.ts";
export { CALLBACK_KEY_FILE, readOrCreateCallbackKey } from "./callback_key.ts";
export type { Component, Settings } from "../contract.ts";

export { type ReloadState, Server, type ServerOptions } from "./server.ts";
