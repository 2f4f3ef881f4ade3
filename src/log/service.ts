/**
 * The LogTape configuration of the server, following the configuration snapshot: console and
 * rotating log file, text or JSON Lines, the recent problems for the status page.
 */

import { configure, dispose, type LogRecord, type Sink } from "@logtape/logtape";
import { getRotatingFileSink } from "@logtape/file";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ConfigSnapshot, LogFormatName, LogLevelName } from "../config/mod.ts";
import { Fingerprint } from "../fingerprint.ts";
import { areaOf, formatRecord, messageOf, render } from "./format.ts";
import { formatJsonRecord } from "./json.ts";
import { log, redactor, ROOT } from "./logger.ts";
import { RecentProblems } from "./recent.ts";
import { batchedFileSink, consoleLines, flushConsole, type LineSink } from "./sinks.ts";

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
