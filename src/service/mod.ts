/**
 * Service install (docs/install.md §5): registers the server to start with the computer, from
 * the executable's real path and its configuration, on the platform's own service manager.
 * A plan is generated first, printed, and then carried out step by step through a `Runner`,
 * the one boundary to the system (tests pass a fake).
 */

export { LABEL, launchdPlist, PLIST_PATH } from "./launchd.ts";
export { systemdUnit, systemdWord, UNIT_PATH } from "./systemd.ts";
export { taskXml, windowsArg } from "./windows_task.ts";
export {
  type Plan,
  SERVICE_NAME,
  type ServiceOs,
  type ServiceTarget,
  type Step,
  TASK_NAME,
} from "./plan.ts";

export {
  carryOut,
  describe,
  isServiceOs,
  planService,
  type Runner,
  type RunResult,
  shellLine,
  systemRunner,
} from "./run.ts";
