/**
 * Windows: a Task Scheduler task that starts the server at boot as SYSTEM (docs/install.md
 * §5.3). Registered from XML because only XML can lift the default three-day run limit
 * (`ExecutionTimeLimit`), restart after a failure and set a normal priority. The task passes
 * `--no-pause`: its console has no one to press Enter.
 */

import { win32 } from "node:path";
import { type Plan, SERVICE_NAME, type ServiceTarget, TASK_NAME } from "./plan.ts";

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * One argument as the C runtime's command-line parser reads it back: quoted when it holds
 * blanks or quotes, with backslashes doubled only where they precede a quote.
 */
export function windowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      slashes++;
      continue;
    }
    out += "\\".repeat(ch === '"' ? slashes * 2 + 1 : slashes) + ch;
    slashes = 0;
  }
  return out + "\\".repeat(slashes * 2) + '"';
}

/** The task's XML. */
export function taskXml(t: ServiceTarget): string {
  const args = [...t.programArgs, "--config", t.config, "--no-pause"].map(windowsArg).join(" ");
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    "  <RegistrationInfo>",
    "    <Description>Phone Companion Server: written by `phone-companion-server service install`.</Description>",
    "  </RegistrationInfo>",
    "  <Triggers>",
    "    <BootTrigger>",
    "      <Enabled>true</Enabled>",
    "    </BootTrigger>",
    "  </Triggers>",
    "  <Principals>",
    '    <Principal id="Author">',
    "      <UserId>S-1-5-18</UserId>",
    "      <RunLevel>HighestAvailable</RunLevel>",
    "    </Principal>",
    "  </Principals>",
    "  <Settings>",
    "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>",
    "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>",
    "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>",
    "    <AllowHardTerminate>true</AllowHardTerminate>",
    "    <StartWhenAvailable>true</StartWhenAvailable>",
    "    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>",
    "    <IdleSettings>",
    "      <StopOnIdleEnd>false</StopOnIdleEnd>",
    "      <RestartOnIdle>false</RestartOnIdle>",
    "    </IdleSettings>",
    "    <AllowStartOnDemand>true</AllowStartOnDemand>",
    "    <Enabled>true</Enabled>",
    "    <Hidden>false</Hidden>",
    "    <RunOnlyIfIdle>false</RunOnlyIfIdle>",
    "    <WakeToRun>false</WakeToRun>",
    "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>",
    "    <Priority>5</Priority>",
    "    <RestartOnFailure>",
    "      <Interval>PT1M</Interval>",
    "      <Count>999</Count>",
    "    </RestartOnFailure>",
    "  </Settings>",
    '  <Actions Context="Author">',
    "    <Exec>",
    `      <Command>${xml(t.program)}</Command>`,
    `      <Arguments>${xml(args)}</Arguments>`,
    `      <WorkingDirectory>${xml(win32.dirname(t.config))}</WorkingDirectory>`,
    "    </Exec>",
    "  </Actions>",
    "</Task>",
    "",
  ].join("\r\n");
}

/** install | uninstall | status with schtasks. */
export function windowsPlan(action: "install" | "uninstall" | "status", t: ServiceTarget): Plan {
  const xmlPath = win32.join(win32.dirname(t.config), `${SERVICE_NAME}.task.xml`);
  const notes = t.user ? [`--user is not used on Windows: the task runs as SYSTEM`] : [];
  switch (action) {
    case "install":
      return {
        notes,
        steps: [
          { kind: "write", path: xmlPath, content: taskXml(t), encoding: "utf-16le" },
          { kind: "run", argv: ["schtasks", "/Create", "/TN", TASK_NAME, "/XML", xmlPath, "/F"] },
          { kind: "remove", path: xmlPath },
          { kind: "run", argv: ["schtasks", "/Run", "/TN", TASK_NAME] },
        ],
      };
    case "uninstall":
      return {
        notes,
        steps: [
          { kind: "run", argv: ["schtasks", "/End", "/TN", TASK_NAME], mayFail: true },
          { kind: "run", argv: ["schtasks", "/Delete", "/TN", TASK_NAME, "/F"] },
        ],
      };
    case "status":
      return {
        notes,
        steps: [{
          kind: "run",
          argv: ["schtasks", "/Query", "/TN", TASK_NAME, "/V", "/FO", "LIST"],
        }],
      };
  }
}
