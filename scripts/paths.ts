/**
 * Which files of `src/` a call command and a phone callback run through (docs/architecture.md
 * §1), measured rather than read. The real server (`main.ts`) runs in a child process under V8
 * coverage; this script is the phone (a small HTTP server that answers every request 200 and
 * keeps the action URLs the server writes into it) and the plug-in (a TCP channel). Each child
 * does the same set-up, a warm-up command and callback, and then either nothing, one more
 * MakeCall or one more callback; the functions whose call counts grew are the path. Only the
 * server is measured: the phone and the plug-in run here, outside it.
 *
 * Usage: `deno task paths` (prints the files and functions of each path, then a summary line).
 */

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUN_PERMISSIONS } from "../src/server/permissions.ts";

/** What the child does after the shared set-up. */
type Phase = "setup" | "command" | "callback";

/** File below `src/` → function (name and offset) → how often it ran. */
type Counts = Map<string, Map<string, number>>;

const ROOT = join(import.meta.dirname ?? ".", "..");

/** A port nobody listens on now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The phone: answers 200, remembers the incoming-call URL the server writes into it. */
function fakePhone() {
  let incoming: string | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const written = url.searchParams.get("action_incoming_url");
    if (written) incoming = written;
    return new Response("ok");
  });
  return {
    port: server.addr.port,
    /** The callback of a call from `remote`, as the phone would send it. */
    callback(remote: string): string {
      if (!incoming) throw new Error("the server wrote no action URL into the phone");
      return incoming.replace("$call-id", `c${remote}`).replace("$remote", `${remote}@pbx`)
        .replace("$display_remote", "").replace("$nr_ongoing_calls", "1");
    },
    close: () => server.shutdown(),
  };
}

/** A channel: lines in, lines out. */
async function channel(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const decoder = new TextDecoder();
  let text = "";
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  (async () => {
    for await (const chunk of conn.readable) {
      text += decoder.decode(chunk, { stream: true });
      let at;
      while ((at = text.indexOf("\r\n")) >= 0) {
        const line = text.slice(0, at);
        text = text.slice(at + 2);
        const w = waiting.shift();
        if (w) w(line);
        else lines.push(line);
      }
    }
  })().catch(() => {});
  const next = () =>
    lines.length > 0
      ? Promise.resolve(lines.shift()!)
      : new Promise<string>((resolve) => waiting.push(resolve));
  return {
    async send(line: string): Promise<string> {
      await conn.write(new TextEncoder().encode(line + "\r\n"));
      for (;;) {
        const l = await next();
        if (l.startsWith("error_ind ")) return l;
      }
    },
    /** The next line that starts with `prefix`. */
    async until(prefix: string): Promise<string> {
      for (;;) {
        const l = await next();
        if (l.startsWith(prefix)) return l;
      }
    },
    close: () => conn.close(),
  };
}

/** One server under coverage: set-up, warm-up, the phase's own step, stop. */
async function measure(phase: Phase): Promise<Counts> {
  const dir = await mkdtemp(join(tmpdir(), `pcs-paths-${phase}-`));
  const phone = fakePhone();
  try {
    const channelPort = freePort();
    const httpPort = freePort();
    const config = join(dir, "phone-companion.cfg");
    await writeFile(
      config,
      [
        `serverPort = ${channelPort}`,
        `serverHttpPort = ${httpPort}`,
        "serverBindAddress = 127.0.0.1",
        "demoPhones = 0",
        "phoneCheckSeconds = 0",
        "configReloadSeconds = 3600",
        `phone=201@127.0.0.1:${phone.port} snom.cfg`,
        "",
      ].join("\n"),
    );
    const coverage = join(dir, "coverage");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...RUN_PERMISSIONS, `--coverage=${coverage}`, "main.ts", "--config", config],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let c: Awaited<ReturnType<typeof channel>> | undefined;
    for (let i = 0; i < 200 && !c; i++) {
      c = await channel(channelPort).catch(() => undefined);
      if (!c) await new Promise((r) => setTimeout(r, 50));
    }
    if (!c) throw new Error("the server did not start");
    await c.send("STLI;Version=2");
    await c.send("MonitorStart 201");
    const ring = async (remote: string) => {
      (await fetch(phone.callback(remote))).body?.cancel();
      await c!.until("Delivered 201 ");
    };
    // Warm-up: one command, one callback.
    await c.send("MakeCall 201 556");
    await ring("557");
    if (phase === "command") {
      const reply = await c.send("MakeCall 201 555");
      if (reply !== "error_ind SUCCESS MakeCall") throw new Error(`MakeCall answered ${reply}`);
    } else if (phase === "callback") {
      await ring("558");
    }
    c.close();
    child.kill("SIGTERM");
    await child.status;
    return await readCounts(coverage);
  } finally {
    await phone.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function readCounts(dir: string): Promise<Counts> {
  const counts: Counts = new Map();
  const src = join(ROOT, "src") + "/";
  for (const name of await readdir(dir)) {
    const script = JSON.parse(await readFile(join(dir, name), "utf8")) as {
      url: string;
      functions: { functionName: string; ranges: { startOffset: number; count: number }[] }[];
    };
    if (!script.url.startsWith("file://")) continue;
    const path = decodeURIComponent(new URL(script.url).pathname);
    if (!path.startsWith(src)) continue;
    const fns = new Map<string, number>();
    for (const f of script.functions) {
      const { startOffset, count } = f.ranges[0];
      // Offset 0 is the module itself, evaluated once whatever runs.
      if (startOffset > 0) fns.set(`${f.functionName || "(anonymous)"}@${startOffset}`, count);
    }
    counts.set(path.slice(src.length), fns);
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
  const setup = await measure("setup");
  const summary: string[] = [];
  for (const phase of ["command", "callback"] as const) {
    const path = grown(setup, await measure(phase));
    const functions = [...path.values()].reduce((n, f) => n + f.length, 0);
    console.log(phase === "command" ? "MakeCall 201 555:" : "a callback of 201 (a call from 558):");
    for (const [file, fns] of path) console.log(`  ${file.padEnd(28)} ${fns.join(", ")}`);
    summary.push(`${phase}: ${path.size} files, ${functions} functions`);
  }
  console.log(`paths: ${summary.join("; ")}`);
}
