/** Small text helpers shared by the whole server and its simulated phones. */

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What an error says, for a log line or a reply detail: its message, or the value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Fills `{name}` placeholders, as profile request templates and provisioning lines write them
 * (docs/phone-profiles.md §2): `value(name)` gives the text, or undefined to leave the
 * placeholder as written.
 */
export function fillPlaceholders(
  text: string,
  value: (name: string) => string | undefined,
): string {
  return text.replace(
    /\{([A-Za-z][A-Za-z0-9_]*)\}/g,
    (whole, name: string) => value(name) ?? whole,
  );
}
