/**
 * Runs every benchmark under scripts/bench/ (files named `*_bench.ts`), each of which prints
 * a table comparing the project's code with a baseline measured in the same run. Targets
 * live here, never in tests.
 *
 *   deno task bench            all benchmarks
 *   deno task bench http1      those whose file name contains "http1"
 */

import { join } from "node:path";

const dir = import.meta.dirname!;
const filter = Deno.args[0] ?? "";
const files = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts") && n.includes(filter))
  .sort();
let failed = 0;
for (const name of files) {
  console.log(`\n## ${name}`);
  const r = await new Deno.Command(Deno.execPath(), {
    // Benchmarks start servers and read other processes' /proc entries (CPU time, RSS),
    // which Deno grants only with --allow-all. They are tools, never shipped.
    args: ["run", "--allow-all", join(dir, name), ...Deno.args.slice(1)],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!r.success) failed++;
}
Deno.exit(failed === 0 ? 0 : 1);
