/**
 * Command-line flags and subcommands (docs/configuration.md §4), parsed with `node:util`
 * parseArgs. Pure, so tests can check every answer; `main.ts` turns the result into output
 * and an exit code.
 */

import { parseArgs } from "node:util";
import { EXECUTABLE, PRODUCT, VERSION } from "../version.ts";

/** The channel port a client connects to when none is named (docs/channel-protocol.md). */
export const DEFAULT_CHANNEL_PORT = 26535;

/** What `service` is asked to do (docs/install.md §5). */
export type ServiceAction = "install" | "uninstall" | "status";

/** What the command line asks for. */
export type CliRequest =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "check"; readonly config?: string }
  | { readonly kind: "run"; readonly config?: string; readonly noPause: boolean }
  | { readonly kind: "client"; readonly host: string; readonly port: number }
  | { readonly kind: "provisioning"; readonly extension: string; readonly config?: string }
  | {
    readonly kind: "service";
    readonly action: ServiceAction;
    readonly config?: string;
    readonly user?: string;
    readonly dryRun: boolean;
  }
  | { readonly kind: "bad"; readonly message: string };

/** The usage text printed by `--help` and after a bad flag. */
export const USAGE =
  `Usage: ${EXECUTABLE} [--config <path>] [--check-config] [--no-pause] [--version] [--help]
       ${EXECUTABLE} client [<host>[:<port>]]
       ${EXECUTABLE} provisioning <extension> [--config <path>]
       ${EXECUTABLE} service install|uninstall|status [--config <path>] [--user <name>] [--dry-run]

  --config <path>   configuration file (default: phone-companion.cfg or
                    24uPhoneCompanionServer.cfg beside the executable, or in the
                    working folder with deno run; written with defaults if missing)
  --check-config    check the configuration and the profiles it names, print every
                    finding with its line, exit 0 when there is no error, 1 otherwise
  --no-pause        never wait for Enter after a start-up error (for service managers)
  --version         print the version and exit
  --help            print this help and exit

  client            talk to a running server's channel by hand: type lines such as
                    MonitorStart 101, see the replies and events; BYE or Ctrl+C ends
                    (default 127.0.0.1:${DEFAULT_CHANNEL_PORT})
  provisioning      print the lines to load into a phone whose action URLs are set
                    by provisioning (Yealink): key = value, with its callback URLs
  service install   start this executable with the computer: a systemd unit (Linux),
                    a launchd daemon (macOS) or a Task Scheduler task (Windows);
                    prints what it writes and runs; needs root or an administrator
  service uninstall stop it and remove it again
  service status    ask the system whether it is installed and running
  --dry-run         only print what would be written and run
  --user <name>     the account the service runs as (Linux, macOS; default: the
                    user who ran sudo, else root)`;

const SERVICE_ACTIONS: readonly ServiceAction[] = ["install", "uninstall", "status"];

function firstLine(e: unknown): string {
  return e instanceof Error ? e.message.split("\n")[0] : String(e);
}

/** `host[:port]`, `[v6]:port` or `[v6]` → host and port; undefined when malformed. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d{1,5}))?$/.exec(text) ??
    // A bare IPv6 address without brackets and without port.
    (text.split(":").length > 2 ? [text, text, undefined, undefined] : null);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? "";
  const port = m[3] === undefined ? DEFAULT_CHANNEL_PORT : Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: host === "" ? "127.0.0.1" : host, port };
}

function parseClient(args: readonly string[]): CliRequest {
  if (args.length > 1) return { kind: "bad", message: "client takes at most one <host>[:<port>]" };
  if (args[0]?.startsWith("-")) {
    return { kind: "bad", message: `client: unknown option '${args[0]}'` };
  }
  const target = parseHostPort(args[0] ?? "");
  if (!target) return { kind: "bad", message: `client: '${args[0]}' is not <host>[:<port>]` };
  return { kind: "client", ...target };
}

function parseService(args: readonly string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        user: { type: "string" },
        "dry-run": { type: "boolean" },
      },
    });
  } catch (e) {
    return { kind: "bad", message: `service: ${firstLine(e)}` };
  }
  const [action, ...rest] = parsed.positionals;
  if (!SERVICE_ACTIONS.includes(action as ServiceAction) || rest.length > 0) {
    return { kind: "bad", message: "service needs one of install, uninstall, status" };
  }
  const v = parsed.values;
  if (v.config === "") return { kind: "bad", message: "Option '--config <path>' needs a path" };
  if (v.user !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(v.user)) {
    return { kind: "bad", message: `service: '${v.user}' is not a user name` };
  }
  return {
    kind: "service",
    action: action as ServiceAction,
    config: v.config,
    user: v.user,
    dryRun: v["dry-run"] ?? false,
  };
}

function parseProvisioning(args: readonly string[]): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: true,
      options: { config: { type: "string", short: "c" } },
    });
  } catch (e) {
    return { kind: "bad", message: `provisioning: ${firstLine(e)}` };
  }
  if (parsed.positionals.length !== 1 || parsed.positionals[0] === "") {
    return { kind: "bad", message: "provisioning needs one <extension>" };
  }
  if (parsed.values.config === "") {
    return { kind: "bad", message: "Option '--config <path>' needs a path" };
  }
  return { kind: "provisioning", extension: parsed.positionals[0], config: parsed.values.config };
}

/** Parses the flags; never throws. */
export function parseCli(args: readonly string[]): CliRequest {
  if (args[0] === "client") return parseClient(args.slice(1));
  if (args[0] === "provisioning") return parseProvisioning(args.slice(1));
  if (args[0] === "service") return parseService(args.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string", short: "c" },
        "check-config": { type: "boolean" },
        "no-pause": { type: "boolean" },
        version: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return { kind: "bad", message: firstLine(e) };
  }
  const v = { ...parsed.values };
  if (v.help) return { kind: "help" };
  if (v.version) return { kind: "version" };
  if (v.config === "") return { kind: "bad", message: "Option '--config <path>' needs a path" };
  if (v["check-config"]) return { kind: "check", config: v.config };
  return { kind: "run", config: v.config, noPause: v["no-pause"] ?? false };
}

/** `--version` output: version, Deno version, target. */
export function versionText(): string {
  return `${PRODUCT} ${VERSION} (Deno ${Deno.version.deno}, ${Deno.build.target})`;
}
