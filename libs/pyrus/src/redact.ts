/** Keys whose values are secrets wherever they appear in a payload. */
const SECRET_KEYS = new Set(['access_token', 'security_key', 'securitykey', 'password', 'authorization']);
export const REDACTED = '[REDACTED]';

/** A copy of a parsed payload with every secret value replaced, ready to store or log. */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k.toLowerCase()) ? REDACTED : redactSecrets(v)]),
    ) as T;
  }
  return value;
}

/** Paths pino replaces in every log line. */
export const LOG_REDACT_PATHS = [
  'req.headers["x-pyrus-sig"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'access_token',
  'accessToken',
  'security_key',
  'securityKeys',
  '*.access_token',
  '*.accessToken',
  '*.security_key',
  '*.securityKeys',
  '*.authorization',
  '*.Authorization',
];
