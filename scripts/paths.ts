/**
 * Which files of `src/` a call command and a phone callback run through (docs/architecture.md
 * §1), measured rather than read: the real server starts in a child process under V8
 * coverage, with demo phones, a channel that monitors 101, and one warm-up of each; a second
 * child does the same and then one more of the two. The functions whose call counts grew are
 * the path. The simulated phones are the phones' side and are left out.
 *
 * Usage: `deno task paths` (prints the files and functions of each path, then a summary line).
 */

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** What the child does after the shared set-up. */
type Phase = "setup" | "command" | "callback";

/** File below `src/` → function (name and offset) → how often it ran. */
type Counts = Map<string, Map<string, number>>;

const ROOT = join(import.meta.dirname ?? ".", "..");

/** The child: the server, a channel, the warm-ups, then the phase's own step. */
async function child(phase: Phase): Promise<void> {
  const { startServer } = await import("../tests/e2e/_server.ts");
  const pcs = await startServer({
    lines: ["demoPhones = 2", "phoneCheckSeconds = 0", "configReloadSeconds = 3600"],
  });
  const pause = () => new Promise((r) => setTimeout(r, 300));
  const c = await pcs.channel();
  const phone = pcs.phone("101");
  await c.command("STLI;Version=2");
  await c.command("MonitorStart 101");
  await pcs.phonesIdle();
  // Warm-up: a command to a phone nobody monitors, a callback from a monitored one.
  await c.command("MakeCall 102 556");
  phone.callFrom("556");
  await pcs.phonesIdle();
  await pause();
  await c.sync();
  if (phase === "command") {
    const reply = await c.command("MakeCall 102 555");
    if (reply !== "error_ind SUCCESS MakeCall") throw new Error(`MakeCall answered ${reply}`);
  } else if (phase === "callback") {
    phone.callFrom("557");
    const event = await c.readLine();
    if (!event.startsWith("Delivered 101 ")) throw new Error(`the channel read ${event}`);
  }
  await pause();
  await pcs.close();
}

/** Runs one child under coverage and reads its counts. */
async function measure(phase: Phase): Promise<Counts> {
  const dir = await mkdtemp(join(tmpdir(), `pcs-paths-${phase}-`));
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `--coverage=${dir}`, fileURLToPath(import.meta.url), "--child", phase],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return await readCounts(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readCounts(dir: string): Promise<Counts> {
  const counts: Counts = new Map();
  const src = "/src/";
  for (const name of await readdir(dir)) {
    const script = JSON.parse(await readFile(join(dir, name), "utf8")) as {
      url: string;
      functions: { functionName: string; ranges: { startOffset: number; count: number }[] }[];
    };
    const at = script.url.indexOf(src);
    if (!script.url.startsWith("file:") || at < 0) continue;
    const file = script.url.slice(at + src.length);
    if (file.startsWith("simulator/")) continue;
    const fns = new Map<string, number>();
    for (const f of script.functions) {
      const { startOffset, count } = f.ranges[0];
      // Offset 0 is the module itself, evaluated once whatever runs.
      if (startOffset > 0) fns.set(`${f.functionName || "(anonymous)"}@${startOffset}`, count);
    }
    counts.set(file, fns);
  }
  return counts;
}

/** File → the functions that ran more often in `after` than in `before`. */
export function grown(before: Counts, after: Counts): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [file, fns] of after) {
    const was = before.get(file);
    const ran = [...fns].filter(([fn, n]) => n > (was?.get(fn) ?? 0)).map(([fn]) =>
      fn.replace(/@\d+$/, "")
    );
    if (ran.length > 0) out.set(file, ran);
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") {
    await child(Deno.args[1] as Phase);
  } else {
    const setup = await measure("setup");
    const summary: string[] = [];
    for (const phase of ["command", "callback"] as const) {
      const path = grown(setup, await measure(phase));
      const functions = [...path.values()].reduce((n, f) => n + f.length, 0);
      console.log(`${phase === "command" ? "MakeCall 102 555" : "a callback of 101"}:`);
      for (const [file, fns] of path) console.log(`  ${file.padEnd(28)} ${fns.join(", ")}`);
      summary.push(`${phase}: ${path.size} files, ${functions} functions`);
    }
    console.log(`paths: ${summary.join("; ")}`);
  }
}
