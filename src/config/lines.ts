/**
 * The line grammar shared by the configuration file and phone profiles: UTF-8 with an optional
 * BOM, LF or CR LF line ends, `#` and `;` comment lines, `key = value` pairs and, in profiles,
 * `[section]` headers. Values are trimmed; there are no inline comments, because passwords may
 * contain `#` and `;`.
 */

/** One meaningful line of a file, numbered from 1. */
export type Line =
  | { readonly kind: "pair"; readonly line: number; readonly key: string; readonly value: string }
  | { readonly kind: "section"; readonly line: number; readonly name: string }
  | { readonly kind: "invalid"; readonly line: number; readonly text: string };

/** Splits a file into its meaningful lines, skipping blanks and comments. */
export function readLines(text: string): Line[] {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const out: Line[] = [];
  body.split(/\r\n|\n|\r/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) return;
    const section = /^\[\s*([^\]]*?)\s*\]$/.exec(trimmed);
    if (section) {
      out.push({ kind: "section", line, name: section[1] });
      return;
    }
    const eq = trimmed.indexOf("=");
    if (eq <= 0) {
      out.push({ kind: "invalid", line, text: trimmed });
      return;
    }
    out.push({
      kind: "pair",
      line,
      key: trimmed.slice(0, eq).trim(),
      value: trimmed.slice(eq + 1).trim(),
    });
  });
  return out;
}

/** Levenshtein distance, for "did you mean" hints on misspelt keys. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word` (case-insensitively), or undefined when none is close
 * enough to be a plausible typo.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    const prefix = w.length >= 4 && (lc.startsWith(w) || w.startsWith(lc));
    const d = prefix ? 1 : editDistance(w, lc);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(w.length / 3)) ? best : undefined;
}
