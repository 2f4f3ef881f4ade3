/**
 * The product's identity, kept in one place: the version shown by `--version`, the status
 * page, the log and the release archives (docs/building.md §8), and the executable's name.
 */

/** The server's version; a release tag is `v` + this (docs/building.md §8). */
export const VERSION = "0.1.0";

/** The product name as users see it. */
export const PRODUCT = "Phone Companion Server";

/** The executable's file name without `.exe`: compile output, archives, services, `--help`. */
export const EXECUTABLE = "phone-companion-server";
