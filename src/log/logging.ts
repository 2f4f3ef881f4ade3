/**
 * Logging: LogTape loggers per area, one line format for the console and the rotating log
 * file (text, or JSON Lines), the file and console sinks, and the LogTape set-up that follows
 * the configuration snapshot, with secret redaction on every line (docs/configuration.md §6,
 * docs/architecture.md §9.13).
 */

import {
  configure,
  dispose,
  getLogger,
  type Logger,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import { getRotatingFileSink } from "@logtape/file";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  type ConfigSnapshot,
  type Finding,
  formatFinding,
  type LogFormatName,
  type LogLevelName,
} from "../config/mod.ts";
import { Fingerprint } from "../fingerprint.ts";
import { formatJsonRecord } from "./json.ts";
import { RecentProblems } from "./recent.ts";
import { Redactor } from "./redact.ts";

// --- Loggers ---

/** The category every logger of the server sits under. */
const ROOT = "pcs";

/** The logger of one area of the server (`config`, `channel`, `phones`, ...). */
export function log(area: string): Logger {
  return getLogger([ROOT, area]);
}

/** The redactor every sink uses; components add run-time secrets (tokens) to it. */
export const redactor = new Redactor();

/**
 * Logs every finding at its level, so the first start and each reload report a file alike.
 * A finding quotes the file (`got '{x}'`), so it is a value of the log line, never its template.
 */
export function logFindings(findings: readonly Finding[]): void {
  const logger = log("config");
  for (const f of findings) {
    const finding = formatFinding(f);
    if (f.level === "error") logger.error("{finding}", { finding });
    else if (f.level === "warning") logger.warning("{finding}", { finding });
    else logger.info("{finding}", { finding });
  }
}

// --- One line ---

const LEVEL_LABEL: Record<string, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO ",
  warning: "WARN ",
  error: "ERROR",
  fatal: "FATAL",
};

/** A value of a log line as text: errors with their cause, the rest as JSON. */
function render(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) {
    const cause = value.cause === undefined ? "" : ` (cause: ${render(value.cause)})`;
    return `${value.name}: ${value.message}${cause}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * `2026-11-26T02:47:11.123Z INFO  [channel] message`, redacted, one physical line: line
 * breaks inside a message are escaped so a log line is always one record.
 */
export function formatRecord(record: LogRecord): string {
  const message = messageOf(record);
  const area = areaOf(record);
  const line = `${new Date(record.timestamp).toISOString()} ${
    LEVEL_LABEL[record.level]
  } [${area}] ${message}`;
  return redactor.redact(line).replace(/\r?\n|\r/g, "\\n");
}

/** The message of a record with its values filled in, not yet redacted. */
function messageOf(record: LogRecord): string {
  return record.message.map((part, i) => (i % 2 === 0 ? String(part) : render(part))).join("");
}

/** `channel` for the logger `pcs.channel`. */
function areaOf(record: LogRecord): string {
  return record.category.slice(1).join(".") || record.category.join(".");
}

// --- Sinks ---

/** How long an info line may wait in memory before it is written to the log file (ms). */
export const FILE_FLUSH_MS = 500;

const URGENT = new Set(["warning", "error", "fatal"]);

/**
 * The log file's sink: lines are collected and written together at most
 * {@link FILE_FLUSH_MS} after the first of them, and at once with any warning or error, so a
 * killed server loses at most half a second of info lines and no warning. One write (and one
 * sync) per batch keeps the file off the hot path of busy sites.
 */
function batchedFileSink(
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

// --- The set-up ---

/** The log settings that decide how LogTape is configured. */
export interface LogSettings {
  readonly filePath?: string;
  readonly level: LogLevelName;
  readonly maxBytes: number;
  readonly maxFiles: number;
  /** `text` (the default) or `json` (JSON Lines), for the console and the file alike. */
  readonly format?: LogFormatName;
}

/**
 * Owns the LogTape configuration. `apply` re-configures only when the file, level or
 * rotation changed; `close` flushes the file (LogTape file sinks buffer until disposed).
 */
export class LogService {
  /** The log settings LogTape is configured with now. */
  readonly #applied = new Fingerprint();
  #lines: LineSink;
  /** The last file problem, so a broken log path is reported once, not on every reload. */
  fileProblem?: string;
  /** The last 100 warnings and errors, for the status page (docs/configuration.md §6). */
  readonly recent = new RecentProblems(100);

  constructor(lines: LineSink = consoleLines) {
    this.#lines = lines;
  }

  /** Configures console-only logging, for the time before a configuration is known. */
  async start(level: LogLevelName = "info"): Promise<void> {
    await this.#configure({ level, maxBytes: 0, maxFiles: 0 });
  }

  /** Applies the log part of a snapshot and its secrets. */
  async apply(snapshot: ConfigSnapshot): Promise<void> {
    redactor.setConfigSecrets(snapshot.secrets);
    await this.#configure(snapshot.log);
  }

  async #configure(settings: LogSettings): Promise<void> {
    if (this.#applied.is(settings)) return;
    // LogTape hands one record to every sink in turn: format and redact it once for both.
    let last: LogRecord | undefined;
    let lastLine = "";
    const json = settings.format === "json";
    const format = (r: LogRecord) => {
      if (r !== last) {
        lastLine = json
          ? formatJsonRecord(r, messageOf(r), (t) => redactor.redact(t))
          : formatRecord(r);
        last = r;
      }
      return lastLine;
    };
    const sinks: Record<string, Sink> = {
      lines: (r: LogRecord) => this.#lines(format(r), r.level),
      recent: (r: LogRecord) => {
        if (r.level !== "warning" && r.level !== "error" && r.level !== "fatal") return;
        this.recent.add({
          at: r.timestamp,
          level: r.level,
          area: areaOf(r),
          message: redactor.redact(messageOf(r)),
        });
      },
    };
    this.fileProblem = undefined;
    if (settings.filePath) {
      try {
        mkdirSync(dirname(settings.filePath), { recursive: true });
        sinks.file = batchedFileSink(
          getRotatingFileSink(settings.filePath, {
            maxSize: settings.maxBytes,
            maxFiles: settings.maxFiles,
            // Batches come ready-made from batchedFileSink and are written at once.
            formatter: (r: LogRecord) => String(r.message[0]),
            bufferSize: 0,
          }),
          settings.maxBytes,
          format,
          (problem) => console.error(problem),
        );
      } catch (e) {
        this.fileProblem = `cannot write the log file ${settings.filePath}: ${render(e)}`;
      }
    }
    await configure({
      reset: true,
      sinks,
      loggers: [
        { category: [ROOT], lowestLevel: settings.level, sinks: Object.keys(sinks) },
        { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["lines"] },
      ],
    });
    this.#applied.remember(settings);
    if (this.fileProblem) log("log").error("{problem}", { problem: this.fileProblem });
  }

  /** Flushes and closes every sink. */
  async close(): Promise<void> {
    this.#applied.forget();
    flushConsole();
    try {
      await dispose();
    } catch (e) {
      // The file may have gone away (removed disk, odd device); nothing is left to tell.
      console.error(`log file could not be flushed: ${render(e)}`);
    }
  }
}
