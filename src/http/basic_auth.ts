/** HTTP Basic authentication (RFC 7617), the one encoder for phones and providers alike. */

/** The `Authorization` value for a user and password, UTF-8 encoded. */
export function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}
