/**
 * The server's callback key file (docs/yealink.md §5.1): random bits kept next to the
 * configuration file, from which phones whose action URLs are provisioned get callback keys
 * that stay the same across starts. Created on first need, readable by the owner only.
 */

import { join } from "node:path";
import { newSecret } from "../secret.ts";

/** The file's name, next to the configuration file. */
export const CALLBACK_KEY_FILE = "callback-key";

/** Reads the key in `dir`, or creates it. Throws when the folder cannot be read or written. */
export function readOrCreateCallbackKey(dir: string): string {
  const path = join(dir, CALLBACK_KEY_FILE);
  const read = () => {
    const key = Deno.readTextFileSync(path).trim();
    if (key.length < 32) throw new Error(`${path} holds no key; delete it to make a new one`);
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

/** The key of one configuration folder, read once. */
export function callbackKeyOf(dir: () => string): () => string {
  let key: string | undefined;
  return () => key ??= readOrCreateCallbackKey(dir());
}
