/**
 * The one named error of the provider: everything that ends a RawCommand without a provider
 * answer to pass on carries the HTTP status (or 0) and the reason the channel shows
 * (docs/channel-protocol.md §5).
 */

/** A RawCommand (or token request) that failed; `reason` is what the channel reply says. */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  /** True for failures worth another try after a pause: timeouts and network errors. */
  readonly retryable: boolean;
  /** True when the request surely never reached the provider (the connection was refused). */
  readonly notSent: boolean;

  constructor(
    /** HTTP status of the provider's answer, or 0 when there was none. */
    readonly status: number,
    /** One line, no secrets: `RateLimited`, `Timeout: …`, `LoginRefused: …`, … */
    readonly reason: string,
    options?: ErrorOptions & { readonly retryable?: boolean; readonly notSent?: boolean },
  ) {
    super(reason, options);
    this.retryable = options?.retryable ?? false;
    this.notSent = options?.notSent ?? false;
  }
}

/** The reply reason of requests held back by a rate-limit penalty (docs/channel-protocol.md §5). */
export const RATE_LIMITED = "RateLimited";

/** Why work in flight ends when the service closes or the provider settings change. */
export function stopped(why: string): ProviderError {
  return new ProviderError(0, `Stopped: ${why}`);
}
