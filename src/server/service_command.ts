/**
 * `service install | uninstall | status` (docs/install.md §5): finds the program and the
 * configuration this process would run with and hands the plan to `src/service/`.
 */

import { fileURLToPath } from "node:url";
import { discoverConfig, homeFolder, isCompiled } from "../config/mod.ts";
import {
  carryOut,
  describe,
  isServiceOs,
  planService,
  type Runner,
  type ServiceTarget,
  systemRunner,
} from "../service/mod.ts";
import type { ServiceAction } from "./cli.ts";
import { RUN_PERMISSIONS, V8_FLAGS } from "./permissions.ts";

/** What the command looks at in this process; tests pass their own. */
export interface ServiceFacts {
  readonly os: string;
  readonly execPath: string;
  readonly compiled: boolean;
  /** The entry module's file path (from a checkout, the service runs it with deno). */
  readonly mainModule: string;
  /** The user who ran sudo, if any. */
  readonly sudoUser?: string;
  /** True when this process runs as root (Linux, macOS). */
  readonly root?: boolean;
  readonly realPath: (path: string) => string;
}

/** This process's facts. */
export function processFacts(): ServiceFacts {
  return {
    os: Deno.build.os,
    execPath: Deno.execPath(),
    compiled: isCompiled(),
    mainModule: fileURLToPath(Deno.mainModule),
    sudoUser: Deno.env.get("SUDO_USER"),
    root: runsAsRoot(),
    realPath: (p) => Deno.realPathSync(p),
  };
}

/** Root by the user id where it may be read, else by the user name the shell set. */
function runsAsRoot(): boolean {
  if (Deno.build.os === "windows") return false;
  try {
    return Deno.uid() === 0;
  } catch {
    return (Deno.env.get("USER") ?? Deno.env.get("LOGNAME")) === "root";
  }
}

/** What was asked on the command line. */
export interface ServiceRequest {
  readonly action: ServiceAction;
  readonly config?: string;
  readonly user?: string;
  readonly dryRun: boolean;
}

/** Runs the service command; resolves with the exit code. */
export async function serviceCommand(
  request: ServiceRequest,
  print: (line: string) => void,
  facts: ServiceFacts = processFacts(),
  runner: Runner = systemRunner,
  folder: string = homeFolder(),
): Promise<number> {
  const os = facts.os;
  if (!isServiceOs(os)) {
    print(`error: service is not supported on ${os}`);
    return 1;
  }
  const found = await discoverConfig(request.config, folder);
  const target: ServiceTarget = {
    os,
    program: facts.realPath(facts.execPath),
    programArgs: facts.compiled ? [] : ["run", V8_FLAGS, ...RUN_PERMISSIONS, facts.mainModule],
    config: found.path,
    user: request.user ??
      (os !== "windows" && facts.sudoUser && facts.sudoUser !== "root"
        ? facts.sudoUser
        : undefined),
  };
  // A line break in a path would add lines of its own to a unit file or a plist.
  for (const path of [target.program, ...target.programArgs, target.config]) {
    if ([...path].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
      print(`error: ${JSON.stringify(path)} has a control character; services cannot use it`);
      return 2;
    }
  }
  const plan = planService(request.action, target);
  // Logged in as root, there is no sudo user to run the service as: the server would run as
  // root without anyone having said so.
  const rootByDefault = request.action === "install" && os !== "windows" && facts.root === true &&
    target.user === undefined;
  if (rootByDefault) {
    print(
      "note: you are logged in as root and named no account, so the service would run as " +
        "root. Run it as an ordinary account with --user <name> (it needs no privileges), " +
        "or say --user root to mean it.",
    );
    if (!request.dryRun) {
      print("error: not installed; add --user <name> or --user root");
      return 2;
    }
  }
  if (request.action === "install") {
    if (!facts.compiled) {
      print(
        "note: this is a checkout, so the service would run deno from " +
          `${target.program}; for a lasting installation use the executable`,
      );
    }
    if (!found.exists) {
      print(`note: ${found.path} does not exist yet; the server writes it at its first start`);
    }
  }
  if (request.dryRun) {
    for (const note of plan.notes) print(note);
    for (const step of plan.steps) print(describe(step));
    print("dry run: nothing was written or run");
    return 0;
  }
  return await carryOut(plan, os, runner, print);
}
