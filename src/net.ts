/**
 * Host names as they go into URLs, Host headers and log lines: an IPv6 literal gets its
 * brackets (and loses a zone id such as `%eth0`, which has no place there); everything else
 * stays as it is.
 */

/** `fe80::1` → `[fe80::1]`, `192.168.1.2` → `192.168.1.2`, `[::1]` stays. */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host.replace(/%.*$/, "")}]` : host;
}

/** `host:port`, an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return `${urlHost(host)}:${port}`;
}
