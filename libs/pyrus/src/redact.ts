export const REDACTED = '[REDACTED]';

/**
 * The webhook body as it may be stored: Pyrus puts its one secret, `access_token`, at the top level, so a shallow
 * copy is enough (a deep copy of a multi-megabyte task on every delivery showed up as GC time).
 */
export function redactWebhookBody<T extends object>(body: T): T {
  return 'access_token' in body ? { ...body, access_token: REDACTED } : body;
}

/**
 * Paths pino replaces in every log line, in case a secret is ever logged by mistake. No wildcards: they cost on
 * every line. The request serializer drops X-Pyrus-Sig itself, and the service never logs payloads.
 */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'access_token',
  'accessToken',
  'security_key',
  'securityKeys',
  'data.accessToken',
  'job.data.accessToken',
];
