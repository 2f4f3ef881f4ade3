/** The server's version, shown by `--version`, the status page and the log. */
export const VERSION = "0.1.0";

/** The product name as users see it. */
export const PRODUCT = "Phone Companion Server";
