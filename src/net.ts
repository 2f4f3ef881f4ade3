/**
 * Host names as they go into URLs, Host headers and log lines: an IPv6 literal gets its
 * brackets (and loses a zone id such as `%eth0`, which has no place there); everything else
 * stays as it is.
 */

/**
 * Percent-encodes everything but letters, digits and `-._~` (RFC 3986 unreserved): the one
 * encoding of a value that goes into a URL (request templates, display names on the channel,
 * callback paths).
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `fe80::1` → `[fe80::1]`, `192.168.1.2` → `192.168.1.2`, `[::1]` stays. */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host.replace(/%.*$/, "")}]` : host;
}

/** `host:port`, an IPv6 host in brackets. */
export function hostPort(host: string, port: number): string {
  return `${urlHost(host)}:${port}`;
}
