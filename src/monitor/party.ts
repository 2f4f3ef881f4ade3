/**
 * The remote party as a phone reports it in `$remote` / `$display_remote`, reduced to what
 * events carry: the user part of the SIP URI (docs/channel-protocol.md §4.2) and,
 * separately, a display name. Snom may send `sip:user@host`, `user@host` or a name-addr such
 * as `"Jane" <sip:12@host>` (docs/snom.md §5.5), so every form is accepted.
 */

import { decodeLenient } from "./query.ts";

/** A remote party: `user` never contains a display name or whitespace. */
export interface Party {
  readonly user: string;
  readonly displayName: string;
}

function unquote(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    return t.slice(1, -1).replace(/\\(.)/g, "$1").trim();
  }
  return t;
}

/**
 * Parses a `$remote` value: `sip:0049301234@pbx` → user `0049301234`; `"Jane" <sip:12@h>` →
 * user `12`, display name `Jane`; `tel:+4930123;phone-context=x` → `+4930123`. Escapes inside
 * the user part (`%23` for `#`) are decoded.
 */
export function parseParty(value: string): Party {
  let uri = value.trim();
  let name = "";
  const lt = uri.indexOf("<");
  if (lt >= 0) {
    const gt = uri.indexOf(">", lt);
    name = uri.slice(0, lt);
    uri = uri.slice(lt + 1, gt < 0 ? undefined : gt).trim();
  } else {
    const lastSpace = uri.search(/\s\S*$/);
    if (lastSpace >= 0) {
      name = uri.slice(0, lastSpace);
      uri = uri.slice(lastSpace + 1);
    }
  }
  uri = uri.replace(/^(?:sips?|tel):/i, "");
  const at = uri.indexOf("@");
  let user = at >= 0 ? uri.slice(0, at) : uri;
  // user params (`;user=phone`), a password (`user:pw@`) or a port when there is no user.
  user = user.split(/[;?]/)[0];
  if (at >= 0 || !/^\[/.test(user)) user = user.split(":")[0];
  user = decodeLenient(user).replace(/\s+/g, "");
  return { user, displayName: unquote(name) };
}

/**
 * A number reduced for comparison: only digits, `*`, `#`, and a leading `+` written as `00`,
 * so `+49 30 123` and `004930123` compare equal.
 */
export function comparableNumber(number: string): string {
  const kept = number.replace(/[^0-9*#+]/g, "");
  return kept.startsWith("+") ? "00" + kept.slice(1).replace(/\+/g, "") : kept.replace(/\+/g, "");
}
