/**
 * Whether a start-up error must wait for Enter (docs/install.md §3). A double-clicked
 * Windows console program gets a console window of its own, which closes the moment the
 * program exits, taking the error message with it. Windows lists the processes attached to
 * a console (`GetConsoleProcessList`): started from cmd or PowerShell, the shell is on that
 * list too; double-clicked, this process is alone on it. Only then, and only when a person
 * can press Enter (standard input is that console), does the server wait.
 */

/** What the decision looks at; every field is measured by `consoleFacts`. */
export interface ConsoleFacts {
  readonly os: typeof Deno.build.os;
  /** Processes attached to this process's console, or undefined when it cannot be told. */
  readonly consoleProcesses?: number;
  /** Standard input is a terminal, so Enter can be pressed. */
  readonly stdinIsTerminal: boolean;
  /** `--no-pause` was given (service managers, scripts). */
  readonly noPause: boolean;
}

/**
 * True when the console was opened for this program alone, so an error would vanish with
 * it: Windows, this process alone on its console, a keyboard at standard input, and no
 * `--no-pause`. macOS Terminal and Linux terminals keep the window after an error exit.
 */
export function shouldWaitForEnter(facts: ConsoleFacts): boolean {
  return facts.os === "windows" && !facts.noPause && facts.stdinIsTerminal &&
    facts.consoleProcesses === 1;
}

/**
 * The number of processes on this process's console, asked of kernel32 through FFI; the
 * executable for Windows is allowed exactly that library (docs/building.md §6). Undefined
 * anywhere else, or when the call is not allowed or fails.
 */
export function consoleProcessCount(): number | undefined {
  if (Deno.build.os !== "windows") return undefined;
  try {
    const root = Deno.env.get("SystemRoot") ?? "C:\\Windows";
    const kernel32 = Deno.dlopen(`${root}\\System32\\kernel32.dll`, {
      GetConsoleProcessList: { parameters: ["buffer", "u32"], result: "u32" },
    });
    try {
      const ids = new Uint32Array(8);
      const count = kernel32.symbols.GetConsoleProcessList(ids, ids.length);
      return count === 0 ? undefined : count;
    } finally {
      kernel32.close();
    }
  } catch {
    return undefined;
  }
}

/** Measures the facts `shouldWaitForEnter` decides on. */
export function consoleFacts(noPause: boolean): ConsoleFacts {
  return {
    os: Deno.build.os,
    consoleProcesses: consoleProcessCount(),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    noPause,
  };
}

/** Says so and waits until Enter is pressed (or standard input ends). */
export async function waitForEnter(): Promise<void> {
  console.error("\nThe server could not start; see the message above. Press Enter to close.");
  const buffer = new Uint8Array(64);
  for (;;) {
    const n = await Deno.stdin.read(buffer).catch(() => null);
    if (n === null || buffer.subarray(0, n).includes(10) || buffer.subarray(0, n).includes(13)) {
      return;
    }
  }
}
