/**
 * Linux: a systemd system unit (docs/install.md §5.1). systemd sends SIGTERM to stop, which
 * the server handles with a clean shutdown; `Restart=on-failure` brings it back after a
 * crash, not after a clean stop.
 */

import { posix } from "node:path";
import { type Plan, SERVICE_NAME, type ServiceTarget } from "./plan.ts";

/** Where the unit is written. */
export const UNIT_PATH = `/etc/systemd/system/${SERVICE_NAME}.service`;

/**
 * One word of `ExecStart=`: as it is when plain, else in double quotes with `\` and `"`
 * escaped, `%` doubled (a specifier otherwise) and `$` doubled (a variable otherwise).
 */
export function systemdWord(word: string): string {
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(word)) return word;
  const quoted = word.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return `"${quoted.replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
}

/** The unit file's text. */
export function systemdUnit(t: ServiceTarget): string {
  const exec = [t.program, ...t.programArgs, "--config", t.config].map(systemdWord).join(" ");
  return [
    "# Written by `phone-companion-server service install`; removed by `service uninstall`.",
    "[Unit]",
    "Description=Phone Companion Server (FileMaker plug-in channel and desk phones)",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${exec}`,
    `WorkingDirectory=${posix.dirname(t.config).replace(/%/g, "%%")}`,
    ...(t.user ? [`User=${t.user}`] : []),
    "Restart=on-failure",
    "RestartSec=5",
    "TimeoutStopSec=10",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** install | uninstall | status with systemctl. */
export function systemdPlan(action: "install" | "uninstall" | "status", t: ServiceTarget): Plan {
  const unit = `${SERVICE_NAME}.service`;
  switch (action) {
    case "install":
      return {
        notes: [],
        steps: [
          {
            kind: "write",
            path: UNIT_PATH,
            content: systemdUnit(t),
            encoding: "utf-8",
            mode: 0o644,
          },
          { kind: "run", argv: ["systemctl", "daemon-reload"] },
          { kind: "run", argv: ["systemctl", "enable", "--now", unit] },
        ],
      };
    case "uninstall":
      return {
        notes: [],
        steps: [
          { kind: "run", argv: ["systemctl", "disable", "--now", unit], mayFail: true },
          { kind: "remove", path: UNIT_PATH },
          { kind: "run", argv: ["systemctl", "daemon-reload"] },
        ],
      };
    case "status":
      return {
        notes: [],
        steps: [{ kind: "run", argv: ["systemctl", "status", "--no-pager", unit] }],
      };
  }
}
