/** 401 codes after which a fresh token may help. */
const TOKEN_ERROR_CODES = new Set(['revoked_token', 'expired_token', 'invalid_token', 'token_not_specified', 'authorization_error']);
/** 401 codes that no retry can fix. */
const CREDENTIAL_ERROR_CODES = new Set(['invalid_credentials', 'account_blocked', 'invalid_application_id']);

/** Every failure of a Pyrus call: HTTP status (0 for network errors and timeouts), Pyrus's error_code, and whether to retry. */
export class PyrusApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string,
    /** True for network errors, timeouts, 5xx and 429: the same call may succeed later. */
    readonly retryable: boolean,
    /** True when the request may have been applied (timeout, reset or 5xx after sending): check before repeating a write. */
    readonly uncertain: boolean,
  ) {
    super(message);
    this.name = 'PyrusApiError';
  }

  get isTokenProblem(): boolean {
    return this.status === 401 && TOKEN_ERROR_CODES.has(this.errorCode);
  }

  get isCredentialProblem(): boolean {
    return this.status === 401 && CREDENTIAL_ERROR_CODES.has(this.errorCode);
  }

  /** Builds the error from an HTTP answer; a non-JSON body (a proxy's HTML 502) is described, not thrown. */
  static fromResponse(status: number, bodyText: string, what: string): PyrusApiError {
    let code = `http_${status}`;
    let detail = '';
    try {
      const body = JSON.parse(bodyText) as { error?: string; error_message?: string; error_code?: string };
      code = body.error_code ?? code;
      detail = body.error ?? body.error_message ?? '';
    } catch {
      detail = bodyText.replace(/\s+/g, ' ').trim().slice(0, 120);
    }
    const retryable = status >= 500 || status === 429;
    const message = `${what} answered ${status} ${code}${detail ? `: ${detail}` : ''}`;
    return new PyrusApiError(message, status, code, retryable, status >= 500);
  }

  /** A call that got no answer; `sent` is false when the connection was refused before the request left. */
  static network(what: string, cause: unknown, timedOut: boolean, sent = true): PyrusApiError {
    const reason = timedOut ? 'timed out' : `failed: ${(cause as Error)?.message ?? String(cause)}`;
    return new PyrusApiError(`${what} ${reason}`, 0, timedOut ? 'timeout' : 'network_error', true, sent);
  }
}
