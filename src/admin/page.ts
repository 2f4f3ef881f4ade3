/**
 * The status page as HTML (docs/status-page.md §1): a summary that answers the
 * administrator's questions, then phones, channels, recent problems and the configuration.
 * Each section renders on its own, so live updates send only the sections that changed
 * (docs/status-page.md §3). Every value is escaped (display names come from phones); every
 * time is a `<time>` the page's script shows in the browser's local time.
 */

import type { CallOutcome } from "../contract.ts";
import { escapeHtml as esc } from "../text.ts";
import type {
  CallsView,
  CallView,
  ChannelView,
  LastCommandView,
  PhoneView,
  ProblemView,
  StatusView,
} from "./view.ts";

/** The live sections, in page order; each is an element with this id. */
export const SECTIONS = [
  "summary",
  "phones",
  "calls",
  "channels",
  "problems",
  "configuration",
] as const;

/** One live section. */
export type SectionId = (typeof SECTIONS)[number];

/** A section's HTML and the version the page and the live stream know it by. */
export interface RenderedSection {
  readonly html: string;
  readonly version: string;
}

/**
 * The columns of each table. At narrow widths every row becomes a card and each cell is
 * labelled with its column's name by the style sheet, which is made from this list.
 */
export const COLUMNS = {
  phones: ["Extension", "Address", "Reachable", "Watched by", "Calls", "Last command"],
  channels: ["Plug-in", "From computer", "Connected since", "Protocol", "Watching", "Commands"],
  findings: ["Level", "Where", "Finding"],
  calls: ["Time", "Phone", "Direction", "Number", "Name", "Outcome", "Duration"],
} as const;

/** How many unreachable extensions the summary names before "and N more". */
const NAMED_UNREACHABLE = 8;

/**
 * A time as `<time>`: ISO 8601 in the attribute for the script, UTC text until the script
 * has replaced it with local time.
 */
function time(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")} UTC</time>`;
}

function muted(text: string): string {
  return `<span class="muted">${esc(text)}</span>`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function tile(
  label: string,
  value: string,
  note: string,
  tone: "ok" | "bad" | "warn" | "plain",
  href?: string,
): string {
  const body = `<span class="label">${esc(label)}</span><span class="value">${value}</span>` +
    (note === "" ? "" : `<span class="note">${note}</span>`);
  return href
    ? `<a class="tile ${tone}" href="${href}">${body}</a>`
    : `<div class="tile ${tone}">${body}</div>`;
}

/**
 * Calls now in progress. A call between two phones of this server shows on both; it is
 * counted once.
 */
export function callsInProgress(phones: readonly PhoneView[]): number {
  const extensions = new Set(phones.map((p) => p.extension));
  const pairs = new Set<string>();
  let count = 0;
  for (const p of phones) {
    for (const c of p.calls) {
      if (extensions.has(c.remote) && c.remote !== p.extension) {
        const pair = [p.extension, c.remote].sort().join(" ");
        if (pairs.has(pair)) continue;
        pairs.add(pair);
      }
      count++;
    }
  }
  return count;
}

function renderSummary(v: StatusView): string {
  const tiles: string[] = [];
  const listenerTrouble = v.listeners.problems.length > 0 || v.listeners.logFileProblem;
  tiles.push(tile(
    "Server",
    listenerTrouble ? "up, with problems" : "up",
    `since ${time(v.startedAt)} · version ${esc(v.version)}` +
      [...v.listeners.problems, v.listeners.logFileProblem ?? ""].filter((p) => p !== "")
        .map((p) => `<br><span class="bad">${esc(p)}</span>`).join(""),
    listenerTrouble ? "bad" : "ok",
  ));

  const reachable = v.phones.filter((p) => p.reachable === "reachable").length;
  const down = v.phones.filter((p) => p.reachable === "unreachable").map((p) => p.extension);
  const unknown = v.phones.filter((p) => p.reachable === "unknown").length;
  const notes: string[] = [];
  if (down.length > 0) {
    const named = down.slice(0, NAMED_UNREACHABLE).map(esc).join(", ");
    const more = down.length > NAMED_UNREACHABLE
      ? ` and ${down.length - NAMED_UNREACHABLE} more`
      : "";
    notes.push(`<span class="bad">not reachable: ${named}${more}</span>`);
  }
  if (unknown > 0) notes.push(`${unknown} not checked yet`);
  tiles.push(tile(
    "Phones reachable",
    v.phones.length === 0 ? "no phones" : `${reachable} of ${v.phones.length}`,
    notes.join("<br>"),
    down.length > 0 ? "bad" : unknown > 0 ? "plain" : "ok",
    "#phones",
  ));

  tiles.push(tile(
    "Plug-ins connected",
    String(v.channels.length),
    v.refusedChannels > 0 ? `${plural(v.refusedChannels, "connection")} refused since start` : "",
    "plain",
    "#channels",
  ));
  tiles.push(tile("Calls in progress", String(callsInProgress(v.phones)), "", "plain", "#phones"));

  const c = v.configuration;
  const errors = c.findings.filter((f) => f.level === "error").length;
  const warnings = c.findings.filter((f) => f.level === "warning").length;
  tiles.push(tile(
    "Configuration",
    c.valid ? "valid" : "has errors",
    c.valid
      ? (warnings > 0 ? plural(warnings, "warning") : "")
      : `${plural(errors, "error")}; running on the last good settings`,
    c.valid ? (warnings > 0 ? "warn" : "ok") : "bad",
    "#configuration",
  ));

  const p = v.provider;
  tiles.push(tile(
    "Provider",
    esc(p.configured ? `${p.state}` : "not configured"),
    p.configured
      ? esc(p.id ?? "") + (p.detail ? `<br><span class="bad">${esc(p.detail)}</span>` : "") +
        (p.events ? `<br>events: ${esc(p.events)}` : "")
      : "only needed for RingCentral; FileMaker's provider requests get an error until it is set",
    !p.configured ? "plain" : p.healthy ? "ok" : "bad",
  ));

  const problems = v.problems.length;
  tiles.push(tile(
    "Recent problems",
    problems === 0 ? "none" : String(problems),
    problems === 0 ? "" : `last at ${time(v.problems[0].at)}`,
    problems === 0 ? "ok" : v.problems.some((x) => x.level !== "warning") ? "bad" : "warn",
    "#problems",
  ));
  return `<h2 class="visually-hidden">Summary</h2><div class="tiles">${tiles.join("")}</div>`;
}

function who(call: CallView): string {
  const number = call.remote === "" ? "an unknown number" : esc(call.remote);
  return call.displayName === "" ? number : `${number} (${esc(call.displayName)})`;
}

/** A call in words, e.g. "talking with 102". */
export function callInWords(call: CallView): string {
  switch (call.state) {
    case "alerting":
      return `ringing: call from ${who(call)}`;
    case "dialing":
      return `calling ${who(call)}`;
    case "connected":
      return `talking with ${who(call)}`;
    case "held":
      return `on hold: ${who(call)}`;
  }
}

function reachableCell(p: PhoneView): string {
  const since = p.reachableSince === undefined ? "" : `, since ${time(p.reachableSince)}`;
  let out: string;
  if (p.reachable === "reachable") out = `<span class="dot ok"></span>yes${since}`;
  else if (p.reachable === "unreachable") {
    out = `<span class="dot bad"></span><span class="bad">no</span>${since}` +
      (p.reachDetail ? `<span class="detail">${esc(p.reachDetail)}</span>` : "");
  } else out = `<span class="dot"></span>${muted("not checked yet")}`;
  if (p.blockedUntil !== undefined) {
    const why = p.blockedReason === "PhoneLocked" ? "it showed its lock-out page" : "login refused";
    out += `<span class="detail bad">${why}; left alone until ${time(p.blockedUntil)}</span>`;
  }
  return out;
}

function lastCell(last: LastCommandView | undefined): string {
  if (!last) return muted("none yet");
  const result = last.ok
    ? `<span class="ok">done</span> in ${last.ms} ms`
    : `<span class="bad">failed: ${esc(last.reason ?? "")}</span>`;
  const detail = !last.ok && last.detail ? `<span class="detail">${esc(last.detail)}</span>` : "";
  return `<b>${esc(last.command)}</b> ${result} <span class="when">${
    time(last.at)
  }</span>${detail}`;
}

function phoneRow(p: PhoneView): string {
  // Calls are followed once a plug-in has watched the phone (MonitorStart) this run.
  const calls = !p.callsKnown
    ? muted("not followed until a plug-in watches this phone")
    : p.calls.length === 0
    ? muted("idle")
    : p.calls.map((c) => `<span class="call ${c.state}">${callInWords(c)}</span>`).join("");
  const extension = `<b>${esc(p.extension)}</b>${p.demo ? ' <span class="tag">demo</span>' : ""}`;
  const monitored = p.monitoredBy === 0 ? muted("no plug-in") : plural(p.monitoredBy, "plug-in");
  return `<tr class="${p.reachable}"><td class="nowrap">${extension}</td>` +
    `<td class="nowrap">${esc(p.address)}</td><td>${reachableCell(p)}</td>` +
    `<td>${monitored}</td><td>${calls}</td><td>${lastCell(p.last)}</td></tr>`;
}

function table(kind: keyof typeof COLUMNS, rows: readonly string[]): string {
  // Laid out as a grid (see the style sheet), so the table roles are said explicitly.
  return `<table class="rows ${kind}" role="table"><thead role="rowgroup"><tr role="row">${
    COLUMNS[kind].map((h) => `<th scope="col" role="columnheader">${h}</th>`).join("")
  }</tr></thead><tbody role="rowgroup">${rows.join("")}</tbody></table>`;
}

function renderPhones(v: StatusView): string {
  const head = `<h2>Phones <span class="count">${v.phones.length}</span></h2>`;
  if (v.phones.length === 0) {
    return `${head}<p class="muted">No phones are configured: add phone= lines to the configuration file.</p>`;
  }
  return head + table("phones", v.phones.map(phoneRow)) + provisioningBlocks(v.phones);
}

/**
 * The lines to load into each phone whose action URLs are provisioned (docs/yealink.md §5),
 * ready to copy into its provisioning file.
 */
function provisioningBlocks(phones: readonly PhoneView[]): string {
  return phones.filter((p) => p.provisioning).map((p) => {
    const { lines, error } = p.provisioning!;
    const body = lines
      ? `<pre class="provisioning">${esc(lines.join("\n"))}</pre>`
      : `<p class="muted">${esc(error ?? "not known yet")}</p>`;
    return `<details class="provisioning" id="provisioning-${esc(p.extension)}"><summary>` +
      `Provisioning lines for ${esc(p.extension)}</summary>${body}</details>`;
  }).join("");
}

function channelRow(c: ChannelView): string {
  const handshake = c.handshake ? esc(c.handshake) : muted("not said yet");
  const monitored = c.monitored.length === 0
    ? muted("none")
    : esc(c.monitored.slice(0, 20).join(", ")) +
      (c.monitored.length > 20 ? ` and ${c.monitored.length - 20} more` : "");
  return `<tr><td>#${c.id}</td><td>${esc(c.peer)}</td><td>${time(c.connectedSince)}</td>` +
    `<td>${handshake}<span class="detail">call details: ${esc(c.mode)}</span></td>` +
    `<td>${monitored}</td><td>${c.commands}</td></tr>`;
}

function renderChannels(v: StatusView): string {
  const head = `<h2>Plug-ins <span class="count">${v.channels.length}</span></h2>`;
  if (v.channels.length === 0) {
    return `${head}<p class="muted">No plug-in is connected.</p>`;
  }
  return head + table("channels", v.channels.map(channelRow));
}

function problemItem(p: ProblemView): string {
  const level = p.level === "warning" ? "warning" : "error";
  const times = p.count > 1 ? ` <span class="tag">×${p.count}</span>` : "";
  return `<li class="${level}">${time(p.at)} <span class="level">${level}</span> ` +
    `<span class="area">${esc(p.area)}</span> <span class="message">${
      esc(p.message)
    }</span>${times}</li>`;
}

/** A call's outcome as the Calls view says it (here and in the search's script). */
export const OUTCOME_WORDS: Record<CallOutcome, string> = {
  answered: "answered",
  missed: "missed",
  rejected: "rejected",
  busy: "busy",
  transferred: "transferred",
  elsewhere: "answered elsewhere",
  failed: "not connected",
};

/** Seconds as `m:ss` (or `h:mm:ss`). */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

function callRow(c: CallsView["today"][number]): string {
  const outcome = OUTCOME_WORDS[c.outcome];
  const to = c.outcome === "transferred" && c.transferredTo ? ` to ${esc(c.transferredTo)}` : "";
  const talk = c.answeredAt === undefined ? muted("—") : duration(c.endedAt - c.answeredAt);
  return `<tr class="call ${esc(c.outcome)}"><td>${time(c.startedAt)}</td><td>${
    esc(c.device)
  }</td><td>${c.direction === "incoming" ? "in" : "out"}</td><td>${
    c.number === "" ? muted("unknown") : esc(c.number)
  }</td><td>${esc(c.name)}</td><td><span class="outcome">${
    esc(outcome)
  }</span>${to}</td><td>${talk}</td></tr>`;
}

function renderCalls(v: StatusView): string {
  const calls = v.calls;
  if (!calls) return `<h2>Calls today</h2><p class="muted">No call journal.</p>`;
  if (calls.unavailable) {
    return `<h2>Calls today</h2><p class="muted">${esc(calls.unavailable)}.</p>`;
  }
  const count = calls.more ? `${calls.today.length}+` : String(calls.today.length);
  const head = `<h2>Calls today <span class="count">${count}</span></h2>`;
  const missed = calls.missed.length === 0
    ? `<p class="missed muted">No missed calls today.</p>`
    : `<p class="missed">Missed today: ${
      calls.missed.map((m) => `<span class="tag bad">${esc(m.device)}: ${m.count}</span>`)
        .join(" ")
    }</p>`;
  if (calls.today.length === 0) return `${head}${missed}<p class="muted">No calls yet today.</p>`;
  const more = calls.more
    ? `<p class="muted">The latest ${calls.today.length}; all of today's are in ` +
      `<a href="/api/calls.csv?since=${
        encodeURIComponent(new Date(calls.since).toISOString())
      }">calls.csv</a>.</p>`
    : "";
  return head + missed + table("calls", calls.today.map(callRow)) + more;
}

/**
 * The search by number under the Calls view: not a live section, so what is typed stays;
 * the page's script asks `/api/calls` (docs/status-page.md §8).
 */
const CALL_SEARCH = `<section id="call-search"><h2>Find calls by number</h2>` +
  `<input id="call-number" type="search" inputmode="tel" autocomplete="off" ` +
  `placeholder="the end of a number, e.g. 030 1234" aria-label="Number">` +
  `<div id="call-results" aria-live="polite"></div></section>`;

function renderProblems(v: StatusView): string {
  const head = `<h2>Recent problems <span class="count">${v.problems.length}</span></h2>`;
  if (v.problems.length === 0) return `${head}<p class="muted">No warnings or errors lately.</p>`;
  return `${head}<ol class="problems">${v.problems.map(problemItem).join("")}</ol>`;
}

function renderConfiguration(v: StatusView): string {
  const c = v.configuration;
  const state = c.valid
    ? `<p>The server runs on <code>${esc(c.file)}</code>.</p>`
    : `<p class="bad">The latest text of <code>${
      esc(c.file)
    }</code> has errors; the server runs on the last good settings until they are fixed.</p>`;
  const checked = c.checkedAt === undefined
    ? `<p class="muted">Unchanged since the server started.</p>`
    : `<p>Last change read at ${time(c.checkedAt)}.</p>`;
  const findings = c.findings.length === 0 ? `<p class="muted">No findings.</p>` : table(
    "findings",
    c.findings.map((f) => {
      const name = f.file.split(/[\\/]/).pop() ?? f.file;
      const where = f.line === undefined ? name : `${name}, line ${f.line}`;
      return `<tr class="${f.level}"><td><span class="level">${f.level}</span></td>` +
        `<td>${esc(where)}</td><td>${esc(f.message)}</td></tr>`;
    }),
  );
  return `<h2>Configuration</h2>${state}${checked}${findings}`;
}

/** Every live section's inner HTML. */
export function renderSections(view: StatusView): Record<SectionId, string> {
  return {
    summary: renderSummary(view),
    phones: renderPhones(view),
    channels: renderChannels(view),
    calls: renderCalls(view),
    problems: renderProblems(view),
    configuration: renderConfiguration(view),
  };
}

/** The whole page around the sections. */
export function renderPage(
  title: string,
  version: string,
  sections: Record<SectionId, RenderedSection>,
): string {
  const body = SECTIONS.map((id) =>
    `<section id="${id}" data-v="${esc(sections[id].version)}">${sections[id].html}</section>` +
    (id === "calls" ? `\n${CALL_SEARCH}` : "")
  ).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/page.css">
<script src="/page.js" defer></script>
</head>
<body>
<header><h1>${esc(title)} <span class="version">${esc(version)}</span></h1>` +
    `<span id="live" class="live">connecting…</span></header>
<div id="banner" class="banner" role="alert" hidden></div>
<main id="data">
${body}
</main>
</body>
</html>
`;
}
