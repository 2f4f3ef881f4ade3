/**
 * A small mutation run (docs/testing.md §3): each rule the server keeps in one place is
 * removed in turn, in a copy of the repository, and the tests that guard it are run; every
 * such mutant must make a test fail. A surviving mutant is a rule no test would miss.
 *
 * Usage: `deno task mutants [name …]` (all mutants when none is named). Prints one line per
 * mutant and exits 1 when any survived, or when the unchanged tests do not pass.
 */

import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One rule, how it is removed, and the tests that must then fail. */
export interface Mutant {
  readonly name: string;
  /** The rule, in words. */
  readonly rule: string;
  readonly file: string;
  /** Text that occurs exactly once in `file`. */
  readonly find: string;
  readonly replace: string;
  readonly tests: readonly string[];
}

/** The rules and their mutants. */
export const MUTANTS: readonly Mutant[] = [
  {
    name: "makecall-rule",
    rule: "a MakeCall's reply comes before its own Initiated, what came earlier before the reply",
    file: "src/channel/session.ts",
    find: "event.cause !== undefined && event.cause === holder.command",
    replace: "false",
    tests: ["tests/channel/session_test.ts"],
  },
  {
    name: "makecall-initiated",
    rule: "an accepted MakeCall on a monitored device publishes Initiated in its queue place",
    file: "src/monitor/_device.ts",
    find:
      'if (name === "MakeCall" || (name === "TransferCall" && this.backend.kind === "cloud")) {',
    replace: "if (false) {",
    tests: ["tests/monitor/monitor_test.ts"],
  },
  {
    name: "silence-rule",
    rule: "commands that arrived before a phone's silence fail at once",
    file: "src/phones/phone.ts",
    find: "if (since === undefined || arrived > since) return undefined;",
    replace: "return undefined;",
    tests: ["tests/phones/failures_test.ts"],
  },
  {
    name: "number-grammar",
    rule: "a number is digits with an optional leading +, # and *",
    file: "src/channel/codec.ts",
    find: "return /^\\+?[0-9#*]+$/.test(joined) ? joined : undefined;",
    replace: "return joined;",
    tests: ["tests/channel/codec_test.ts"],
  },
  {
    name: "raw-reply-limit",
    rule: "a RawCommand reply line never exceeds the line limit",
    file: "src/channel/codec.ts",
    find: 'if (lineBytes("SUCCESS", payload) <= maxLineBytes) {',
    replace: "if (true) {",
    tests: ["tests/provider/raw_command_test.ts"],
  },
  {
    name: "callback-key",
    rule: "a callback counts only with the phone's key",
    file: "src/monitor/monitor.ts",
    find: "secret === undefined || !sameSecret(key, secret)",
    replace: "secret === undefined",
    tests: ["tests/monitor/monitor_test.ts"],
  },
  {
    name: "callback-source",
    rule: "a callback counts only from the phone's own address",
    file: "src/monitor/monitor.ts",
    find: "if (genuine) device.report(report);",
    replace: "device.report(report);",
    tests: ["tests/monitor/monitor_test.ts"],
  },
  {
    name: "auth-refused-final",
    rule: "a refused login is final: the phone is left alone instead of asked again",
    file: "src/phones/phone.ts",
    find:
      'return this.#block("AuthFailed", "the phone refused the username and password (HTTP 401)");',
    replace: "continue;",
    tests: ["tests/phones/failures_test.ts"],
  },
  {
    name: "settings-fingerprint",
    rule: "a reload that leaves the provider settings alone keeps the session",
    file: "src/provider/service.ts",
    find: "if (this.#applied.is(config)) return;",
    replace: "",
    tests: ["tests/provider/lifecycle_test.ts"],
  },
  {
    name: "percent-encoding",
    rule: "values in URLs keep only RFC 3986 unreserved characters",
    file: "src/net.ts",
    find: "/[!'()*]/g,",
    replace: "/(?!)/g,",
    tests: ["tests/phones/template_test.ts", "tests/channel/codec_test.ts"],
  },
  {
    name: "demo-extensions",
    rule: "demo phones are 101, 102, …",
    file: "src/config/types.ts",
    find: "String(101 + i)",
    replace: "String(100 + i)",
    tests: ["tests/config/parse_test.ts", "tests/phones/registry_test.ts"],
  },
  {
    name: "closed-is-a-reply",
    rule: "a phone that closes without a byte of reply took the request (a dial that worked)",
    file: "src/http/client.ts",
    find: 'if (!reader.received) return finish({ kind: "closed" });',
    replace: 'if (!reader.received) return finish({ kind: "unreachable", message: "x" });',
    tests: ["tests/http/client_test.ts"],
  },
  {
    name: "connections-per-address",
    rule: "one address cannot take every connection of the status page and callback listener",
    file: "src/http/_admission.ts",
    find: ": mine >= perAddress",
    replace: ": false",
    tests: ["tests/http/server_test.ts"],
  },
  {
    name: "redaction",
    rule: "secrets never reach the log",
    file: "src/log/redact.ts",
    find: "if (out.includes(s) && !shown?.has(s)) out = out.split(s).join(REDACTED);",
    replace: "",
    tests: ["tests/log/log_test.ts"],
  },
  {
    name: "ws-reply-type",
    rule: "the gateway's reply to a request over the WebSocket has the request's own type",
    file: "src/provider/_events.ts",
    find: 'type === "ClientRequest" && text(head.messageId) === messageId',
    replace: 'type === "ClientResponse" && text(head.messageId) === messageId',
    tests: ["tests/e2e/cloud_events_test.ts"],
  },
  {
    name: "device-types",
    rule: "an extension's softphones are asked for, not only its desk phones",
    file: "src/provider/_cloud.ts",
    find: 'const DEVICE_TYPES = ["HardPhone", "SoftPhone"] as const;',
    replace: 'const DEVICE_TYPES = ["HardPhone"] as const;',
    tests: ["tests/e2e/cloud_commands_test.ts"],
  },
  {
    name: "next-page",
    rule: "a list is read to its last page",
    file: "src/provider/_cloud.ts",
    find: "next = samePath(account.origin, text(record(record(body.navigation).nextPage).uri));",
    replace: "next = undefined;",
    tests: ["tests/e2e/cloud_vendor_test.ts"],
  },
  {
    name: "callee-rings",
    rule: "a call to another extension is connected only when the callee picks up",
    file: "src/provider/_cloud.ts",
    find: 'calleeRings && party.direction === "outgoing" && party.status === "Answered"',
    replace: "false",
    tests: ["tests/e2e/cloud_vendor_test.ts"],
  },
  {
    name: "event-sequence",
    rule: "a notification older than one handled for its session is dropped",
    file: "src/provider/_cloud.ts",
    find: "if (this.#stale(sessionId, Number(body.sequence))) return;",
    replace: "",
    tests: ["tests/e2e/cloud_vendor_test.ts"],
  },
  {
    name: "answer-device",
    rule: "AnswerCall on a cloud phone names an online device or is not sent",
    file: "src/provider/_cloud.ts",
    find: "if (deviceId === undefined) {\n                return {\n",
    replace: "if (false) {\n                return {\n",
    tests: ["tests/e2e/cloud_vendor_test.ts"],
  },
  {
    name: "light-commands",
    rule: "commands on a watched cloud phone read its known sessions, not the active calls",
    file: "src/provider/_cloud.ts",
    find: "if (!watched) return await this.#partiesOf(account, ext.id);",
    replace: "return await this.#partiesOf(account, ext.id);",
    tests: ["tests/e2e/cloud_vendor_test.ts"],
  },
  {
    name: "watch-batch",
    rule: "watches that start together share one read of the account's active calls",
    file: "src/provider/_cloud.ts",
    find: "if (watched.size > 1) return await this.#partiesOfAll(account, watched);",
    replace: "",
    tests: ["tests/e2e/cloud_vendor_test.ts"],
  },
  {
    name: "ringout-extension",
    rule: "RingOut is not asked to dial an extension number",
    file: "src/provider/_cloud.ts",
    find: "if (isExtensionNumber(number)) {\n      return {",
    replace: "if (false) {\n      return {",
    tests: ["tests/e2e/cloud_commands_test.ts"],
  },
  {
    name: "number-search",
    rule: "a number search drops leading zeros, so a national number finds the international one",
    file: "src/journal/store.ts",
    find: 'return numberKey(number.replace(/\\D/g, "").replace(/^0+/, ""));',
    replace: "return numberKey(number);",
    tests: ["tests/journal/journal_test.ts"],
  },
  {
    name: "csv-quoting",
    rule: "a CSV field with a comma, quote or line break is quoted, quotes doubled (RFC 4180)",
    file: "src/admin/calls_api.ts",
    find: 'return /[",\\r\\n]/.test(text) ? `"${text.replace(/"/g, \'""\')}"` : text;',
    replace: "return text;",
    tests: ["tests/e2e/journal_test.ts"],
  },
  {
    name: "call-rejected",
    rule: "a call that ended unanswered for a reason is recorded with that reason's outcome",
    file: "src/monitor/calls.ts",
    find: "outcome = (reason && UNANSWERED_OUTCOMES[reason]) ??",
    replace: "outcome = undefined ??",
    tests: ["tests/monitor/calls_test.ts"],
  },
];

/** The files a copy of the repository needs to run its tests. */
const COPIED = ["deno.json", "deno.lock", "main.ts", "src", "tests", "profiles", "scripts", "docs"];

/** A problem with the list itself: a `find` that is not exactly once in its file. */
export async function listProblems(root: string, mutants = MUTANTS): Promise<string[]> {
  const out: string[] = [];
  for (const m of mutants) {
    const text = await Deno.readTextFile(join(root, m.file));
    const count = text.split(m.find).length - 1;
    if (count !== 1) out.push(`${m.name}: '${m.find}' occurs ${count} times in ${m.file}`);
  }
  return out;
}

/** Runs `tests` in `dir`: true when they all pass. */
async function testsPass(dir: string, tests: readonly string[]): Promise<boolean> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      ...tests,
    ],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
  const status = await child.status;
  clearTimeout(timer);
  return status.success;
}

if (import.meta.main) {
  const root = join(import.meta.dirname ?? ".", "..");
  const chosen = Deno.args.length === 0
    ? MUTANTS
    : MUTANTS.filter((m) => Deno.args.includes(m.name));
  const problems = await listProblems(root, chosen);
  for (const p of problems) console.error(p);
  if (problems.length > 0) Deno.exit(1);
  const dir = await mkdtemp(join(tmpdir(), "pcs-mutants-"));
  let survived = 0;
  try {
    for (const f of COPIED) await cp(join(root, f), join(dir, f), { recursive: true });
    const all = [...new Set(chosen.flatMap((m) => m.tests))];
    if (!await testsPass(dir, all)) {
      console.error("the unchanged tests do not pass; no mutant can be judged");
      Deno.exit(1);
    }
    console.log(`unchanged: ${all.length} test file(s) pass`);
    for (const m of chosen) {
      const path = join(dir, m.file);
      const original = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, original.replace(m.find, m.replace));
      const started = performance.now();
      const caught = !await testsPass(dir, m.tests);
      await Deno.writeTextFile(path, original);
      if (!caught) survived++;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `${caught ? "caught  " : "SURVIVED"} ${m.name.padEnd(22)} ${seconds.padStart(5)} s  ` +
          `${m.rule} (${m.tests.join(", ")})`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`mutants: ${chosen.length - survived} caught, ${survived} survived`);
  Deno.exit(survived === 0 ? 0 : 1);
}
