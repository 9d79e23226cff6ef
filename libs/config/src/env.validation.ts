import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, ValidateIf, validateSync } from 'class-validator';
import { ConfigError } from './config.error';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;
const urlOptions = { require_tld: false, require_protocol: true };

/** Every environment variable the service reads, with its default. */
export class EnvironmentVariables {
  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  WORKER_PORT = 3001;

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/pyrus_bots';

  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsUrl(urlOptions, { message: 'PYRUS_AUTH_URL must be an http(s) URL' })
  PYRUS_AUTH_URL = 'https://accounts.pyrus.com/api/v4/auth';

  @IsUrl(urlOptions, { message: 'PYRUS_API_URL must be an http(s) URL' })
  PYRUS_API_URL = 'https://api.pyrus.com/v4';

  @Transform(toInt) @IsInt() @Min(100)
  PYRUS_TIMEOUT_MS = 15000;

  /** Calls per window per bot account; Pyrus's X-RateLimit-Limit overrides it once seen. */
  @Transform(toInt) @IsInt() @Min(1)
  PYRUS_QUOTA_LIMIT = 5000;

  @Transform(toInt) @IsInt() @Min(1000)
  PYRUS_QUOTA_WINDOW_MS = 600000;

  /** Extra tries after a network error or 5xx (a comment is retried only when it is not on the task). */
  @Transform(toInt) @IsInt() @Min(0) @Max(10)
  PYRUS_RETRIES = 3;

  @Transform(toInt) @IsInt() @Min(1)
  PYRUS_RETRY_BASE_MS = 500;

  @IsOptional() @IsString()
  BOTS_FILE?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Prefix of every Redis key Bull writes; lets several deployments (or test runs) share one Redis. */
  @Matches(/^[A-Za-z0-9:_-]+$/, { message: 'QUEUE_PREFIX may hold only letters, digits, ":", "_" and "-"' })
  QUEUE_PREFIX = 'pyrus-bots';

  @Transform(toInt) @IsInt() @Min(1) @Max(50)
  JOB_ATTEMPTS = 6;

  /** First retry delay; each later one doubles (2 s, 4 s, 8 s … by default). */
  @Transform(toInt) @IsInt() @Min(1)
  JOB_BACKOFF_MS = 2000;

  @Transform(toInt) @IsInt() @Min(1) @Max(200)
  WORKER_CONCURRENCY = 10;

  /** How often the worker looks for stored deliveries that never reached the queue. */
  @Transform(toInt) @IsInt() @Min(100)
  SWEEP_INTERVAL_MS = 30000;

  /** How old an unqueued delivery must be before the sweeper takes it (the api may still be queueing it). */
  @Transform(toInt) @IsInt() @Min(0)
  SWEEP_MIN_AGE_MS = 10000;

  /** How often the worker reads each bot's inbox for tasks whose webhook never arrived; 0 turns it off. */
  @Transform(toInt) @ValidateIf((o: EnvironmentVariables) => o.INBOX_SWEEP_INTERVAL_MS !== 0) @IsInt()
  @Min(1000, { message: 'INBOX_SWEEP_INTERVAL_MS must be 0 (off) or at least 1000' })
  INBOX_SWEEP_INTERVAL_MS = 300000;

  /** How long the api waits for Redis to take a job before it answers 503. */
  @Transform(toInt) @IsInt() @Min(50)
  QUEUE_ADD_TIMEOUT_MS = 2000;
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
