/**
 * What `service install | uninstall | status` does, as data (docs/install.md §5): the files
 * it writes and the commands it runs, in order, so they can be printed first, printed alone
 * (`--dry-run`) and checked by the tests with a fake runner.
 */

/** One step of a plan. */
export type Step =
  | {
    readonly kind: "write";
    readonly path: string;
    readonly content: string;
    /** Task Scheduler reads its XML as UTF-16 (with a byte order mark). */
    readonly encoding: "utf-8" | "utf-16le";
    readonly mode?: number;
  }
  | { readonly kind: "remove"; readonly path: string }
  | {
    readonly kind: "run";
    readonly argv: readonly string[];
    /** A failure is expected at times (stopping what is not running) and is not an error. */
    readonly mayFail?: boolean;
  };

/** What the system would be asked to do. */
export interface Plan {
  readonly steps: readonly Step[];
  /** Lines for the person, printed before the steps. */
  readonly notes: readonly string[];
}

/** The operating systems with a service manager we generate for. */
export type ServiceOs = "linux" | "darwin" | "windows";

/** Everything a plan is generated from. */
export interface ServiceTarget {
  readonly os: ServiceOs;
  /** The real, absolute path of the program the service starts. */
  readonly program: string;
  /** Arguments before `--config` (from a checkout: `run`, the permissions, `main.ts`). */
  readonly programArgs: readonly string[];
  /** The absolute path of the configuration file. */
  readonly config: string;
  /** The account (Linux, macOS); undefined: root. */
  readonly user?: string;
}

/** The service's name for systemd and launchd, and the task's name on Windows. */
export const SERVICE_NAME = "phone-companion-server";
export const TASK_NAME = "Phone Companion Server";
