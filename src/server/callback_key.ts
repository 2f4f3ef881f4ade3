/**
 * The server's callback key file (docs/yealink.md §5.1): random bits kept where
 * `serverCallbackKeyFile` says (next to the configuration file unless set otherwise), from
 * which phones whose action URLs are provisioned get callback keys that stay the same across
 * starts. Created on first need, readable by the owner only; a file others may read is made
 * owner-only when it is read.
 */

import { newSecret } from "../secret.ts";
import { log } from "../log/mod.ts";

/** The file's default name, next to the configuration file. */
export const CALLBACK_KEY_FILE = "callback-key";

/** Reads the key at `path`, or creates it. Throws when it can be neither read nor written. */
export function readOrCreateCallbackKey(path: string): string {
  const read = () => {
    const key = Deno.readTextFileSync(path).trim();
    if (key.length < 32) throw new Error(`${path} holds no key; delete it to make a new one`);
    keepPrivate(path);
    return key;
  };
  try {
    return read();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const key = newSecret() + newSecret();
  try {
    Deno.writeTextFileSync(path, key + "\n", { createNew: true, mode: 0o600 });
    return key;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return read();
    throw e;
  }
}

/** Makes a key file that others may read owner-only, and says so (not on Windows). */
function keepPrivate(path: string): void {
  if (Deno.build.os === "windows") return;
  const mode = Deno.statSync(path).mode;
  if (mode === null || (mode & 0o077) === 0) return;
  Deno.chmodSync(path, 0o600);
  log("server").warning(
    "{path} could be read by other users; it is now readable by its owner only",
    {
      path,
    },
  );
}

/** The key of the configured file, read once per path. */
export function callbackKeyOf(path: () => string): () => string {
  let known: { path: string; key: string } | undefined;
  return () => {
    const now = path();
    if (known?.path !== now) known = { path: now, key: readOrCreateCallbackKey(now) };
    return known.key;
  };
}
