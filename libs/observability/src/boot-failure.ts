import { parseIntoClientConfig } from 'pg-connection-string';
import { ConfigError } from '@app/config';
import { redisEndpoint } from '@app/queue';
import { errorMessage } from './error-message';

/**
 * NestFactory options for a boot whose failure prints one line: the log is buffered until the app's own logger
 * takes over (then flush it with app.flushLogs()), and an error while building the app is thrown to the caller
 * instead of Nest printing its stack and the buffered lines and exiting by itself.
 */
export const QUIET_BOOT = { bufferLogs: true, abortOnError: false, autoFlushLogs: false } as const;

/** Which process failed, and the variable that names its HTTP port. */
export interface BootingApp {
  name: 'api' | 'worker';
  portVariable: 'PORT' | 'WORKER_PORT';
}

/** Defaults of the variables the line reads, as in libs/config/src/env.validation.ts. */
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/pyrus_bots';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Connection errors a socket gives: the server is down, unreachable, or its name does not resolve. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** How pg says it gave up connecting, without a code. */
const PG_CONNECT_MESSAGE = /timeout exceeded when trying to connect|Connection terminated|connection timeout/i;
/** A PostgreSQL SQLSTATE: five characters of digits and capitals. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

interface ErrorFields {
  code?: string;
  port?: number;
  address?: string;
  hostname?: string;
  message: string;
}

/**
 * The one line a failed boot prints on stderr: which process, what failed and what to do, on one line, with no
 * password from a URL. The log is buffered until the app is built, so without this line the process would exit
 * silently.
 */
export function bootFailureLine(app: BootingApp, err: unknown, env: Record<string, string | undefined> = process.env): string {
  return `${app.name}: ${redactSecrets(describeFailure(app, err, env), env)}`.replace(/\s*\n\s*/g, '; ');
}

function describeFailure(app: BootingApp, err: unknown, env: Record<string, string | undefined>): string {
  if (err instanceof ConfigError) {
    const text = err.message.replace(/^Invalid environment:\s*/, '');
    return err.message.startsWith('Invalid environment')
      ? `invalid environment: ${text}; fix the variable named and start again`
      : `invalid configuration: ${text}; fix it and start again`;
  }
  const fields = fieldsOf(err);
  const { code } = fields;

  if (code === 'EADDRINUSE') {
    return `port ${fields.port ?? env[app.portVariable] ?? '?'} is in use; stop the other process or set ${app.portVariable}`;
  }
  if (code === 'EACCES' && fields.port !== undefined) {
    return `not allowed to listen on port ${fields.port} (EACCES); use a port above 1023 or set ${app.portVariable}`;
  }

  const database = postgresTarget(env.DATABASE_URL || DEFAULT_DATABASE_URL);
  const redis = redisTarget(env.REDIS_URL || DEFAULT_REDIS_URL);
  const matches = (target: Target) =>
    (fields.port === target.port && (fields.address === undefined || sameHost(fields.address, target.host))) ||
    (fields.hostname !== undefined && fields.hostname === target.host);

  if (code !== undefined && CONNECT_CODES.has(code)) {
    // Redis at boot makes the process wait, not fail; a connection error that does not name Redis is PostgreSQL's.
    if (matches(redis) && !matches(database)) return `cannot reach Redis at ${redis.label} (${code}); start it or fix REDIS_URL`;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return `cannot resolve PostgreSQL's host "${database.host}" (${code}); fix DATABASE_URL`;
    return `cannot reach PostgreSQL at ${database.label} (${code}); start it or fix DATABASE_URL`;
  }
  if (PG_CONNECT_MESSAGE.test(fields.message)) {
    return `cannot reach PostgreSQL at ${database.label} (${fields.message}); start it or fix DATABASE_URL`;
  }
  if (code !== undefined && SQLSTATE.test(code)) {
    if (code.startsWith('28'))
      return `PostgreSQL at ${database.label} refused the login: ${fields.message} (${code}); fix the user or password in DATABASE_URL`;
    if (code === '3D000') return `PostgreSQL at ${database.label}: ${fields.message} (${code}); create it or fix DATABASE_URL`;
    if (code.startsWith('57P') || code.startsWith('53'))
      return `PostgreSQL at ${database.label} cannot take connections now: ${fields.message} (${code}); wait for it or check its state`;
    return `preparing the database at ${database.label} failed: ${fields.message} (${code}); see the migration named, or fix the database`;
  }
  const name = err instanceof Error && err.name !== 'Error' ? `${err.name}: ` : '';
  return `${UNEXPECTED} ${name}${fields.message}${code ? ` (${code})` : ''}; the stack is in the log on stdout`;
}

const UNEXPECTED = 'failed to start:';

/**
 * Ends a failed boot: the one line on stderr, the stack as a JSON log line on stdout when the failure is not one the
 * line can name (a bug wants its stack; a port in use does not), the app closed if it was built (a worker may have
 * taken a job already: it finishes it), and exit code 1.
 */
export async function exitAfterBootFailure(
  app: BootingApp,
  err: unknown,
  built?: { close(): Promise<void> },
  env: Record<string, string | undefined> = process.env,
): Promise<never> {
  const line = bootFailureLine(app, err, env);
  process.stderr.write(`${line}\n`);
  if (line.startsWith(`${app.name}: ${UNEXPECTED}`)) {
    const stack = redactSecrets(err instanceof Error ? (err.stack ?? err.message) : String(err), env);
    process.stdout.write(
      `${JSON.stringify({ level: 50, time: Date.now(), pid: process.pid, context: app.name, msg: 'Boot failed', err: { stack } })}\n`,
    );
  }
  if (built) {
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)));
    await Promise.race([built.close().catch(() => undefined), giveUp]);
    clearTimeout(timer);
  }
  process.exit(1);
}

/** How long a failed boot waits for the built app to close (its active jobs to finish) before it exits anyway. */
const CLOSE_TIMEOUT_MS = 15000;

function fieldsOf(err: unknown): ErrorFields {
  const e = (err ?? {}) as Record<string, unknown>;
  // TypeORM wraps the driver's error; AggregateError (a host with several addresses) holds one per address.
  const inner = (e.driverError ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as Record<string, unknown> | undefined;
  const pick = <T>(key: string, type: string): T | undefined =>
    (typeof e[key] === type ? e[key] : inner && typeof inner[key] === type ? inner[key] : undefined) as T | undefined;
  return {
    code: pick<string>('code', 'string'),
    port: pick<number>('port', 'number'),
    address: pick<string>('address', 'string'),
    hostname: pick<string>('hostname', 'string'),
    message: errorMessage(err) || (inner ? errorMessage(inner) : ''),
  };
}

interface Target {
  host: string;
  port: number;
  /** host:port, or the socket directory: what an operator can look for. */
  label: string;
}

function postgresTarget(url: string): Target {
  try {
    const config = parseIntoClientConfig(url);
    const host = config.host || 'localhost';
    const port = Number(config.port) || 5432;
    return { host, port, label: host.startsWith('/') ? `the socket in ${host}` : `${host}:${port}` };
  } catch {
    return { host: '', port: 5432, label: 'DATABASE_URL' };
  }
}

function redisTarget(url: string): Target {
  const endpoint = redisEndpoint(url);
  return endpoint ? { ...endpoint, label: `${endpoint.host}:${endpoint.port}` } : { host: '', port: 6379, label: 'REDIS_URL' };
}

function sameHost(address: string, host: string): boolean {
  const loopback = (h: string) => h === 'localhost' || h === '::1' || h.startsWith('127.');
  return address === host || (loopback(address) && loopback(host));
}

/** Takes out the password of every URL the service is given, the auth header values, and the password of any URL in the text. */
export function redactSecrets(text: string, env: Record<string, string | undefined> = process.env): string {
  let out = text;
  // The known passwords first: one holding "@" would defeat the pattern below.
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL']) {
    const value = env[key];
    if (!value) continue;
    try {
      const password = decodeURIComponent(new URL(value).password);
      if (password.length >= 3) out = out.split(password).join('[REDACTED]');
    } catch {
      // Not a URL: nothing to take out.
    }
  }
  for (const key of ['ERP_AUTH_VALUE', 'SMS_AUTH_VALUE']) {
    const value = env[key];
    if (value && value.length >= 6) out = out.split(value).join('[REDACTED]');
  }
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi, '$1$2:[REDACTED]@');
}
