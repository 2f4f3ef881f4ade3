/**
 * One HTTP exchange with the provider: the URL from `providerProtocol://providerHostname:
 * providerPort`, the HTTP client with the extra CA certificates of
 * `providerSslVerificationFilename` / `providerSslVerificationPath` (docs/provider.md §11.1),
 * a timeout, and a bounded body. Certificate verification is never disabled; the extra CAs
 * are added to the runtime's roots. No retries here (see `_account.ts`).
 */

import type { Clock } from "../clock.ts";
import type { ProviderConfig } from "../config/mod.ts";
import { log } from "../log/mod.ts";
import { ProviderError } from "./_errors.ts";
import { hostPort } from "../net.ts";

/** `fetch` as the service uses it (Deno's, with `client`); injected, never stubbed globally. */
export type FetchLike = (
  input: URL,
  init: RequestInit & { client?: Deno.HttpClient },
) => Promise<Response>;

/** Builds the HTTP client; `Deno.createHttpClient` unless a test passes another. */
export type HttpClientFactory = (options: Deno.CreateHttpClientOptions) => Deno.HttpClient;

/** One request as sent. */
export interface HttpRequest {
  readonly method: string;
  /** Path and query, starting with `/`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Most body bytes read; a longer body is reported as `tooLarge`, not kept. */
  readonly limitBytes: number;
  /** Overrides providerTimeoutSeconds (revoke on shutdown uses a shorter one). */
  readonly timeoutMs?: number;
}

/** The provider's answer. */
export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The body as UTF-8 text; "" when `tooLarge`. */
  readonly text: string;
  readonly tooLarge: boolean;
}

const PEM_CERT = "-----BEGIN CERTIFICATE-----";
const TIMEOUT = Symbol("timeout");

function message(e: unknown): string {
  if (e instanceof Error) {
    const inner = e.cause instanceof Error ? e.cause.message : e.message;
    return inner.replace(/^error sending request .*?\): (?=client error)/, "");
  }
  return String(e);
}

/** `https://host:port` for the config; IPv6 literals get their brackets. */
export function originOf(config: ProviderConfig): string {
  return `${config.protocol.toLowerCase()}://${hostPort(config.hostname, config.port)}`;
}

/** The HTTP side of one provider configuration. */
export class Transport {
  readonly origin: string;
  readonly #config: ProviderConfig;
  readonly #fetch: FetchLike;
  readonly #clock: Clock;
  readonly #createClient: HttpClientFactory;
  #client?: Promise<Deno.HttpClient>;
  #closed = false;

  constructor(
    config: ProviderConfig,
    fetch: FetchLike,
    clock: Clock,
    createClient: HttpClientFactory,
  ) {
    this.#config = config;
    this.#fetch = fetch;
    this.#clock = clock;
    this.#createClient = createClient;
    this.origin = originOf(config);
  }

  /**
   * Sends one request and reads the answer within the timeout. Throws `ProviderError`:
   * `Timeout` and `Unreachable` (retryable), `CertificateRefused`, `CaFile…`, or the
   * signal's reason when aborted from outside.
   */
  async send(request: HttpRequest, signal: AbortSignal): Promise<HttpAnswer> {
    const client = await this.#httpClient();
    const url = new URL(this.origin + request.path);
    if (url.origin !== new URL(this.origin).origin) {
      throw new ProviderError(0, `InvalidCommand: resource leaves the provider host`);
    }
    const timeoutMs = request.timeoutMs ?? this.#config.timeoutSeconds * 1000;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = this.#clock.setTimeout(() => controller.abort(TIMEOUT), timeoutMs);
    try {
      signal.throwIfAborted();
      const response = await this.#fetch(url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        client,
        signal: controller.signal,
        redirect: "manual",
      });
      const { text, tooLarge } = await readBody(response, request.limitBytes);
      return {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
        text,
        tooLarge,
      };
    } catch (e) {
      if (controller.signal.aborted) {
        if (controller.signal.reason !== TIMEOUT) throw controller.signal.reason;
        throw new ProviderError(
          0,
          `Timeout: the provider did not answer within ${timeoutMs / 1000} s`,
          { cause: e, retryable: true },
        );
      }
      if (e instanceof ProviderError) throw e;
      const text = message(e);
      if (/certificate|\btls\b|handshake/i.test(text)) {
        throw new ProviderError(
          0,
          `CertificateRefused: the provider's TLS certificate was not accepted (${text}); ` +
            "if it is signed by your own CA, name that CA in providerSslVerificationFilename " +
            "or providerSslVerificationPath",
          { cause: e },
        );
      }
      // Refused, or the name did not resolve: no byte of the request reached the provider.
      const notSent = /connection refused|dns|lookup|name resolution|no address/i.test(text);
      throw new ProviderError(0, `Unreachable: ${text}`, { cause: e, retryable: true, notSent });
    } finally {
      this.#clock.clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Closes the HTTP client and its pooled connections. */
  close(): void {
    this.#closed = true;
    this.#client?.then((c) => c.close(), () => {});
  }

  #httpClient(): Promise<Deno.HttpClient> {
    if (this.#closed) return Promise.reject(new ProviderError(0, "Stopped: transport closed"));
    if (!this.#client) {
      const made = this.#makeClient();
      this.#client = made;
      // A CA problem is reported on this request and checked again on the next one.
      made.catch(() => {
        if (this.#client === made) this.#client = undefined;
      });
    }
    return this.#client;
  }

  async #makeClient(): Promise<Deno.HttpClient> {
    const caCerts = await loadCaCertificates(this.#config);
    try {
      const client = this.#createClient(caCerts.length > 0 ? { caCerts } : {});
      if (caCerts.length > 0) {
        const count = caCerts.reduce((n, pem) => n + pem.split(PEM_CERT).length - 1, 0);
        log("provider").info("trusting {count} extra CA certificate(s) for {origin}", {
          count,
          origin: this.origin,
        });
      }
      return client;
    } catch (e) {
      throw new ProviderError(
        0,
        `CaFileInvalid: the CA certificates for the provider cannot be used (${message(e)})`,
        { cause: e },
      );
    }
  }
}

async function readCa(path: string, key: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ProviderError(0, `CaFileUnreadable: cannot read ${key} ${path} (${message(e)})`, {
      cause: e,
    });
  }
  if (!text.includes(PEM_CERT)) {
    throw new ProviderError(
      0,
      `CaFileInvalid: ${key} ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  return text;
}

/**
 * The PEM text of `caFile` and of every `*.pem` / `*.crt` in `caPath` (read when the
 * connection is made, docs/configuration.md §4). Throws `ProviderError` naming the file.
 */
export async function loadCaCertificates(config: ProviderConfig): Promise<string[]> {
  const out: string[] = [];
  if (config.caFile) out.push(await readCa(config.caFile, "providerSslVerificationFilename"));
  if (config.caPath) {
    const key = "providerSslVerificationPath";
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(config.caPath)) {
        if (!entry.isDirectory && /\.(pem|crt)$/i.test(entry.name)) names.push(entry.name);
      }
    } catch (e) {
      throw new ProviderError(
        0,
        `CaFileUnreadable: cannot read the folder ${key} ${config.caPath} (${message(e)})`,
        { cause: e },
      );
    }
    if (names.length === 0) {
      throw new ProviderError(
        0,
        `CaFileInvalid: the folder ${key} ${config.caPath} holds no *.pem or *.crt file`,
      );
    }
    for (const name of names.sort()) out.push(await readCa(`${config.caPath}/${name}`, key));
  }
  return out;
}

async function readBody(
  response: Response,
  limitBytes: number,
): Promise<{ text: string; tooLarge: boolean }> {
  if (!response.body) return { text: "", tooLarge: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel().catch(() => {});
      return { text: "", tooLarge: true };
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { text: new TextDecoder().decode(all), tooLarge: false };
}
