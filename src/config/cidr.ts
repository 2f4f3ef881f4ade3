/**
 * CIDR address ranges for `serverAllowedClients` (docs/channel-protocol.md §6). IPv4 and IPv6,
 * including IPv4-mapped IPv6 addresses as a dual-stack listener reports them.
 */

/** A parsed range: the network bits of an address family. */
export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Loopback and private ranges: RFC 1918, link-local, IPv6 loopback, link-local and ULA. */
export const DEFAULT_ALLOWED_CLIENTS =
  "127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, ::1/128, fe80::/10, fc00::/7";

/** The bytes of an IPv4 address in dotted form, or undefined. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

/** The 16 bytes of an IPv6 address (with `::` and an embedded IPv4 tail), or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  let s = text;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (!s.includes(":")) return undefined;
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return undefined;
    const n = parseInt(all[i], 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  }
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a range of one). */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, bits, extra] = text.trim().split("/");
  if (extra !== undefined) return undefined;
  const v4 = parseIPv4(addr);
  const bytes = v4 ?? parseIPv6(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return undefined;
  return { text: text.trim(), family: v4 ? 4 : 6, bytes, prefix };
}

function inRange(bytes: Uint8Array, cidr: Cidr): boolean {
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (cidr.bytes[i] & mask)) return false;
  }
  return true;
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a dual-stack
 * listener reports an IPv4 peer), or undefined for any other address.
 */
export function mappedIPv4(bytes: Uint8Array): Uint8Array | undefined {
  const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) &&
    bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : undefined;
}

/** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) lies in any of `ranges`. */
export function addressAllowed(address: string, ranges: readonly Cidr[]): boolean {
  let v4 = parseIPv4(address);
  const v6 = v4 ? undefined : parseIPv6(address);
  if (v6) v4 = mappedIPv4(v6);
  return ranges.some((r) =>
    r.family === 4 ? v4 !== undefined && inRange(v4, r) : v6 !== undefined && inRange(v6, r)
  );
}

/**
 * A comparable key for an IP address literal (IPv4, IPv6 with or without brackets or zone,
 * IPv4-mapped IPv6 as IPv4), or undefined when `text` is not an address.
 */
export function addressKey(text: string): string | undefined {
  if (text.includes("/")) return undefined;
  const parsed = parseCidr(text);
  if (!parsed) return undefined;
  const bytes = mappedIPv4(parsed.bytes) ?? parsed.bytes;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A network interface of this computer as the runtime lists it: an address in its subnet. */
export interface InterfaceAddress {
  readonly address: string;
  /** `address/prefix`, e.g. `192.168.1.20/24`. */
  readonly cidr: string;
}

/**
 * This computer's address on the subnet that holds `host`, when `host` is an address on a
 * directly attached network: the address a phone there reaches this computer at, found
 * without sending it anything (so it works while the phone is off). Undefined otherwise.
 */
export function addressOnSubnetOf(
  host: string,
  interfaces: readonly InterfaceAddress[],
): string | undefined {
  const bytes = parseIPv4(host) ?? parseIPv6(host.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  if (!bytes) return undefined;
  for (const i of interfaces) {
    const subnet = parseCidr(i.cidr);
    if (subnet && subnet.bytes.length === bytes.length && inRange(bytes, subnet)) {
      return i.address;
    }
  }
  return undefined;
}
