/**
 * Small helpers shared by tests: free loopback ports, temp folders, waiting, a manual clock,
 * the CLI.
 */

import { join } from "node:path";
import type { Clock, TimerId } from "../src/clock.ts";
import type { CallCommand, CallCommandName } from "../src/contract.ts";
import { RUN_PERMISSIONS } from "../src/server/permissions.ts";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
/** A call command as a channel would send it, arriving now (or at `arrivedAt`). */
export function call(
  device: string,
  name: CallCommandName,
  number?: string,
  arrivedAt = Date.now(),
): CallCommand {
  return { device, name, number, arrivedAt };
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A fresh temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "pcs-test-" });
  return { path, remove: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  stepMs = 20,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The repository root. */
export const ROOT = join(import.meta.dirname!, "..");

/** Permission flags the server runs with (deno.json task `start`). */
export const SERVER_PERMISSIONS = [...RUN_PERMISSIONS];

/** Runs `main.ts` to completion with the given flags, in `cwd`. */
export async function runMain(
  args: string[],
  cwd: string = ROOT,
  permissions: string[] = SERVER_PERMISSIONS,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, join(ROOT, "main.ts"), ...args],
    cwd,
    // INIT_CWD: where a `deno task` was started; the test's own may be inherited.
    env: { NO_COLOR: "1", INIT_CWD: cwd, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A running `main.ts` process whose output is collected as it comes. */
export interface ServerProcess {
  readonly output: () => string;
  readonly waitForOutput: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  /** Sends a signal and waits for the exit code. */
  readonly stop: (signal?: Deno.Signal) => Promise<number>;
}

/** Starts `main.ts` in the background. */
export function startMain(args: string[], cwd: string = ROOT): ServerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVER_PERMISSIONS, join(ROOT, "main.ts"), ...args],
    cwd,
    env: { NO_COLOR: "1", INIT_CWD: cwd },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += dec.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited: Promise<number> | undefined;
  return {
    output: () => text,
    waitForOutput: (pattern, timeoutMs = 10_000) =>
      waitFor(`output matching ${pattern}`, () => pattern.exec(text)?.[0], timeoutMs),
    stop: (signal = "SIGTERM") => {
      if (!exited) {
        try {
          child.kill(signal);
        } catch { /* already exited */ }
        exited = child.status.then(async (s) => {
          await pumps;
          return s.code;
        });
      }
      return exited;
    },
  };
}

/** A clock whose time moves only when the test says so; timers fire in time order in `advance`. */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, { at: number; ms: number; fn: () => void }>();
  readonly #watchers = new Set<() => void>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, ms, fn });
    for (const w of [...this.#watchers]) w();
    return id as unknown as TimerId;
  }
  clearTimeout(id: TimerId): void {
    this.#timers.delete(id as unknown as number);
  }
  /** Timers still pending. */
  get pending(): number {
    return this.#timers.size;
  }
  /** The delays of the timers not fired yet. */
  pendingDelays(): number[] {
    return [...this.#timers.values()].map((t) => t.ms);
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const t of this.#timers) if (t[1].at <= until && (!due || t[1].at < due[1].at)) due = t;
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
    }
    this.#now = until;
  }
  /** Resolves with the delay of the first pending timer whose delay satisfies `predicate`. */
  async nextTimer(predicate: (ms: number) => boolean = () => true): Promise<number> {
    for (;;) {
      const found = [...this.#timers.values()].find((t) => predicate(t.ms));
      if (found) return found.ms;
      await new Promise<void>((resolve) => {
        const w = () => {
          this.#watchers.delete(w);
          resolve();
        };
        this.#watchers.add(w);
      });
    }
  }
}
