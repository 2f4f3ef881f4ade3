/**
 * The page's own style, script and icon, served by the server itself: the page loads nothing
 * from elsewhere (docs/status-page.md §1). The script keeps the live sections up to date and
 * shows every time in the browser's local time; when live updates are lost it shows a banner
 * and greys out the data (docs/status-page.md §3).
 */

import { COLUMNS, OUTCOME_WORDS } from "./page.ts";

/** Below 760 px each table row is a card, each cell labelled with its column's name. */
const CARD_LABELS = Object.entries(COLUMNS).flatMap(([table, names]) =>
  names.map((name, i) => `table.${table} td:nth-child(${i + 1})::before{content:"${name}"}`)
).join("\n");

/** The style sheet, `/page.css`. Tables turn into cards below 760 px. */
export const PAGE_CSS = `
:root{--bad:#b00020;--ok:#1b7f3b;--warn:#8a5a00;--muted:#5f6368;--line:#d9dce1}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#f5f6f8}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.2rem 1rem;padding:1rem 1.25rem .25rem}
h1{font-size:1.25rem;margin:0}
.version{font-weight:400;color:var(--muted);font-size:.9rem}
.live{font-size:.85rem;color:var(--muted)}
.live.on::before{content:"";display:inline-block;width:.55em;height:.55em;border-radius:50%;background:var(--ok);margin-right:.35em}
main{padding:0 1.25rem 2rem;max-width:1500px;transition:opacity .3s}
section{margin-top:1.1rem}
h2{font-size:1.05rem;margin:0 0 .5rem}
.count{font-size:.8rem;font-weight:600;color:#444;background:#e4e7ec;border-radius:9px;padding:.05rem .5rem;margin-left:.2rem;vertical-align:middle}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(165px,1fr));gap:.6rem}
.tile{display:flex;flex-direction:column;gap:.1rem;padding:.65rem .8rem;background:#fff;border:1px solid var(--line);border-left:5px solid #a9afbb;border-radius:6px;color:inherit;text-decoration:none;min-width:0}
a.tile:hover{border-color:#8d95a3}
.tile.ok{border-left-color:var(--ok)}.tile.bad{border-left-color:var(--bad)}.tile.warn{border-left-color:#d29b00}
.tile .label{font-size:.78rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.tile .value{font-size:1.3rem;font-weight:650;overflow-wrap:anywhere}
.tile .note{font-size:.82rem;color:#3c4043;overflow-wrap:anywhere}
table.rows{display:block;width:100%;background:#fff;border:1px solid var(--line)}
table.rows thead,table.rows tbody{display:block}
table.rows tr{display:grid;grid-template-columns:var(--cols)}
table.phones{--cols:7rem 10.5rem 15rem 7.5rem minmax(0,1fr) minmax(0,1fr)}
table.channels{--cols:5.5rem 12rem 9.5rem minmax(0,1fr) minmax(0,1fr) 7rem}
table.findings{--cols:6rem 15rem minmax(0,1fr)}
table.calls{--cols:9rem 5rem 6rem minmax(0,1fr) minmax(0,1fr) 9rem 5.5rem}
tr.call.missed .outcome{color:var(--bad);font-weight:600}
.tag.bad{background:#fde7e9;color:var(--bad)}
#call-number{font:inherit;padding:.35rem .5rem;width:min(24rem,100%);margin-bottom:.5rem}
table.rows tbody tr{content-visibility:auto;contain-intrinsic-size:auto 3rem}
table.rows th,table.rows td{display:block;min-width:0;padding:.4rem .6rem;text-align:left;border-bottom:1px solid #eceef1;overflow-wrap:anywhere}
table.rows th{background:#eef0f3;font-weight:600;font-size:.85rem}
tr.unreachable td{background:#fff4f4}
.detail{display:block;font-size:.82rem;color:#4d5156}
.muted{color:var(--muted)}.bad{color:var(--bad)}.ok{color:var(--ok)}
.dot{display:inline-block;width:.6em;height:.6em;border-radius:50%;background:#b5b9c0;margin-right:.4em}
.dot.ok{background:var(--ok)}.dot.bad{background:var(--bad)}
.tag{font-size:.75rem;padding:0 .35em;border-radius:3px;background:#e4e7ec;color:#333;white-space:nowrap}
.call{display:block}.call.alerting{font-weight:650}
.when{font-size:.82rem;color:var(--muted);white-space:nowrap}
td.nowrap{white-space:nowrap}
ol.problems{list-style:none;margin:0;padding:0;background:#fff;border:1px solid var(--line)}
ol.problems li{padding:.35rem .6rem;border-bottom:1px solid #eceef1;overflow-wrap:anywhere}
.level{font-size:.72rem;text-transform:uppercase;font-weight:700;letter-spacing:.03em}
.error .level{color:var(--bad)}.warning .level{color:var(--warn)}.info .level{color:var(--muted)}
.area{color:var(--muted)}
code{overflow-wrap:anywhere;font-size:.9em}
details.provisioning{max-width:100%;min-width:0;margin:.5rem 0}
pre.provisioning{max-width:100%;overflow-x:auto;padding:.5rem;background:#f6f7f9;border:1px solid #e4e7ec;font-size:.82rem}
.banner{position:sticky;top:0;z-index:2;margin:.4rem 1.25rem 0;padding:.6rem .8rem;background:var(--bad);color:#fff;border-radius:6px;font-weight:600}
.banner[hidden]{display:none}
body.stale main{opacity:.45;filter:grayscale(1)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:760px){
header{padding:.75rem .75rem .25rem}main{padding:0 .75rem 1.5rem}.banner{margin:.4rem .75rem 0}
.tiles{grid-template-columns:repeat(auto-fill,minmax(140px,1fr))}
table.rows tr{display:block}
table.rows thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.rows tbody tr{border-bottom:2px solid var(--line);padding:.25rem 0;contain-intrinsic-size:auto 12rem}
table.rows td{border:0;padding:.2rem .6rem .2rem 7.4rem;display:flow-root;white-space:normal}
table.rows td::before{float:left;width:6.5rem;margin-left:-6.8rem;font-weight:600;color:#4d5156;font-size:.82rem;line-height:1.3}
${CARD_LABELS}
}
`;

/** The script, `/page.js`. Section ids are filled in by the app. */
export function pageScript(sections: readonly string[]): string {
  return `"use strict";
(() => {
  const SECTIONS = ${JSON.stringify(sections)};
  const STALE_MS = 15000;
  const banner = document.getElementById("banner");
  const live = document.getElementById("live");
  let last = Date.now();
  let lost = false;
  let source;
  const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
  const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const local = (d, today = new Date().toDateString()) =>
    (d.toDateString() === today ? timeOnly : dateTime).format(d);
  const localize = (root) => {
    const today = new Date().toDateString();
    for (const t of root.querySelectorAll("time[datetime]")) {
      const d = new Date(t.getAttribute("datetime"));
      if (Number.isNaN(d.getTime())) continue;
      t.textContent = local(d, today);
      t.title = dateTime.format(d);
    }
  };
  const alive = () => {
    last = Date.now();
    live.textContent = "live";
    live.classList.add("on");
    if (!lost) return;
    lost = false;
    banner.hidden = true;
    document.body.classList.remove("stale");
  };
  const lose = () => {
    live.textContent = "reconnecting…";
    live.classList.remove("on");
    if (lost) return;
    lost = true;
    banner.textContent = "Live updates lost at " + local(new Date()) +
      ". The figures below may be out of date; trying to reconnect…";
    banner.hidden = false;
    document.body.classList.add("stale");
  };
  const connect = () => {
    // The versions of the sections shown, so only newer ones are sent.
    const have = SECTIONS.map((id) => id + ":" + (document.getElementById(id).dataset.v || ""));
    source = new EventSource("/api/live?have=" + encodeURIComponent(have.join(",")));
    source.onopen = alive;
    for (const id of SECTIONS) {
      source.addEventListener(id, (e) => {
        const el = document.getElementById(id);
        el.innerHTML = e.data;
        el.dataset.v = e.lastEventId;
        localize(el);
        alive();
      });
    }
    source.addEventListener("ping", alive);
    source.onerror = () => {
      lose();
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
  };
  // The search by number (docs/status-page.md §8): asks /api/calls, shows the answer as text.
  const CALL_COLUMNS = ${JSON.stringify(COLUMNS.calls)};
  const OUTCOME_WORDS = ${JSON.stringify(OUTCOME_WORDS)};
  const search = document.getElementById("call-number");
  const results = document.getElementById("call-results");
  if (search && results) {
    let timer;
    let asked = 0;
    const el = (tag, text, cls) => {
      const e = document.createElement(tag);
      if (text !== undefined) e.textContent = text;
      if (cls) e.className = cls;
      return e;
    };
    const talk = (c) => {
      if (!c.answeredAt) return "—";
      const s = c.talkSeconds;
      return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    };
    const show = async () => {
      const number = search.value.trim();
      const mine = ++asked;
      if (number === "") return results.replaceChildren();
      let ok = false;
      let body;
      try {
        const r = await fetch("/api/calls?limit=50&number=" + encodeURIComponent(number));
        ok = r.ok;
        body = await r.json();
      } catch {
        body = { error: "the server did not answer" };
      }
      if (mine !== asked) return;
      if (!ok) return results.replaceChildren(el("p", body.error, "bad"));
      if (body.calls.length === 0) {
        return results.replaceChildren(el("p", "No calls with a number ending in " + number + ".", "muted"));
      }
      const table = el("table", undefined, "rows calls");
      const head = el("tr");
      for (const name of CALL_COLUMNS) head.appendChild(el("th", name));
      table.appendChild(el("thead")).appendChild(head);
      const rows = table.appendChild(el("tbody"));
      for (const c of body.calls) {
        const row = el("tr", undefined, "call " + c.outcome);
        const when = el("td");
        when.appendChild(el("time", local(new Date(c.startedAt)))).setAttribute("datetime", c.startedAt);
        row.appendChild(when);
        row.appendChild(el("td", c.device));
        row.appendChild(el("td", c.direction === "incoming" ? "in" : "out"));
        row.appendChild(el("td", c.number));
        row.appendChild(el("td", c.name));
        const outcome = el("td");
        outcome.appendChild(el("span", OUTCOME_WORDS[c.outcome] ?? c.outcome, "outcome"));
        if (c.transferredTo) outcome.appendChild(document.createTextNode(" to " + c.transferredTo));
        row.appendChild(outcome);
        row.appendChild(el("td", talk(c)));
        rows.appendChild(row);
      }
      results.replaceChildren(table);
    };
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(show, 250);
    });
  }
  localize(document);
  connect();
  setInterval(() => {
    if (Date.now() - last <= STALE_MS) return;
    lose();
    last = Date.now();
    source.close();
    connect();
  }, 1000);
})();
`;
}

/** The icon, `/favicon.svg`: a handset on blue. */
export const FAVICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1b5e9e"/><path fill="#fff" d="M10.5 7c.8 0 1.4.5 1.7 1.2l1.3 3.2c.3.7.1 1.5-.5 2l-1.6 1.3a12 12 0 0 0 5.9 5.9l1.3-1.6c.5-.6 1.3-.8 2-.5l3.2 1.3c.7.3 1.2 1 1.2 1.7V24c0 1.1-.9 2-2 2C14.3 26 6 17.7 6 8.9 6 7.9 6.9 7 8 7z"/></svg>`;
