/** Stable codes of ErpError, for logs, stored outcomes and the caller's decisions. */
export type ErpErrorCode =
  /** The ERP answered with an error status (see `status`). */
  | 'ERP_HTTP_ERROR'
  /** No answer: connection refused or reset, DNS failure. */
  | 'ERP_NETWORK_ERROR'
  | 'ERP_TIMEOUT'
  /** A 2xx (or 409) whose body names no document id. */
  | 'ERP_INVALID_RESPONSE'
  /** The order itself is malformed; nothing was sent. */
  | 'ERP_INVALID_ORDER'
  /** The circuit breaker is open; nothing was sent. */
  | 'ERP_UNAVAILABLE'
  /** ERP_URL is not set. */
  | 'ERP_NOT_CONFIGURED';

/**
 * Every failure of an ERP call. `status` is the HTTP status, or 0 when there was no answer. `retryable` tells the
 * caller whether trying again later may help (network errors, timeouts, 5xx, 429, an open breaker); a 4xx will
 * fail the same way every time. Messages never hold the auth header or any URL credentials.
 */
export class ErpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryable: boolean,
    readonly code: ErpErrorCode,
  ) {
    super(message);
    this.name = 'ErpError';
  }

  /** True when the failure says the ERP is down or broken (counts towards opening the circuit breaker). */
  get isOutage(): boolean {
    return this.code === 'ERP_NETWORK_ERROR' || this.code === 'ERP_TIMEOUT' || (this.code === 'ERP_HTTP_ERROR' && this.status >= 500);
  }
}

/**
 * The circuit breaker is open: the ERP failed too often and is not called until `retryInMs` has passed. Retryable,
 * so a job that meets it fails and is tried again later, without having called the ERP.
 */
export class ErpUnavailableError extends ErpError {
  constructor(
    readonly retryInMs: number,
    lastFailure?: unknown,
  ) {
    const last = lastFailure instanceof Error ? `; last failure: ${lastFailure.message}` : '';
    super(
      `ERP unavailable: circuit breaker open after repeated failures, next trial in ${Math.ceil(retryInMs / 1000)} s${last}`,
      0,
      true,
      'ERP_UNAVAILABLE',
    );
    this.name = 'ErpUnavailableError';
  }
}
