/**
 * The live reload loop (docs/configuration.md §3): every `configReloadSeconds` the file is read;
 * when its text changed, `onChange` gets the new text. Deciding whether the text is valid and
 * applying it is the caller's job, so a bad file never replaces good settings here.
 */

import type { Clock, TimerId } from "../clock.ts";
import { Serial } from "../serial.ts";

/** How the loop reads the file; the real one reads the disk, tests may pass a fake. */
export type ReadText = (path: string) => Promise<string>;

/** Options of {@link watchConfig}. */
export interface WatchOptions {
  readonly path: string;
  /** The text the server started with, so an unchanged file is not applied twice. */
  readonly initialText: string;
  /** Read before every wait, so a changed `configReloadSeconds` takes effect at once. */
  readonly intervalSeconds: () => number;
  readonly clock: Clock;
  readonly read?: ReadText;
  readonly onChange: (text: string) => void | Promise<void>;
  /** The file could not be read (missing, locked): called once per distinct failure. */
  readonly onReadError: (error: unknown) => void;
}

/** A running watch; `stop()` ends it and waits for a check in progress. */
export interface ConfigWatch {
  stop(): Promise<void>;
  /** Checks now instead of waiting (tests); resolves once a changed text is applied. */
  checkNow(): Promise<void>;
}

/** Starts polling the configuration file. */
export function watchConfig(options: WatchOptions): ConfigWatch {
  const read = options.read ?? ((p: string) => Deno.readTextFile(p));
  let last = options.initialText;
  let lastFailure = "";
  let stopped = false;
  let timer: TimerId | undefined;
  const checks = new Serial();

  const check = async () => {
    let text: string;
    try {
      text = await read(options.path);
    } catch (e) {
      const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      if (why !== lastFailure) options.onReadError(e);
      lastFailure = why;
      return;
    }
    lastFailure = "";
    if (text === last) return;
    last = text;
    await options.onChange(text);
  };
  /**
   * Checks run one at a time, in the order asked for (timer or `checkNow`): two at once would
   * apply two texts at once, and the older could finish last and stay in effect.
   */
  const enqueue = () => checks.run(check);
  const schedule = () => {
    if (stopped) return;
    timer = options.clock.setTimeout(() => {
      enqueue().finally(schedule);
    }, options.intervalSeconds() * 1000);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) options.clock.clearTimeout(timer);
      await checks.idle();
    },
    checkNow: enqueue,
  };
}
