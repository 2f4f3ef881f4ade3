/**
 * Secret redaction for every log line (docs/configuration.md: secrets never appear in the log). Two nets:
 * the literal secret values the server knows (config passwords, provider tokens as they are
 * issued), and patterns that look like credentials whatever their value.
 */

/** What a redacted secret is replaced with. */
export const REDACTED = "***";

/**
 * The shortest secret replaced by its text. Secrets are kept out of every output by field in
 * the first place; this net is the last one, and a short secret (`adminPassword = 0`) would
 * match digits of times, ports and versions, mangle the text and give the secret away.
 */
export const MIN_REDACTED_LENGTH = 8;

const PATTERNS: readonly [RegExp, string][] = [
  [/\b(Bearer|Basic|Digest)\s+[^\s,";]+/gi, `$1 ${REDACTED}`],
  [
    /("(?:access_token|refresh_token|id_token|password|client_secret|assertion|token|jwt|secret)"\s*:\s*")[^"]*(")/gi,
    `$1${REDACTED}$2`,
  ],
  [
    /\b((?:access_token|refresh_token|password|client_secret|assertion|token|jwt|secret)=)[^&\s"]+/gi,
    `$1${REDACTED}`,
  ],
];

/** A secret that looks like a token: URL-safe characters only, so never URL-encoded. */
const TOKEN = /^[A-Za-z0-9_.~-]{16,}$/;
/** Runs of those characters in a line; a token secret is one such run, whole. */
const TOKEN_RUN = /[A-Za-z0-9_.~-]{16,}/g;

/** Replaces known secrets and credential-shaped text in log lines. */
export class Redactor {
  #secrets = new Set<string>();
  #fromConfig = new Set<string>();
  /**
   * What `redact` looks for: each secret, longest first so a secret that contains another is
   * replaced whole, followed by its URL-encoded form. Built when the secrets change, not on
   * every log line.
   */
  #needles: readonly string[] = [];
  /**
   * Token-like secrets (callback keys, access tokens: 16 or more of `A-Za-z0-9_-.~`), found
   * by looking up each such run of a line in a set: one pass over the line, however many
   * phones (each with its key) the server has.
   */
  #tokens = new Set<string>();

  /** Replaces the secrets that came from the configuration file (on start and reload). */
  setConfigSecrets(values: readonly string[]): void {
    for (const s of this.#fromConfig) this.#secrets.delete(s);
    this.#fromConfig = new Set(values.filter((v) => v !== ""));
    for (const s of this.#fromConfig) this.#secrets.add(s);
    this.#changed();
  }

  /** Adds a secret learnt at run time, such as an access token or a callback key. */
  add(value: string): void {
    if (value === "" || this.#secrets.has(value)) return;
    this.#secrets.add(value);
    this.#changed();
  }

  /** Forgets a run-time secret that is no longer in use (a revoked token). */
  remove(value: string): void {
    if (!this.#fromConfig.has(value) && this.#secrets.delete(value)) this.#changed();
  }

  /**
   * The text with every secret and credential pattern replaced, except the secrets in
   * `shown`: what a page shows on purpose behind its access rule (the callback keys in a
   * phone's provisioning lines, docs/yealink.md §5).
   */
  redact(text: string, shown?: ReadonlySet<string>): string {
    let out = text;
    if (this.#tokens.size > 0) {
      out = out.replace(
        TOKEN_RUN,
        (run) => (this.#tokens.has(run) && !shown?.has(run) ? REDACTED : run),
      );
    }
    for (const s of this.#needles) {
      if (out.includes(s) && !shown?.has(s)) out = out.split(s).join(REDACTED);
    }
    for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
    return out;
  }

  #changed(): void {
    this.#tokens = new Set([...this.#secrets].filter((s) => TOKEN.test(s)));
    const long = [...this.#secrets].filter((s) =>
      s.length >= MIN_REDACTED_LENGTH && !this.#tokens.has(s)
    );
    this.#needles = long.sort((a, b) => b.length - a.length).flatMap((s) => {
      const encoded = encodeURIComponent(s);
      return encoded === s ? [s] : [s, encoded];
    });
  }
}
