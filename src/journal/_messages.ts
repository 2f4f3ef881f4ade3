/** The messages between the journal and its writer (`_worker.ts`). */

import type { CallRecord } from "../contract.ts";

/** To the writer. */
export type ToWorker =
  | { readonly type: "open"; readonly path: string }
  | { readonly type: "write"; readonly batch: number; readonly calls: readonly CallRecord[] }
  | { readonly type: "prune"; readonly before: number }
  | { readonly type: "sync"; readonly seq: number }
  | { readonly type: "close" };

/** From the writer. */
export type FromWorker =
  | { readonly type: "opened" }
  | { readonly type: "written"; readonly batch: number; readonly count: number }
  | { readonly type: "pruned"; readonly count: number }
  | { readonly type: "synced"; readonly seq: number }
  | { readonly type: "closed" }
  | {
    readonly type: "failed";
    readonly of: ToWorker["type"];
    readonly batch?: number;
    readonly message: string;
  };
