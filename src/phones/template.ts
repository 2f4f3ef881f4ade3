/**
 * Turns a profile's request step into the exact request target and body to send: each
 * placeholder is replaced by its value, encoded for where it stands. Pure, so what goes on
 * the wire can be checked without a phone.
 *
 * - In `resource`, values are percent-encoded (docs/snom.md §1: `#` → `%23`, `*` → `%2A`;
 *   `+` → `%2B`, because a query decodes a bare `+` as a space).
 * - In `body`, values are encoded for the `content_type`: JSON string escapes for `json`,
 *   XML escapes for `xml`, percent-encoding otherwise.
 * - `{numberKeys}` spells the number as key presses separated by `;` (`0;4;9;%23`).
 * - `{settings}` is `setting=<url>&...`; each URL is percent-encoded except `$`, so `&`
 *   inside it stays part of the value and the phone still sees its `$variables`
 *   (docs/snom.md §4.1).
 */

import { fillPlaceholders, type NotificationName, type RequestStep } from "../config/mod.ts";
import { percentEncode } from "../net.ts";
import { escapeHtml } from "../text.ts";

/** The values a step may refer to. Absent values expand to "". */
export interface TemplateValues {
  readonly number?: string;
  readonly extension: string;
  /** The phone's own id of the call the command acts on (docs/phone-profiles.md §2.2). */
  readonly callId?: string;
  /** Notification URLs for `[monitorAutoConfiguration]`, keyed by notification. */
  readonly urls?: ReadonlyMap<NotificationName, string>;
  /** Notification → phone setting, to build `{settings}`. */
  readonly settings?: ReadonlyMap<NotificationName, string>;
}

/** A step with its placeholders filled in, ready to send. */
export interface ExpandedStep {
  readonly method: RequestStep["method"];
  readonly target: string;
  readonly body: string;
  readonly contentType: string;
  readonly accept: string;
}

/** Percent-encodes a URL that goes into a phone setting, keeping its `$variables` literal. */
export function encodeSettingValue(url: string): string {
  return percentEncode(url).replaceAll("%24", "$");
}

/** `setting=<encoded url>&...` in the order of `settings`, for each URL that is given. */
export function settingsQuery(
  settings: ReadonlyMap<NotificationName, string>,
  urls: ReadonlyMap<NotificationName, string>,
): string {
  const pairs: string[] = [];
  for (const [notification, setting] of settings) {
    const url = urls.get(notification);
    if (url !== undefined) pairs.push(`${setting}=${encodeSettingValue(url)}`);
  }
  return pairs.join("&");
}

type Encoder = (value: string) => string;

function bodyEncoder(contentType: string): Encoder {
  const type = contentType.toLowerCase();
  if (type.includes("json")) return (v) => JSON.stringify(v).slice(1, -1);
  if (type.includes("xml")) return escapeHtml;
  return percentEncode;
}

function expand(text: string, values: TemplateValues, encode: Encoder): string {
  /** What `{settings}` expands to, built once the text uses it. */
  let settings: string | undefined;
  let out = fillPlaceholders(text, (name) => {
    switch (name) {
      case "number":
        return encode(values.number ?? "");
      case "numberKeys":
        return [...(values.number ?? "")].map(encode).join(";");
      case "extension":
        return encode(values.extension);
      case "callId":
        return encode(values.callId ?? "");
      case "settings":
        return settings ??= values.settings && values.urls
          ? settingsQuery(values.settings, values.urls)
          : "";
      default: {
        const url = values.urls?.get(name as NotificationName);
        if (url !== undefined) {
          return encode === percentEncode ? encodeSettingValue(url) : encode(url);
        }
        return values.urls ? "" : undefined;
      }
    }
  });
  if (settings === "") {
    // No URL to write: drop the separator the empty expansion left behind.
    out = out.replace(/&&+/g, "&").replace(/\?&/, "?").replace(/[?&]$/, "");
  }
  return out;
}

/** Fills in one step's placeholders. */
export function expandStep(step: RequestStep, values: TemplateValues): ExpandedStep {
  return {
    method: step.method,
    target: expand(step.resource, values, percentEncode),
    body: expand(step.body, values, bodyEncoder(step.contentType)),
    contentType: step.contentType,
    accept: step.accept,
  };
}
