/** Network errors a client library passes through when its server is down or unreachable. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** How pg-pool, pg and ioredis say that their server went away, when they give no code. */
const CONNECTION_LOST =
  /Connection terminated|timeout exceeded when trying to connect|Connection is closed|max retries per request|Stream isn't writeable/i;

/**
 * Whether an error means PostgreSQL or Redis is unavailable (so the answer is a 503 to retry later), rather than a
 * fault of the request or a bug: a network error, a lost connection, or a Postgres SQLSTATE of class 08 (connection),
 * 53 (insufficient resources) or 57P (shutting down, cannot connect now).
 */
export function isDependencyFailure(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, message, driverError } = err as { code?: unknown; message?: unknown; driverError?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || /^(08|53|57P)/.test(code))) return true;
  if (typeof message === 'string' && CONNECTION_LOST.test(message)) return true;
  return driverError !== undefined && driverError !== err && isDependencyFailure(driverError);
}
