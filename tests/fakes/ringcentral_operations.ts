/**
 * The RingCentral operations the server calls, as RingCentral's own generated SDK documents them
 * (tests/fixtures/ringcentral/operations.json, docs/provider.md §13): the fake provider routes
 * through this list alone, so a request the real platform does not offer fails in the tests
 * as it would on a real account.
 */

import fixture from "../fixtures/ringcentral/operations.json" with { type: "json" };

/** One documented operation. */
export interface Operation {
  readonly name: string;
  readonly method: string;
  /** The documented template, e.g. `/restapi/{apiVersion}/account/{accountId}/extension`. */
  readonly path: string;
  /** `Light`, `Medium`, `Heavy`, `Auth` or `NoThrottling`. */
  readonly rateGroup: string;
  /** The app permission the token's scope must hold; null when none is needed. */
  readonly appPermission: string | null;
  /** Body fields that must be present. */
  readonly required?: readonly string[];
  /** Exactly one of these body fields must be present. */
  readonly exactlyOneOf?: readonly string[];
  readonly source: string;
}

/** Every operation of the fixture. */
export const OPERATIONS: readonly Operation[] = fixture.operations as Operation[];

/** The event filters the server subscribes to, with the permission each needs. */
export const EVENT_FILTERS: readonly { readonly filter: string; readonly appPermission: string }[] =
  fixture.events;

/** Every app permission the documented operations and event filters need. */
export const ALL_PERMISSIONS: readonly string[] = [
  ...new Set([
    ...EVENT_FILTERS.map((f) => f.appPermission),
    ...OPERATIONS.flatMap((o) => o.appPermission ? [o.appPermission] : []),
  ]),
];

/** The fixture's source: repository and commit. */
export const SOURCE = fixture.source;

/** A path template as a pattern: `{apiVersion}` is `v1.0`, `{accountId}` and ids one segment. */
function pattern(template: string): RegExp {
  const parts = template.split(/(\{[A-Za-z]+\})/).map((part) => {
    if (part === "{apiVersion}") return "v1\\.0";
    if (part.startsWith("{")) return `(?<${part.slice(1, -1)}>[^/]+)`;
    return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("")}$`);
}

const COMPILED = OPERATIONS.map((op) => ({ op, re: pattern(op.path) }));

/** The operation a request is, with its path parameters; undefined when none is documented. */
export function operationOf(
  method: string,
  path: string,
): { readonly op: Operation; readonly params: Record<string, string> } | undefined {
  for (const { op, re } of COMPILED) {
    if (op.method !== method.toUpperCase()) continue;
    const m = path.match(re);
    if (m) {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v);
      return { op, params };
    }
  }
  return undefined;
}

/** The first documented rule the JSON body breaks, as RingCentral's parameter name; or undefined. */
export function bodyFault(op: Operation, body: unknown): string | undefined {
  const fields = body !== null && typeof body === "object" ? body as Record<string, unknown> : {};
  for (const name of op.required ?? []) {
    if (fields[name] === undefined || fields[name] === null) return name;
  }
  if (op.exactlyOneOf) {
    const given = op.exactlyOneOf.filter((k) => fields[k] !== undefined);
    if (given.length !== 1) return op.exactlyOneOf.join("|");
  }
  return undefined;
}
