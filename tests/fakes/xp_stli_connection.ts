/**
 * A test client that behaves like the strictest public STLI client, the XP framework's
 * `StliConnection` (docs/channel-protocol.md §7.2–§7.4): it writes commands ending in LF, reads
 * exactly one line after each command and strips trailing whitespace (PHP `chop`), compares
 * whole lines with its expected replies, checks the handshake reply with
 * `sscanf("error_ind %s STLI%c%[^\r]") === 3`, and after `MakeCall` on an observed terminal
 * reads exactly two more lines and checks them with `Initiated %d makeCall %s %s` and
 * `DeviceInformation %d %d (%s)`. Written from the published behaviour; no XP code is used.
 */

import { StliClient } from "./stli_client.ts";

/** The error the XP client raises for anything it does not accept. */
export class TelephonyError extends Error {
  override name = "TelephonyError";
}

/** A conversion result of {@link sscanf}: null when the conversion was not reached. */
export type Scanned = string | number | null;

/**
 * The part of PHP's `sscanf` the XP client uses: `%d`, `%s`, `%c`, `%[...]` (with `^`),
 * literal characters, and whitespace in the format matching any run of input whitespace.
 * Returns one entry per conversion, null for those not matched (PHP fills them with null).
 */
export function sscanf(input: string, format: string): Scanned[] {
  const out: Scanned[] = [];
  let i = 0;
  let failed = false;
  const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
  const skipSpace = () => {
    while (isSpace(input[i])) i++;
  };
  for (let f = 0; f < format.length;) {
    const c = format[f];
    if (c === "%" && format[f + 1] !== "%") {
      let spec = format[f + 1];
      let set = "";
      f += 2;
      if (spec === "[") {
        const close = format.indexOf("]", f + (format[f] === "^" ? 2 : 1));
        set = format.slice(f, close);
        f = close + 1;
      }
      if (failed) {
        out.push(null);
        continue;
      }
      let m: string | undefined;
      if (spec === "d") {
        skipSpace();
        m = /^[+-]?\d+/.exec(input.slice(i))?.[0];
      } else if (spec === "s") {
        skipSpace();
        m = /^\S+/.exec(input.slice(i))?.[0];
      } else if (spec === "c") {
        m = i < input.length ? input[i] : undefined;
      } else if (spec === "[") {
        const negate = set.startsWith("^");
        const chars = negate ? set.slice(1) : set;
        let j = i;
        while (j < input.length && chars.includes(input[j]) !== negate) j++;
        m = j > i ? input.slice(i, j) : undefined;
      } else {
        spec = "?";
      }
      if (m === undefined) {
        failed = true;
        out.push(null);
        continue;
      }
      i += m.length;
      out.push(spec === "d" ? Number(m) : m);
      continue;
    }
    if (isSpace(c)) {
      while (isSpace(format[f])) f++;
      if (!failed) skipSpace();
      continue;
    }
    const literal = c === "%" ? "%" : c;
    f += c === "%" ? 2 : 1;
    if (failed) continue;
    if (input[i] === literal) i++;
    else failed = true;
  }
  return out;
}

/** How many conversions matched: what PHP's `sscanf` returns when given variables. */
export function scanCount(input: string, format: string): number {
  return sscanf(input, format).filter((v) => v !== null).length;
}

/** A terminal as XP sees it: an extension, observed or not. */
export interface Terminal {
  readonly number: string;
  observed: boolean;
}

const STLI_BYE_RESPONSE = "error_ind SUCCESS BYE";
const STLI_MON_START_RESPONSE = "error_ind SUCCESS MonitorStart";
const STLI_MON_STOP_RESPONSE = "error_ind SUCCESS MonitorStop";
const STLI_MAKECALL_RESPONSE = "error_ind SUCCESS MakeCall";
const STLI_MON_CALL_INITIATED = "Initiated %d makeCall %s %s";
const STLI_MON_CALL_DEVICEINFO = "DeviceInformation %d %d (%s)";

/** PHP `chop`: strips trailing spaces, tabs, CR, LF, NUL and vertical tabs. */
function chop(s: string): string {
  const strip = " \t\n\r\0\v";
  let end = s.length;
  while (end > 0 && strip.includes(s[end - 1])) end--;
  return s.slice(0, end);
}

/** The XP client's behaviour over a real socket. */
export class XpStliConnection {
  readonly #sock: StliClient;
  readonly #version: number;
  /** Every line read, after `chop`, for diagnostics. */
  readonly transcript: string[] = [];

  constructor(sock: StliClient, version = 2) {
    this.#sock = sock;
    this.#version = version;
  }

  async #write(buf: string) {
    this.transcript.push(`>>> ${buf}`);
    await this.#sock.send(buf + "\n");
  }

  async #read(): Promise<string> {
    const line = chop(await this.#sock.readLine());
    this.transcript.push(`<<< ${line}`);
    return line;
  }

  async #sockcmd(command: string): Promise<string> {
    await this.#write(command);
    return this.#read();
  }

  #expect(expect: string, have: string): string {
    if (expect !== have) {
      throw new TelephonyError(`Protocol error: Expecting "${expect}", have "${have}"`);
    }
    return have;
  }

  #expectf(expect: string, have: string): string {
    if (sscanf(have, expect).some((v) => v === null)) {
      throw new TelephonyError(`Protocol error: Expecting "${expect}", have "${have}"`);
    }
    return have;
  }

  /** Sends `STLI;Version=2` and checks the reply the way XP does since 2009. */
  async connect(): Promise<string> {
    const r = await this.#sockcmd(`STLI;Version=${this.#version}`);
    const [status] = sscanf(r, "error_ind %s STLI%c%[^\r]");
    if (scanCount(r, "error_ind %s STLI%c%[^\r]") === 3) {
      if (status !== "SUCCESS") throw new TelephonyError(`Response indicates failure <${r}>`);
      return r;
    }
    throw new TelephonyError(`Cannot parse connect respone <${r}>`);
  }

  /** Sends `BYE` and expects the exact reply. */
  async close(): Promise<void> {
    this.#expect(STLI_BYE_RESPONSE, await this.#sockcmd("BYE"));
  }

  /** `MakeCall`; on an observed terminal, exactly two more lines. */
  async createCall(terminal: Terminal, destination: string): Promise<string[]> {
    this.#expect(
      STLI_MAKECALL_RESPONSE,
      await this.#sockcmd(`MakeCall ${terminal.number} ${destination}`),
    );
    if (!terminal.observed) return [];
    const initiated = this.#expectf(STLI_MON_CALL_INITIATED, await this.#read());
    const info = this.#expectf(STLI_MON_CALL_DEVICEINFO, await this.#read());
    return [initiated, info];
  }

  /** `MonitorStart` / `MonitorStop` with exact replies. */
  async observeTerminal(terminal: Terminal, status: boolean): Promise<void> {
    if (status) {
      this.#expect(
        STLI_MON_START_RESPONSE,
        await this.#sockcmd(`MonitorStart ${terminal.number}`),
      );
      terminal.observed = true;
    } else {
      this.#expect(STLI_MON_STOP_RESPONSE, await this.#sockcmd(`MonitorStop ${terminal.number}`));
      terminal.observed = false;
    }
  }
}
