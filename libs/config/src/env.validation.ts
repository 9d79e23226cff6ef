import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, IsUrl, Matches, Max, Min, ValidateIf, validateSync } from 'class-validator';
import { ConfigError } from './config.error';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
const urlOptions = { require_tld: false, require_protocol: true };
/** http(s) only, and no user:password in the URL: credentials go in the auth header, which is kept out of messages. */
const httpUrlOptions = { ...urlOptions, protocols: ['http', 'https'], require_valid_protocol: true, disallow_auth: true };
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Every environment variable the service reads, with its default. */
export class EnvironmentVariables {
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_PORT = 3001;

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/pyrus_bots';

  /** false behind a pooler that cannot keep named prepared statements (PgBouncer in transaction mode before 1.21). */
  @IsIn(['true', 'false'], { message: 'DATABASE_PREPARED_STATEMENTS must be true or false' })
  DATABASE_PREPARED_STATEMENTS = 'true';

  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsUrl(urlOptions, { message: 'PYRUS_AUTH_URL must be an http(s) URL' })
  PYRUS_AUTH_URL = 'https://accounts.pyrus.com/api/v4/auth';

  @IsUrl(urlOptions, { message: 'PYRUS_API_URL must be an http(s) URL' })
  PYRUS_API_URL = 'https://api.pyrus.com/v4';

  @Transform(toInt)
  @IsInt()
  @Min(100)
  PYRUS_TIMEOUT_MS = 15000;

  /** Calls per window per bot account; Pyrus's X-RateLimit-Limit overrides it once seen. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PYRUS_QUOTA_LIMIT = 5000;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  PYRUS_QUOTA_WINDOW_MS = 600000;

  /**
   * Whose calls one quota window counts: each bot account's (`bot`, as Pyrus's documentation says: a bot is a user),
   * or all of them together (`company`, for a company whose calls share one window).
   */
  @IsIn(['bot', 'company'], { message: 'PYRUS_QUOTA_SCOPE must be bot or company' })
  PYRUS_QUOTA_SCOPE: 'bot' | 'company' = 'bot';

  /** Extra tries after a network error or 5xx (a comment is retried only when it is not on the task). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10)
  PYRUS_RETRIES = 3;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  PYRUS_RETRY_BASE_MS = 500;

  @IsOptional()
  @IsString()
  BOTS_FILE?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** `pretty` (pino-pretty, for a person), `json` (for a log collector), or `auto`: pretty when stdout is a terminal. */
  @IsIn(['auto', 'pretty', 'json'])
  LOG_FORMAT: 'auto' | 'pretty' | 'json' = 'auto';

  /** Prefix of every Redis key Bull writes; lets several deployments (or test runs) share one Redis. */
  @Matches(/^[A-Za-z0-9:_-]+$/, { message: 'QUEUE_PREFIX may hold only letters, digits, ":", "_" and "-"' })
  QUEUE_PREFIX = 'pyrus-bots';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(50)
  JOB_ATTEMPTS = 6;

  /** First retry delay; each later one doubles (2 s, 4 s, 8 s … by default). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  JOB_BACKOFF_MS = 2000;

  /**
   * How long a follow-up its handler declares patient (the ERP order of a delayed payment) keeps being retried while
   * its error is retryable, before it is failed for good: its attempts are as many as its backoff fits in this time
   * (never fewer than JOB_ATTEMPTS).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(30 * 86400000)
  FOLLOWUP_PATIENCE_MS = 86400000;

  /** The longest wait between two attempts of a patient follow-up: its backoff doubles from JOB_BACKOFF_MS up to this. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  FOLLOWUP_RETRY_MAX_DELAY_MS = 300000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  WORKER_CONCURRENCY = 10;

  /**
   * How far past the last full GC's live heap V8 lets the old generation grow before it collects again (percent);
   * 0 leaves V8's own factor, which rises to 4x under load. Not a cap: a large delivery still gets its memory.
   * 100, not less: at 30 the api ran a full GC every quarter second under load and spent a fifth more CPU per webhook.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1000)
  HEAP_GROWTH_PERCENT = 100;

  /**
   * How often a worker reconciles PostgreSQL with Redis: unfinished deliveries whose Bull job is gone (never queued,
   * or lost with Redis's data) are queued again under the same job id.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  RECONCILE_INTERVAL_MS = 30000;

  /**
   * How old an unfinished delivery must be before the reconciliation looks at its job: longer than the api takes to
   * store and queue one (QUEUE_ADD_TIMEOUT_MS). A re-add under the same job id is harmless either way.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  RECONCILE_MIN_AGE_MS = 30000;

  /** How often the worker reads each bot's inbox for tasks whose webhook never arrived; 0 turns it off. */
  @Transform(toInt)
  @ValidateIf((o: EnvironmentVariables) => o.INBOX_SWEEP_INTERVAL_MS !== 0)
  @IsInt()
  @Min(1000, { message: 'INBOX_SWEEP_INTERVAL_MS must be 0 (off) or at least 1000' })
  INBOX_SWEEP_INTERVAL_MS = 300000;

  /**
   * How long after a decision answered in the webhook's answer the inbox sweep starts to look whether Pyrus applied it
   * (its retries of that webhook end about 3 minutes after the first attempt, and each gets the same answer).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  INLINE_ANSWER_GRACE_MS = 300000;

  /**
   * How often one worker reads the changes of each payment form's register into the local copy the duplicate check
   * reads (a full pass at start); 0 turns the copy off, and the check searches the register on every decision.
   */
  @Transform(toInt)
  @ValidateIf((o: EnvironmentVariables) => o.REGISTER_SYNC_INTERVAL_MS !== 0)
  @IsInt()
  @Min(1000, { message: 'REGISTER_SYNC_INTERVAL_MS must be 0 (off) or at least 1000' })
  REGISTER_SYNC_INTERVAL_MS = 60000;

  /** How long the api waits for Redis to take a job before it answers 503. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  QUEUE_ADD_TIMEOUT_MS = 2000;

  /**
   * How long a worker's hold on an active job lasts without renewal (Bull's lockDuration; renewed every half of it).
   * A worker that dies (SIGKILL, out of memory, host lost) leaves its job locked this long before another worker may
   * take it. Shorter recovers sooner, but a worker whose event loop stalls for more than half of it (a long GC, a
   * blocked loop) loses a job it is still running and another worker runs it too: safe (the task's advisory lock and
   * the outbox), but the second run waits on the task lock, reads the task again, and a job that stalls twice fails.
   * Bull's default, 30 s.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  QUEUE_LOCK_DURATION_MS = 30000;

  /**
   * How often the workers look for active jobs whose lock ran out and put them back in the queue (Bull's
   * stalledInterval). One check per interval across all workers, and one worker alone often skips every other one
   * (its own previous check's marker lives exactly an interval): a dead worker's job waits about the lock plus one to
   * three intervals, 32-36 s measured at 5 s, 90-94 s at Bull's 30 s. Cheap to shorten (one Lua script per queue per
   * check) and, unlike the lock, never makes a job run twice; hence 5 s rather than Bull's 30 s.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  QUEUE_STALLED_INTERVAL_MS = 5000;

  // ERP payment orders (libs/integrations). Without ERP_URL the connector is off.

  /** Base URL of the ERP's HTTP API; ERP_PATH is appended. */
  @IsOptional()
  @IsUrl(httpUrlOptions, { message: 'ERP_URL must be an http(s) URL without user:password (put credentials in ERP_AUTH_VALUE)' })
  ERP_URL?: string;

  @Matches(/^\/\S*$/, { message: 'ERP_PATH must start with "/"' })
  ERP_PATH = '/payment-orders';

  @Matches(HEADER_NAME, { message: 'ERP_AUTH_HEADER must be an HTTP header name' })
  ERP_AUTH_HEADER = 'Authorization';

  /** The whole header value, e.g. "Bearer abc…"; never logged. */
  @IsOptional()
  @IsString()
  ERP_AUTH_VALUE?: string;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  ERP_TIMEOUT_MS = 10000;

  /** Extra tries after a network error or 5xx; the Idempotency-Key makes them safe. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10)
  ERP_RETRIES = 3;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  ERP_RETRY_BASE_MS = 500;

  /** Consecutive failed ERP calls (network errors, timeouts, 5xx) that open the circuit breaker. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  ERP_BREAKER_THRESHOLD = 5;

  /** How long an open breaker fails calls fast before one trial call is let through. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  ERP_BREAKER_COOLDOWN_MS = 30000;

  // E-mail notifications over SMTP. Without SMTP_URL e-mail is off.

  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465; never logged. */
  @IsOptional()
  @Matches(/^smtps?:\/\/[^\s/]+(\/\S*)?$/, { message: 'SMTP_URL must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  /** Sender, e.g. "Payments <payments@example.com>"; required with SMTP_URL. */
  @ValidateIf((vars: EnvironmentVariables) => vars.SMTP_URL !== undefined || vars.SMTP_FROM !== undefined)
  @IsNotEmpty({ message: 'SMTP_FROM is required when SMTP_URL is set' })
  @Matches(/^[^\r\n]*<?[^\s<>@]+@[^\s<>@]+>?$/, { message: 'SMTP_FROM must be an e-mail address, optionally "Name <address>"' })
  SMTP_FROM?: string;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  SMTP_TIMEOUT_MS = 10000;

  // SMS through a generic HTTP gateway. Without SMS_GATEWAY_URL SMS is off.

  /** Receives POST {"to", "text"} as JSON. */
  @IsOptional()
  @IsUrl(httpUrlOptions, { message: 'SMS_GATEWAY_URL must be an http(s) URL without user:password (put credentials in SMS_AUTH_VALUE)' })
  SMS_GATEWAY_URL?: string;

  @Matches(HEADER_NAME, { message: 'SMS_AUTH_HEADER must be an HTTP header name' })
  SMS_AUTH_HEADER = 'Authorization';

  /** The whole header value; never logged. */
  @IsOptional()
  @IsString()
  SMS_AUTH_VALUE?: string;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  SMS_TIMEOUT_MS = 10000;

  // The admin API (apps/api/src/admin).

  /** `name:role:sha256,…`, or the path of a JSON file of tokens; see libs/config/src/admin-tokens.ts. */
  @IsOptional()
  @IsString()
  ADMIN_TOKENS?: string;

  /** Requests per minute one client address may make to /admin (each api replica counts its own). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  ADMIN_RATE_LIMIT = 300;

  /** Express "trust proxy": false (default), true, a hop count, or addresses/subnets (loopback, 10.0.0.0/8 …). */
  @IsOptional()
  @Matches(/^(true|false|\d+|[0-9A-Za-z.:/_-]+(\s*,\s*[0-9A-Za-z.:/_-]+)*)$/, {
    message: 'TRUST_PROXY must be true, false, a number of hops, or a comma-separated list of addresses or subnets',
  })
  TRUST_PROXY?: string;
}

export function validateEnvironment(env: Record<string, string | undefined>): EnvironmentVariables {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const vars = plainToInstance(EnvironmentVariables, defined, { exposeDefaultValues: true });
  const errors = validateSync(vars, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigError(`Invalid environment:\n  ${lines.join('\n  ')}`);
  }
  return vars;
}
