/**
 * Carrying out a service plan (docs/install.md §5): the plan for one action on one platform,
 * how it is printed, and the `Runner` that performs its steps on the system.
 */

import { launchdPlan } from "./launchd.ts";
import type { Plan, ServiceOs, ServiceTarget, Step } from "./plan.ts";
import { systemdPlan } from "./systemd.ts";
import { windowsPlan } from "./windows_task.ts";
import { errorText } from "../text.ts";

/** What a step run through the runner answered. */
export interface RunResult {
  readonly code: number;
  readonly output: string;
}

/** The system as the service commands see it. */
export interface Runner {
  run(argv: readonly string[]): Promise<RunResult>;
  write(path: string, data: Uint8Array, mode?: number): Promise<void>;
  remove(path: string): Promise<void>;
}

/** The plan for one action on one platform. */
export function planService(
  action: "install" | "uninstall" | "status",
  target: ServiceTarget,
): Plan {
  switch (target.os) {
    case "linux":
      return systemdPlan(action, target);
    case "darwin":
      return launchdPlan(action, target);
    case "windows":
      return windowsPlan(action, target);
  }
}

/** True for the platforms `planService` knows. */
export function isServiceOs(os: string): os is ServiceOs {
  return os === "linux" || os === "darwin" || os === "windows";
}

/** A command line as a person would type it (for printing only). */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./\\-]+$/.test(a) ? a : `"${a.replace(/"/g, '\\"')}"`))
    .join(" ");
}

/** The step as printed before it runs, or alone with `--dry-run`. */
export function describe(step: Step): string {
  switch (step.kind) {
    case "write":
      return `write ${step.path}:\n${step.content.replace(/\r\n/g, "\n").trimEnd()}\n`;
    case "remove":
      return `remove ${step.path}`;
    case "run":
      return `run ${shellLine(step.argv)}`;
  }
}

function encode(step: Extract<Step, { kind: "write" }>): Uint8Array {
  if (step.encoding === "utf-8") return new TextEncoder().encode(step.content);
  const out = new Uint8Array(2 + step.content.length * 2);
  out[0] = 0xff;
  out[1] = 0xfe;
  for (let i = 0; i < step.content.length; i++) {
    const c = step.content.charCodeAt(i);
    out[2 + 2 * i] = c & 0xff;
    out[3 + 2 * i] = c >> 8;
  }
  return out;
}

/** What a failure most likely means, in words for the person at the keyboard. */
function hint(os: ServiceOs, text: string): string {
  if (/denied|permission|not permitted|EACCES|EPERM|must be run as root|privilege/i.test(text)) {
    return os === "windows"
      ? "run it again from a command prompt opened with 'Run as administrator'"
      : "run it again with sudo";
  }
  return "";
}

/**
 * Prints each step and carries it out; stops at the first failure that is not expected.
 * `status` passes the service manager's answer through. Resolves with the exit code.
 */
export async function carryOut(
  plan: Plan,
  os: ServiceOs,
  runner: Runner,
  print: (line: string) => void,
): Promise<number> {
  for (const note of plan.notes) print(note);
  for (const step of plan.steps) {
    print(describe(step));
    try {
      if (step.kind === "write") await runner.write(step.path, encode(step), step.mode);
      else if (step.kind === "remove") await runner.remove(step.path);
      else {
        const result = await runner.run(step.argv);
        if (result.output.trim() !== "") print(result.output.trimEnd());
        if (result.code !== 0 && !step.mayFail) {
          const why = hint(os, result.output);
          print(`failed with exit code ${result.code}${why ? `: ${why}` : ""}`);
          return result.code;
        }
      }
    } catch (e) {
      const message = errorText(e);
      const why = hint(os, message);
      print(`failed: ${message}${why ? `; ${why}` : ""}`);
      return 1;
    }
  }
  return 0;
}

/** The real system: commands through `Deno.Command`, files through `Deno.writeFile`. */
export const systemRunner: Runner = {
  async run(argv) {
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
  },
  async write(path, data, mode) {
    await Deno.writeFile(path, data, mode === undefined ? {} : { mode });
    if (mode !== undefined && Deno.build.os !== "windows") await Deno.chmod(path, mode);
  },
  async remove(path) {
    try {
      await Deno.remove(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  },
};
