/**
 * Noticing that the process that started the server has gone, so the server does not live on
 * orphaned with its ports (docs/install.md §6): when its parent changes (the system hands an
 * orphan to another parent), the server stops as on SIGTERM. Read from `Deno.ppid`, which needs
 * no permission. A parent that lives on while its own parent ended (`deno task` under npx, when
 * only npx got the SIGTERM) cannot be told from here: docs/install.md §6 says which process to
 * signal.
 */

import { type Clock, systemClock } from "../clock.ts";

/** How often the parent is looked at (ms). */
export const PARENT_CHECK_MS = 1000;

/**
 * Calls `gone` once this process's parent is no longer the one it started with; returns a
 * function that ends the watch. `ppid` is `Deno.ppid` unless a test passes its own.
 */
export function watchParent(
  gone: () => void,
  ppid: () => number = () => Deno.ppid,
  clock: Clock = systemClock,
): () => void {
  const parent = ppid();
  let stopped = false;
  const check = () => {
    if (stopped) return;
    if (ppid() !== parent) {
      stopped = true;
      gone();
      return;
    }
    timer = clock.setTimeout(check, PARENT_CHECK_MS);
  };
  let timer = clock.setTimeout(check, PARENT_CHECK_MS);
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}
