import { loadBotsFile, LoadedBotsFile } from './bots-file';
import { validateEnvironment } from './env.validation';

/** The whole typed configuration; read it with `ConfigService<AppConfiguration, true>` and `{ infer: true }`. */
export interface AppConfiguration {
  app: { port: number; workerPort: number; logLevel: string };
  database: { url: string };
  redis: { url: string };
  queue: {
    prefix: string;
    attempts: number;
    backoffMs: number;
    concurrency: number;
    addTimeoutMs: number;
    sweepIntervalMs: number;
    sweepMinAgeMs: number;
    /** 0: the worker never reads the inboxes. */
    inboxSweepIntervalMs: number;
  };
  pyrus: {
    authUrl: string;
    apiUrl: string;
    timeoutMs: number;
    retries: number;
    retryBaseMs: number;
    quotaLimit: number;
    quotaWindowMs: number;
  };
  bots: LoadedBotsFile;
}

/** Validates the environment and the bots file; throws a ConfigError naming what is wrong. */
export function buildConfiguration(env: Record<string, string | undefined> = process.env): AppConfiguration {
  const vars = validateEnvironment(env);
  return {
    app: { port: vars.PORT, workerPort: vars.WORKER_PORT, logLevel: vars.LOG_LEVEL },
    database: { url: vars.DATABASE_URL },
    redis: { url: vars.REDIS_URL },
    queue: {
      prefix: vars.QUEUE_PREFIX,
      attempts: vars.JOB_ATTEMPTS,
      backoffMs: vars.JOB_BACKOFF_MS,
      concurrency: vars.WORKER_CONCURRENCY,
      addTimeoutMs: vars.QUEUE_ADD_TIMEOUT_MS,
      sweepIntervalMs: vars.SWEEP_INTERVAL_MS,
      sweepMinAgeMs: vars.SWEEP_MIN_AGE_MS,
      inboxSweepIntervalMs: vars.INBOX_SWEEP_INTERVAL_MS,
    },
    pyrus: {
      authUrl: vars.PYRUS_AUTH_URL,
      apiUrl: vars.PYRUS_API_URL.replace(/\/+$/, ''),
      timeoutMs: vars.PYRUS_TIMEOUT_MS,
      retries: vars.PYRUS_RETRIES,
      retryBaseMs: vars.PYRUS_RETRY_BASE_MS,
      quotaLimit: vars.PYRUS_QUOTA_LIMIT,
      quotaWindowMs: vars.PYRUS_QUOTA_WINDOW_MS,
    },
    bots: loadBotsFile(vars.BOTS_FILE, env),
  };
}
