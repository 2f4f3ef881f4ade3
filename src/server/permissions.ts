/**
 * The permissions the server runs with (docs/building.md §6), named one by one, never
 * `--allow-all`. `deno task start` uses `RUN_PERMISSIONS`; each executable gets them plus
 * what its platform's extras need: the service manager's command for `service`, and on
 * Windows the one library that tells whether the console was opened for this program.
 */

/**
 * V8 heap settings the server runs with, from a checkout (`deno task start`) and compiled: a
 * smaller young generation and an old-space limit far above the live heap (about 20 MB at
 * 1,000 phones) keep the memory V8 holds after load near what it uses (docs/performance.md §3).
 */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=4,--max-old-space-size=512";

/** `deno task start` and the service from a checkout. */
export const RUN_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=networkInterfaces",
];

/** The permissions compiled into the executable for `os`. */
export function compiledPermissions(os: "linux" | "darwin" | "windows"): string[] {
  switch (os) {
    case "linux":
      return [...RUN_PERMISSIONS, "--allow-run=systemctl"];
    case "darwin":
      return [...RUN_PERMISSIONS, "--allow-run=launchctl"];
    case "windows":
      return [
        ...RUN_PERMISSIONS,
        "--allow-run=schtasks",
        "--allow-ffi=C:\\Windows\\System32\\kernel32.dll",
      ];
  }
}
