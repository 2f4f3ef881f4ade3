/** Shared bits of the benchmarks: timing, a percentile, and the printed table. */

/** Runs `fn` `n` times and returns each duration in milliseconds. */
export async function timeEach(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

/** The p-th percentile (0-100) of durations. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A row of the result table. */
export interface Row {
  readonly name: string;
  readonly values: Record<string, number>;
}

/** Prints rows as a Markdown table, with each value's ratio to the baseline row (the first). */
export function printTable(rows: Row[], unit: Record<string, string>): void {
  const keys = Object.keys(rows[0].values);
  console.log(`| case | ${keys.map((k) => `${k} (${unit[k] ?? ""})`).join(" | ")} | vs baseline |`);
  console.log(`|---|${keys.map(() => "---").join("|")}|---|`);
  const base = rows[0].values[keys[0]];
  for (const r of rows) {
    const cells = keys.map((k) => r.values[k].toFixed(r.values[k] < 10 ? 3 : 0));
    console.log(`| ${r.name} | ${cells.join(" | ")} | ${(r.values[keys[0]] / base).toFixed(2)}x |`);
  }
}
