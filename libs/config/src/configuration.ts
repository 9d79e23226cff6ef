import { AdminTokenConfig, loadAdminTokens, parseTrustProxy } from './admin-tokens';
import { loadBotsFile, LoadedBotsFile } from './bots-file';
import { EnvironmentVariables, validateEnvironment } from './env.validation';

/** The whole typed configuration; read it with `ConfigService<AppConfiguration, true>` and `{ infer: true }`. */
export interface AppConfiguration {
  app: { port: number; workerPort: number; logLevel: string; logFormat: 'auto' | 'pretty' | 'json' };
  database: { url: string; preparedStatements: boolean };
  redis: { url: string };
  queue: {
    prefix: string;
    attempts: number;
    backoffMs: number;
    /** How long a patient follow-up keeps being retried before it is failed for good. */
    followUpPatienceMs: number;
    /** The cap on a patient follow-up's backoff. */
    followUpRetryMaxDelayMs: number;
    concurrency: number;
    addTimeoutMs: number;
    /** How often a worker looks for unfinished deliveries whose job is not in Redis. */
    reconcileIntervalMs: number;
    /** How old an unfinished delivery must be before the reconciliation looks at its job. */
    reconcileMinAgeMs: number;
    /** 0: the worker never reads the inboxes. */
    inboxSweepIntervalMs: number;
    /** How old an inline answer must be before the inbox sweep checks that Pyrus applied it. */
    inlineAnswerGraceMs: number;
    /** 0: no local register copy; the duplicate check searches the register on every decision. */
    registerSyncIntervalMs: number;
    /** Bull's lockDuration: how long a dead worker's job stays locked before another worker may take it. */
    lockDurationMs: number;
    /** Bull's stalledInterval: how often a worker puts jobs whose lock expired back in the queue. */
    stalledIntervalMs: number;
  };
  pyrus: {
    authUrl: string;
    apiUrl: string;
    timeoutMs: number;
    retries: number;
    retryBaseMs: number;
    quotaLimit: number;
    quotaWindowMs: number;
    /** `bot`: one window per bot account; `company`: one window for all of them. */
    quotaScope: 'bot' | 'company';
  };
  /** Each part is null when its URL is not set: ERP and notifications are optional. */
  integrations: IntegrationsConfig;
  bots: LoadedBotsFile;
  admin: {
    tokens: AdminTokenConfig[];
    /** Requests per minute per client address on /admin. */
    rateLimit: number;
    /** Express's "trust proxy": whether (and whose) X-Forwarded-For gives the client address. */
    trustProxy: boolean | number | string;
  };
}

export interface IntegrationsConfig {
  erp: ErpConfig | null;
  email: EmailConfig | null;
  sms: SmsConfig | null;
}

export interface ErpConfig {
  /** Base URL without a trailing slash. */
  url: string;
  /** Appended to url; default "/payment-orders". */
  path: string;
  authHeader: string;
  /** Sent as the authHeader's value; kept out of every message. */
  authValue?: string;
  timeoutMs: number;
  /** Extra tries after a network error, a timeout or a 5xx. */
  retries: number;
  /** First retry delay; doubles each time, with jitter. */
  retryBaseMs: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
}

export interface EmailConfig {
  /** smtp://user:pass@host:port (STARTTLS when the server offers it) or smtps:// (TLS from the start); holds the password. */
  url: string;
  /** "Name <address>" or an address. */
  from: string;
  /** For connecting, the greeting and each reply. */
  timeoutMs: number;
}

export interface SmsConfig {
  /** The gateway's endpoint; it receives POST {"to", "text"} as JSON. */
  url: string;
  authHeader: string;
  /** Sent as the authHeader's value; kept out of every outcome. */
  authValue?: string;
  timeoutMs: number;
}

/** Validates the environment and the bots file; throws a ConfigError naming what is wrong. */
export function buildConfiguration(env: Record<string, string | undefined> = process.env): AppConfiguration {
  const vars = validateEnvironment(env);
  return {
    app: { port: vars.PORT, workerPort: vars.WORKER_PORT, logLevel: vars.LOG_LEVEL, logFormat: vars.LOG_FORMAT },
    database: { url: vars.DATABASE_URL, preparedStatements: vars.DATABASE_PREPARED_STATEMENTS === 'true' },
    redis: { url: vars.REDIS_URL },
    queue: {
      prefix: vars.QUEUE_PREFIX,
      attempts: vars.JOB_ATTEMPTS,
      backoffMs: vars.JOB_BACKOFF_MS,
      followUpPatienceMs: vars.FOLLOWUP_PATIENCE_MS,
      followUpRetryMaxDelayMs: vars.FOLLOWUP_RETRY_MAX_DELAY_MS,
      concurrency: vars.WORKER_CONCURRENCY,
      addTimeoutMs: vars.QUEUE_ADD_TIMEOUT_MS,
      reconcileIntervalMs: vars.RECONCILE_INTERVAL_MS,
      reconcileMinAgeMs: vars.RECONCILE_MIN_AGE_MS,
      inboxSweepIntervalMs: vars.INBOX_SWEEP_INTERVAL_MS,
      inlineAnswerGraceMs: vars.INLINE_ANSWER_GRACE_MS,
      registerSyncIntervalMs: vars.REGISTER_SYNC_INTERVAL_MS,
      lockDurationMs: vars.QUEUE_LOCK_DURATION_MS,
      stalledIntervalMs: vars.QUEUE_STALLED_INTERVAL_MS,
    },
    pyrus: {
      authUrl: vars.PYRUS_AUTH_URL,
      apiUrl: vars.PYRUS_API_URL.replace(/\/+$/, ''),
      timeoutMs: vars.PYRUS_TIMEOUT_MS,
      retries: vars.PYRUS_RETRIES,
      retryBaseMs: vars.PYRUS_RETRY_BASE_MS,
      quotaLimit: vars.PYRUS_QUOTA_LIMIT,
      quotaWindowMs: vars.PYRUS_QUOTA_WINDOW_MS,
      quotaScope: vars.PYRUS_QUOTA_SCOPE,
    },
    integrations: integrationsConfig(vars),
    bots: loadBotsFile(vars.BOTS_FILE, env),
    admin: { tokens: loadAdminTokens(vars.ADMIN_TOKENS), rateLimit: vars.ADMIN_RATE_LIMIT, trustProxy: parseTrustProxy(vars.TRUST_PROXY) },
  };
}

function integrationsConfig(vars: EnvironmentVariables): IntegrationsConfig {
  return {
    erp: vars.ERP_URL
      ? {
          url: vars.ERP_URL.replace(/\/+$/, ''),
          path: vars.ERP_PATH,
          authHeader: vars.ERP_AUTH_HEADER,
          authValue: vars.ERP_AUTH_VALUE,
          timeoutMs: vars.ERP_TIMEOUT_MS,
          retries: vars.ERP_RETRIES,
          retryBaseMs: vars.ERP_RETRY_BASE_MS,
          breakerThreshold: vars.ERP_BREAKER_THRESHOLD,
          breakerCooldownMs: vars.ERP_BREAKER_COOLDOWN_MS,
        }
      : null,
    email: vars.SMTP_URL ? { url: vars.SMTP_URL, from: vars.SMTP_FROM as string, timeoutMs: vars.SMTP_TIMEOUT_MS } : null,
    sms: vars.SMS_GATEWAY_URL
      ? { url: vars.SMS_GATEWAY_URL, authHeader: vars.SMS_AUTH_HEADER, authValue: vars.SMS_AUTH_VALUE, timeoutMs: vars.SMS_TIMEOUT_MS }
      : null,
  };
}
