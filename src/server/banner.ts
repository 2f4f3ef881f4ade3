/**
 * What the console shows once the server runs (docs/install.md §2): in plain words where the
 * configuration and the log are, the status page as `http://localhost:<port>/` and at this
 * computer's LAN address, and how to try it. Pure, so the tests can read every variant.
 */

import { hostPort, urlHost } from "../net.ts";
import { DEFAULT_CHANNEL_PORT } from "./cli.ts";
import type { Settings } from "../contract.ts";
import { PRODUCT, VERSION } from "../version.ts";
import { demoExtensions } from "../config/mod.ts";

/** One network interface, as `Deno.networkInterfaces()` describes it. */
export interface NetInterface {
  readonly family: "IPv4" | "IPv6";
  readonly address: string;
}

function ipv4(address: string): number[] | undefined {
  const parts = address.split(".").map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255)
    ? parts
    : undefined;
}

function isPrivate([a, b]: number[]): boolean {
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/**
 * The IPv4 addresses other computers on the LAN can use, private ranges first (those are
 * what an office network hands out), at most three. Loopback and link-local (169.254/16,
 * "no DHCP answer") are left out.
 */
export function lanAddresses(interfaces: readonly NetInterface[]): string[] {
  const found: { address: string; rank: number }[] = [];
  for (const i of interfaces) {
    const parts = i.family === "IPv4" ? ipv4(i.address) : undefined;
    if (!parts || parts[0] === 127 || parts[0] === 0 || (parts[0] === 169 && parts[1] === 254)) {
      continue;
    }
    if (found.some((f) => f.address === i.address)) continue;
    found.push({ address: i.address, rank: isPrivate(parts) ? 0 : 1 });
  }
  return found.sort((x, y) => x.rank - y.rank).slice(0, 3).map((f) => f.address);
}

/** This computer's interfaces, or none when the permission or the platform says no. */
export function systemInterfaces(): NetInterface[] {
  try {
    return Deno.networkInterfaces().map((i) => ({ family: i.family, address: i.address }));
  } catch {
    return [];
  }
}

/** What the banner is made of. */
export interface BannerFacts {
  readonly settings: Settings;
  /** A default configuration was written by this start. */
  readonly wroteDefault: boolean;
  /** This computer's LAN addresses (`lanAddresses`). */
  readonly lan: readonly string[];
  /** The command that starts the line client, e.g. `phone-companion-server client`. */
  readonly clientCommand: string;
  /** This process, the one to signal to stop it (docs/install.md §6). */
  readonly pid: number;
  /** The platform: Windows stops with Ctrl+Break rather than SIGTERM. */
  readonly os: string;
}

const WILDCARD = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);
const LOOPBACK = /^(127\.|::1$|0:0:0:0:0:0:0:1$)/;

/**
 * Where the line client on this computer reaches the channel, as its argument: nothing when
 * its default (127.0.0.1 and the standard port) works, else `host:port` (docs/install.md §4).
 */
export function clientTarget(bindAddress: string, port: number): string {
  const host = bindAddress === "0.0.0.0"
    ? "127.0.0.1"
    : WILDCARD.has(bindAddress)
    ? "::1"
    : bindAddress;
  if (host === "127.0.0.1" && port === DEFAULT_CHANNEL_PORT) return "";
  return hostPort(host, port);
}

/** The banner's lines, without a trailing newline. */
export function bannerText(facts: BannerFacts): string {
  const { config } = facts.settings;
  const { bindAddress, httpPort, port, adminPassword } = config.server;
  // Where other computers reach us: the LAN addresses when listening on all of them, the
  // bind address when it is one of this computer's, nowhere when it is loopback.
  const remote = WILDCARD.has(bindAddress)
    ? [...facts.lan]
    : LOOPBACK.test(bindAddress)
    ? []
    : [bindAddress];
  const local = LOOPBACK.test(bindAddress) || WILDCARD.has(bindAddress)
    ? "localhost"
    : urlHost(bindAddress);
  const pad = (label: string) => `  ${label.padEnd(15)}`;
  const more = " ".repeat(17);
  const lines = [`${PRODUCT} ${VERSION} is running.`, ""];

  const demo = config.demoPhones;
  const extensions = demoExtensions(demo);
  lines.push(
    `${pad("Configuration")}${config.file}`,
    facts.wroteDefault
      ? `${more}written just now, with every setting explained; add your phones there`
      : `${more}checked every ${config.configReloadSeconds} s; changes apply without a restart`,
    `${pad("Log")}${config.log.filePath}`,
    `${pad("Status page")}http://${local}:${httpPort}/`,
  );
  if (remote.length > 0) {
    const urls = remote.map((a) => `http://${urlHost(a)}:${httpPort}/`).join("  ");
    lines.push(
      `${more}from other computers: ${urls}`,
      adminPassword === ""
        ? `${more}(answers them once adminPassword is set in the configuration)`
        : `${more}(user admin, the adminPassword of the configuration)`,
    );
  } else if (WILDCARD.has(bindAddress)) {
    lines.push(`${more}(no network address of this computer was found for other computers)`);
  } else {
    lines.push(`${more}(this computer only: serverBindAddress is ${bindAddress})`);
  }
  lines.push(
    `${pad("Plug-in port")}${port}` +
      (remote.length > 0 ? `; plug-ins on other computers connect to ${remote[0]}:${port}` : ""),
  );
  if (demo > 0) {
    lines.push(
      `${pad("Demo phones")}${extensions.join(", ")} (simulated on this computer; ` +
        `demoPhones = 0 turns them off)`,
    );
  }
  const a = extensions[0] ?? "<extension>";
  const b = extensions[1] ?? "<number>";
  const target = clientTarget(bindAddress, port);
  lines.push(
    `${pad("Try it")}in another window: ${facts.clientCommand}${target ? ` ${target}` : ""}`,
    `${more}then type: MonitorStart ${a}  MakeCall ${a} ${b}  AnswerCall ${b}  ` +
      `ClearConnection ${a}  BYE`,
    `${pad("Stop")}Ctrl+C` +
      (facts.os === "windows"
        ? " or Ctrl+Break"
        : `, or SIGTERM to process ${facts.pid} (kill ${facts.pid})`),
  );
  return lines.join("\n");
}
