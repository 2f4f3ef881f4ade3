/**
 * macOS: a launchd daemon in /Library/LaunchDaemons (docs/install.md §5.2), so the server runs
 * from boot without anyone logged in. launchd sends SIGTERM to stop; `KeepAlive` with
 * `SuccessfulExit = false` restarts it after a crash, not after a clean stop.
 */

import { posix } from "node:path";
import { type Plan, SERVICE_NAME, type ServiceTarget } from "./plan.ts";

/** The job's label: no domain of ours to put in reverse-DNS form, so the plain name. */
export const LABEL = SERVICE_NAME;

/** Where the plist is written. */
export const PLIST_PATH = `/Library/LaunchDaemons/${LABEL}.plist`;

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** The plist's text. */
export function launchdPlist(t: ServiceTarget): string {
  const folder = posix.dirname(t.config);
  const args = [t.program, ...t.programArgs, "--config", t.config];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    "<!-- Written by `phone-companion-server service install`; removed by `service uninstall`. -->",
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  <string>${xml(LABEL)}</string>`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...args.map((a) => `    <string>${xml(a)}</string>`),
    "  </array>",
    "  <key>WorkingDirectory</key>",
    `  <string>${xml(folder)}</string>`,
    ...(t.user ? ["  <key>UserName</key>", `  <string>${xml(t.user)}</string>`] : []),
    "  <key>RunAtLoad</key>",
    "  <true/>",
    "  <key>KeepAlive</key>",
    "  <dict>",
    "    <key>SuccessfulExit</key>",
    "    <false/>",
    "  </dict>",
    // The log file has every line; this keeps what is said before it is open (a bad file).
    "  <key>StandardErrorPath</key>",
    `  <string>${xml(posix.join(folder, `${SERVICE_NAME}.stderr.log`))}</string>`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

/** install | uninstall | status with launchctl. */
export function launchdPlan(action: "install" | "uninstall" | "status", t: ServiceTarget): Plan {
  const job = `system/${LABEL}`;
  switch (action) {
    case "install":
      return {
        notes: [],
        steps: [
          {
            kind: "write",
            path: PLIST_PATH,
            content: launchdPlist(t),
            encoding: "utf-8",
            mode: 0o644,
          },
          // A job loaded before (an earlier install) must go before it can be loaded again.
          { kind: "run", argv: ["launchctl", "bootout", job], mayFail: true },
          { kind: "run", argv: ["launchctl", "enable", job] },
          { kind: "run", argv: ["launchctl", "bootstrap", "system", PLIST_PATH] },
        ],
      };
    case "uninstall":
      return {
        notes: [],
        steps: [
          { kind: "run", argv: ["launchctl", "bootout", job], mayFail: true },
          { kind: "remove", path: PLIST_PATH },
        ],
      };
    case "status":
      return { notes: [], steps: [{ kind: "run", argv: ["launchctl", "print", job] }] };
  }
}
