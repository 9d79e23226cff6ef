import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorMessage } from '../error-message';
import { withTimeout } from '../redis.health';

/** Bot label of a webhook whose bot name is not configured (a configured name is `[a-z0-9-]+`, so it cannot clash). */
export const UNKNOWN_BOT_LABEL = '_unknown';

/** What the api answered a webhook, as the `outcome` label of the deliveries counter and the ack histogram. */
export type WebhookOutcome =
  'accepted' | 'duplicate' | 'invalid_payload' | 'refused' | 'too_large' | 'unreadable' | 'unavailable' | 'error';
export type SignatureRejection = 'missing' | 'invalid' | 'unknown_bot';
export type QueueState = 'waiting' | 'active' | 'delayed' | 'failed';
export const QUEUE_STATES: readonly QueueState[] = ['waiting', 'active', 'delayed', 'failed'];

/** Bull's getJobCounts for one queue, read at scrape time. */
export interface QueueDepth {
  queue: string;
  counts: Partial<Record<QueueState, number>>;
}

/** One bot account's Pyrus quota in the current window, read at scrape time. */
export interface QuotaReading {
  bot: string;
  limit: number;
  remaining: number;
}

/** A form register's local copy, read at scrape time: how far behind Pyrus it may be. */
export interface RegisterCopyAgeReading {
  formId: number;
  ageSeconds: number;
}

/** A slow Redis must not hang a scrape: a reading that takes longer is left out of that scrape. */
const READ_TIMEOUT_MS = 2000;

/** The webhook answers in milliseconds: buckets from 1 ms to 5 s. */
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** A job can wait for Pyrus's quota window (minutes) or an ERP timeout: 10 ms to 10 min. */
const JOB_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const CALL_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/**
 * Every metric of the service, in a registry of its own (one per app instance, so several apps in one process, as
 * in the e2e tests, never collide), with Node's default process metrics. The api and the worker register the same
 * set; each moves the ones its work touches. Label values are bot names, queue and job names, operation templates
 * and status codes: never a token, a key or a URL.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly logger = new Logger('Metrics');
  private queueReader?: () => Promise<QueueDepth[]>;
  private quotaReader?: () => Promise<QuotaReading[]>;
  private registerCopyReader?: () => Promise<RegisterCopyAgeReading[]>;
  /** One quota read serves both quota gauges of a scrape (the registry collects its metrics concurrently). */
  private quotaRead?: Promise<QuotaReading[] | undefined>;

  // --- api: the webhook -------------------------------------------------------------------------------------------

  readonly webhookDeliveries = new Counter({
    name: 'pyrus_bots_webhook_deliveries_total',
    help: 'Webhook deliveries answered by the api, by bot and outcome (accepted, duplicate, invalid_payload, refused: verified but never storable, too_large, unreadable, unavailable, error)',
    labelNames: ['bot', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookSignatureRejections = new Counter({
    name: 'pyrus_bots_webhook_signature_rejections_total',
    help: 'Webhooks refused before the body was read as a delivery: reason missing or invalid (401), unknown_bot (404, bot="_unknown")',
    labelNames: ['bot', 'reason'] as const,
    registers: [this.registry],
  });

  readonly webhookDuplicates = new Counter({
    name: 'pyrus_bots_webhook_duplicates_total',
    help: 'Repeated deliveries (Pyrus retries) answered 200 without queueing a job',
    labelNames: ['bot'] as const,
    registers: [this.registry],
  });

  readonly inlineWait = new Histogram({
    name: 'pyrus_bots_inline_wait_seconds',
    help: "How long the api waited for the worker's decision before answering a webhook of a bot with reply auto or inline, by bot and result: inline (answered with the decision), none (no decision to answer with: skipped), repeat (a repeat of a delivery decided before and not answered inline), taken_for_api (the decision came as the budget ended and the worker took it), timeout (the budget ran out: the decision goes through the API), unavailable (Redis's channel was down, so it did not wait), error (the claim could not be read)",
    labelNames: ['bot', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 50],
    registers: [this.registry],
  });

  readonly decisionsDelivered = new Counter({
    name: 'pyrus_bots_decisions_delivered_total',
    help: "Decisions that reached Pyrus, by bot and how: via inline (in the webhook's answer, no API call) or api (posted through the API); counted by the worker as it finishes the delivery",
    labelNames: ['bot', 'via'] as const,
    registers: [this.registry],
  });

  readonly webhookPayloadsRepaired = new Counter({
    name: 'pyrus_bots_webhook_payloads_repaired_total',
    help: 'Deliveries stored with characters PostgreSQL cannot hold (NUL, lone surrogates) replaced by U+FFFD, by bot',
    labelNames: ['bot'] as const,
    registers: [this.registry],
  });

  readonly webhookAckDuration = new Histogram({
    name: 'pyrus_bots_webhook_ack_duration_seconds',
    help: 'Time from the webhook request reaching the service to its answer, by bot and outcome',
    labelNames: ['bot', 'outcome'] as const,
    buckets: ACK_BUCKETS,
    registers: [this.registry],
  });

  // --- worker: queues and jobs ------------------------------------------------------------------------------------

  readonly queueJobs = new Gauge({
    name: 'pyrus_bots_queue_jobs',
    help: 'Jobs in each Bull queue by state (waiting, active, delayed, failed), read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
    collect: () => this.collectQueues(),
  });

  readonly deliveriesRequeued = new Counter({
    name: 'pyrus_bots_deliveries_requeued_total',
    help: 'Unfinished deliveries queued again by the reconciliation because their job was not in Redis (never added, or lost)',
    registers: [this.registry],
  });

  readonly followUpsRequeued = new Counter({
    name: 'pyrus_bots_followups_requeued_total',
    help: 'Follow-ups (an ERP order, a notification) queued again by the reconciliation because their job was not in Redis',
    registers: [this.registry],
  });

  readonly jobFailedAttempts = new Counter({
    name: 'pyrus_bots_job_failed_attempts_total',
    help: 'Job attempts that failed (each retry counts), by queue and job name',
    labelNames: ['queue', 'job_name'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'pyrus_bots_job_duration_seconds',
    help: 'Duration of one job attempt, by queue, job name and outcome (completed, failed)',
    labelNames: ['queue', 'job_name', 'outcome'] as const,
    buckets: JOB_BUCKETS,
    registers: [this.registry],
  });

  // --- worker: outbound calls -------------------------------------------------------------------------------------

  readonly pyrusCalls = new Counter({
    name: 'pyrus_bots_pyrus_calls_total',
    help: 'HTTP requests to Pyrus by bot, operation (ids as placeholders) and status (HTTP status, or "error" without an answer)',
    labelNames: ['bot', 'operation', 'status'] as const,
    registers: [this.registry],
  });

  readonly pyrusCallDuration = new Histogram({
    name: 'pyrus_bots_pyrus_call_duration_seconds',
    help: 'Duration of one HTTP request to Pyrus (without the wait for quota), by operation',
    labelNames: ['operation'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });

  readonly pyrusQuotaRemaining: Gauge<'bot'> = new Gauge({
    name: 'pyrus_bots_pyrus_quota_remaining',
    help: "Calls left in the bot account's current Pyrus quota window (shared by all processes through Redis), read at scrape time",
    labelNames: ['bot'] as const,
    registers: [this.registry],
    collect: (): Promise<void> => this.collectQuota(this.pyrusQuotaRemaining, 'remaining'),
  });

  readonly pyrusQuotaLimit: Gauge<'bot'> = new Gauge({
    name: 'pyrus_bots_pyrus_quota_limit',
    help: "Calls per window of the bot account (Pyrus's X-RateLimit-Limit, else PYRUS_QUOTA_LIMIT)",
    labelNames: ['bot'] as const,
    registers: [this.registry],
    collect: (): Promise<void> => this.collectQuota(this.pyrusQuotaLimit, 'limit'),
  });

  readonly erpCalls = new Counter({
    name: 'pyrus_bots_erp_calls_total',
    help: 'ERP calls by operation and outcome (ok, duplicate, http_4xx, http_5xx, timeout, network_error, invalid_response, circuit_open)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly notifications = new Counter({
    name: 'pyrus_bots_notifications_total',
    help: 'Vendor notifications by channel (email, sms) and outcome (sent, failed)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly inboxSweepQueued = new Counter({
    name: 'pyrus_bots_inbox_sweep_queued_total',
    help: 'Tasks the inbox sweep found waiting for the bot without a stored delivery (a lost webhook), stored and queued',
    labelNames: ['bot'] as const,
    registers: [this.registry],
  });

  readonly inboxSweepFailures = new Counter({
    name: 'pyrus_bots_inbox_sweep_failures_total',
    help: "Inbox sweep failures: a task it could not catch up, or a bot's inbox it could not read",
    labelNames: ['bot'] as const,
    registers: [this.registry],
  });

  readonly registerCopyAge = new Gauge({
    name: 'pyrus_bots_register_copy_age_seconds',
    help: "Age of the local copy of a form's register that the duplicate check reads: seconds since the start of its last successful sync, read from PostgreSQL at scrape time (no series before the first)",
    labelNames: ['form'] as const,
    registers: [this.registry],
    collect: () => this.collectRegisterCopies(),
  });

  readonly callLogDropped = new Counter({
    name: 'pyrus_bots_call_log_dropped_rows_total',
    help: 'Rows of job_attempts and outbound_calls lost because their batch could not be written',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** How the queue gauge reads Bull's counts at scrape time (the worker sets it; the api reports no queues). */
  readQueuesWith(reader: () => Promise<QueueDepth[]>): void {
    this.queueReader = reader;
  }

  /** How the quota gauges read each bot's window at scrape time (the worker sets it). */
  readQuotaWith(reader: () => Promise<QuotaReading[]>): void {
    this.quotaReader = reader;
  }

  /** How the register copy gauge reads each copy's age at scrape time (the worker sets it). */
  readRegisterCopiesWith(reader: () => Promise<RegisterCopyAgeReading[]>): void {
    this.registerCopyReader = reader;
  }

  /** The exposition, in Prometheus text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private async collectQueues(): Promise<void> {
    if (!this.queueReader) return;
    let depths: QueueDepth[];
    try {
      depths = await withTimeout(this.queueReader(), READ_TIMEOUT_MS, `no answer in ${READ_TIMEOUT_MS} ms`);
    } catch (err) {
      // No stale figures: while Redis cannot be read the series disappear (the readiness check says why).
      this.queueJobs.reset();
      this.logger.warn(`Could not read the queue depths: ${errorMessage(err)}`);
      return;
    }
    this.queueJobs.reset();
    for (const { queue, counts } of depths) {
      for (const state of QUEUE_STATES) this.queueJobs.set({ queue, state }, counts[state] ?? 0);
    }
  }

  private async collectRegisterCopies(): Promise<void> {
    if (!this.registerCopyReader) return;
    let ages: RegisterCopyAgeReading[];
    try {
      ages = await withTimeout(this.registerCopyReader(), READ_TIMEOUT_MS, `no answer in ${READ_TIMEOUT_MS} ms`);
    } catch (err) {
      // No stale figures: while PostgreSQL cannot be read the series disappear (the readiness check says why).
      this.registerCopyAge.reset();
      this.logger.warn(`Could not read the register copies' age: ${errorMessage(err)}`);
      return;
    }
    this.registerCopyAge.reset();
    for (const { formId, ageSeconds } of ages) this.registerCopyAge.set({ form: String(formId) }, ageSeconds);
  }

  private async collectQuota(gauge: Gauge<'bot'>, field: 'remaining' | 'limit'): Promise<void> {
    const readings = await this.readQuotaOnce();
    gauge.reset();
    for (const reading of readings ?? []) gauge.set({ bot: reading.bot }, reading[field]);
  }

  private readQuotaOnce(): Promise<QuotaReading[] | undefined> {
    const reader = this.quotaReader;
    if (!reader) return Promise.resolve([]);
    if (!this.quotaRead) {
      this.quotaRead = withTimeout(reader(), READ_TIMEOUT_MS, `no answer in ${READ_TIMEOUT_MS} ms`).catch((err: unknown) => {
        // No stale figures: while Redis cannot be read the series disappear.
        this.logger.warn(`Could not read the Pyrus quota: ${errorMessage(err)}`);
        return undefined;
      });
      void this.quotaRead.finally(() => setImmediate(() => (this.quotaRead = undefined)));
    }
    return this.quotaRead;
  }
}
