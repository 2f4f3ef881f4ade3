/**
 * The live reload loop (docs/configuration.md §3): every `configReloadSeconds` the file is read;
 * when its text changed, it is read once more {@link CONFIRM_MS} later, and only a text that
 * stayed the same is handed to `onChange` (so a file caught while an editor writes it is not
 * taken). A good edit therefore applies, and a bad one is reported, within about one interval
 * of being saved. Deciding whether the text is valid and applying it is the caller's job, so
 * a bad file never replaces good settings here. A file larger than {@link MAX_CONFIG_BYTES} is
 * not read at all.
 */

import type { Clock, TimerId } from "../clock.ts";
import { Serial } from "../serial.ts";

/** How the loop reads the file; the real one reads the disk, tests may pass a fake. */
export type ReadText = (path: string) => Promise<string>;

/**
 * How long after a changed text is first seen it is read again to confirm it (ms): long enough
 * for an editor or a copy to finish writing, short against the check interval.
 */
export const CONFIRM_MS = 500;

/** The largest configuration file read (1 MiB); a real one is a few kilobytes. */
export const MAX_CONFIG_BYTES = 1 << 20;

/** A configuration file too large to be one. */
export class ConfigTooLarge extends Error {
  constructor(path: string, size: number) {
    super(
      `${path} is ${size} bytes, more than the ${MAX_CONFIG_BYTES} bytes a configuration file ` +
        `may have; it was not read`,
    );
    this.name = "ConfigTooLarge";
  }
}

/** Reads a configuration file, refusing one above {@link MAX_CONFIG_BYTES} unread. */
export async function readConfigText(path: string): Promise<string> {
  const { size } = await Deno.stat(path);
  if (size > MAX_CONFIG_BYTES) throw new ConfigTooLarge(path, size);
  const text = await Deno.readTextFile(path);
  // The file may have grown between the two calls.
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigTooLarge(path, text.length);
  return text;
}

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
  /**
   * One check now instead of waiting; resolves once a changed text is applied. As with the
   * timer, a changed text is applied by the check after the one that first saw it (which the
   * loop itself makes {@link CONFIRM_MS} later).
   */
  checkNow(): Promise<void>;
}

/** Starts polling the configuration file. */
export function watchConfig(options: WatchOptions): ConfigWatch {
  const read = options.read ?? readConfigText;
  let last = options.initialText;
  /** A changed text seen by the last check, applied if the next check sees it again. */
  let candidate: string | undefined;
  let lastFailure = "";
  let stopped = false;
  let timer: TimerId | undefined;
  let confirm: TimerId | undefined;
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
    if (text === last || text !== candidate) {
      candidate = text === last ? undefined : text;
      if (candidate !== undefined) confirmSoon();
      return;
    }
    candidate = undefined;
    last = text;
    await options.onChange(text);
  };
  /**
   * Checks run one at a time, in the order asked for (timer or `checkNow`): two at once would
   * apply two texts at once, and the older could finish last and stay in effect.
   */
  const enqueue = () => checks.run(check);
  /** A changed text is read again shortly, not a whole interval later. */
  const confirmSoon = () => {
    if (stopped) return;
    if (confirm !== undefined) options.clock.clearTimeout(confirm);
    confirm = options.clock.setTimeout(() => {
      confirm = undefined;
      void enqueue();
    }, CONFIRM_MS);
  };
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
      if (confirm !== undefined) options.clock.clearTimeout(confirm);
      await checks.idle();
    },
    checkNow: enqueue,
  };
}
