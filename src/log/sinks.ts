/**
 * Where log lines go: the log file, written in batches, and the console, info lines batched
 * and problems at once (docs/architecture.md §9.13).
 */

import type { LogRecord, Sink } from "@logtape/logtape";
import { render } from "./format.ts";
import { ROOT } from "./logger.ts";

/** How long an info line may wait in memory before it is written to the log file (ms). */
export const FILE_FLUSH_MS = 500;

const URGENT = new Set(["warning", "error", "fatal"]);

/**
 * The log file's sink: lines are collected and written together at most
 * {@link FILE_FLUSH_MS} after the first of them, and at once with any warning or error, so a
 * killed server loses at most half a second of info lines and no warning. One write (and one
 * sync) per batch keeps the file off the hot path of busy sites.
 */
export function batchedFileSink(
  file: Sink & Disposable,
  maxBytes: number,
  format: (r: LogRecord) => string,
  onProblem: (message: string) => void,
): Sink & Disposable {
  // The file rotates between writes: a batch goes out in pieces of at most a quarter of the
  // file's size, so rotation still happens close to `logMaxBytes`.
  const piece = Math.max(1024, maxBytes >> 2);
  const write = (text: string) =>
    file({
      category: [ROOT],
      level: "info",
      message: [text],
      rawMessage: text,
      timestamp: Date.now(),
      properties: {},
    });
  let pending: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failed = false;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    try {
      let chunk = "";
      for (const line of lines) {
        if (chunk.length > 0 && chunk.length + line.length > piece) {
          write(chunk);
          chunk = "";
        }
        chunk += line;
      }
      write(chunk);
      failed = false;
    } catch (e) {
      // A full disk or a removed folder: say so once, keep serving.
      if (!failed) onProblem(`cannot write the log file: ${render(e)}`);
      failed = true;
    }
  };
  const sink = (record: LogRecord) => {
    pending.push(format(record) + "\n");
    if (URGENT.has(record.level)) flush();
    else if (timer === undefined) {
      timer = setTimeout(flush, FILE_FLUSH_MS);
      Deno.unrefTimer(timer);
    }
  };
  return Object.assign(sink, {
    [Symbol.dispose]: () => {
      flush();
      file[Symbol.dispose]();
    },
  });
}

/**
 * Where log lines go besides the file; tests pass a collector, the server the console. The
 * level comes along because a JSON line does not start with it.
 */
export type LineSink = (line: string, level?: string) => void;

/** How long info lines may wait before they are written to the console (ms). */
const CONSOLE_FLUSH_MS = 50;

let consolePending = "";
let consoleTimer: ReturnType<typeof setTimeout> | undefined;

/** Writes the info lines waiting for the console. */
export function flushConsole(): void {
  clearTimeout(consoleTimer);
  consoleTimer = undefined;
  if (consolePending === "") return;
  const text = consolePending;
  consolePending = "";
  try {
    Deno.stdout.writeSync(encoder.encode(text));
  } catch {
    // no console (a service without one): the log file has every line
  }
}

const encoder = new TextEncoder();

/**
 * The console sink: warnings and errors to stderr at once, the rest to stdout in batches at
 * most {@link CONSOLE_FLUSH_MS} later (a console write per line cost a busy server more than
 * the command it reports).
 */
export const consoleLines: LineSink = (line, level) => {
  const problem = level === undefined
    ? /^\S+ (WARN|ERROR|FATAL)/.test(line)
    : level === "warning" || level === "error" || level === "fatal";
  if (problem) {
    flushConsole();
    console.error(line);
    return;
  }
  consolePending += line + "\n";
  if (consoleTimer === undefined) {
    consoleTimer = setTimeout(flushConsole, CONSOLE_FLUSH_MS);
    Deno.unrefTimer(consoleTimer);
  }
};
