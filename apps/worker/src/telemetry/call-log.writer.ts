import { BeforeApplicationShutdown, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobAttemptOutcome, OutboundCallOutcome, OutboundCallTarget } from '@app/database';
import { errorMessage, MetricsService } from '@app/observability';

export interface JobAttemptRow {
  queue: string;
  jobId: string;
  jobName: string;
  attempt: number;
  /** Left out for a delivery or payment job: the INSERT reads them from the delivery or the payment. */
  bot?: string | null;
  taskId?: number | null;
  deliveryId?: string | null;
  paymentId?: string | null;
  startedAt: Date;
  finishedAt: Date;
  outcome: JobAttemptOutcome;
  error?: string | null;
}

export interface OutboundCallRow {
  target: OutboundCallTarget;
  operation: string;
  bot?: string | null;
  taskId?: number | null;
  deliveryId?: string | null;
  paymentId?: string | null;
  status: number | null;
  outcome: OutboundCallOutcome;
  error?: string | null;
  durationMs: number;
  at: Date;
}

export interface CallLogWriterSettings {
  /** A flush starts this long after the first row of a batch arrives. */
  flushIntervalMs: number;
  /** A batch this large is written at once, without waiting for the interval. */
  maxBatchRows: number;
  /** Rows kept while the database is slow; beyond that the oldest are dropped (and counted). */
  maxBufferedRows: number;
}

export const CALL_LOG_DEFAULTS: CallLogWriterSettings = { flushIntervalMs: 200, maxBatchRows: 200, maxBufferedRows: 20_000 };

/** Stored error texts are for reading, not for dumps. */
const MAX_ERROR_CHARS = 2000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const INSERT_JOB_ATTEMPTS = `
  INSERT INTO job_attempts (queue, job_id, job_name, attempt, bot, task_id, delivery_id, payment_id, started_at, finished_at, outcome, error)
  SELECT r.queue, r.job_id, r.job_name, r.attempt, coalesce(r.bot, d.bot, p.bot), coalesce(r.task_id, d.task_id, p.task_id),
         r.delivery_id, r.payment_id, r.started_at, r.finished_at, r.outcome, r.error
  FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[], $7::uuid[], $8::uuid[],
              $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[])
       WITH ORDINALITY AS r(queue, job_id, job_name, attempt, bot, task_id, delivery_id, payment_id, started_at, finished_at, outcome, error, n)
  LEFT JOIN deliveries d ON d.id = r.delivery_id
  LEFT JOIN payments p ON p.id = r.payment_id
  ORDER BY r.n`;

const INSERT_OUTBOUND_CALLS = `
  INSERT INTO outbound_calls (target, operation, bot, task_id, delivery_id, payment_id, status, outcome, error, duration_ms, at)
  SELECT r.target, r.operation, coalesce(r.bot, d.bot, p.bot), coalesce(r.task_id, d.task_id, p.task_id),
         r.delivery_id, r.payment_id, r.status, r.outcome, r.error, r.duration_ms, r.at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::uuid[], $6::uuid[], $7::int[], $8::text[], $9::text[],
              $10::int[], $11::timestamptz[])
       WITH ORDINALITY AS r(target, operation, bot, task_id, delivery_id, payment_id, status, outcome, error, duration_ms, at, n)
  LEFT JOIN deliveries d ON d.id = r.delivery_id
  LEFT JOIN payments p ON p.id = r.payment_id
  ORDER BY r.n`;

/**
 * The call log (job_attempts, outbound_calls) written off the jobs' path: rows are collected in memory and written
 * by one multi-row INSERT per table every `flushIntervalMs` or every `maxBatchRows` rows, and once more at
 * shutdown. Recording a row never waits and never fails a job; a batch that cannot be written is logged, counted
 * and dropped. Bot and task id, when a row has only a delivery or payment id, come from that row in the INSERT; ids
 * follow the order in which the rows were recorded.
 */
export class CallLogWriter implements BeforeApplicationShutdown, OnApplicationShutdown {
  private attempts: JobAttemptRow[] = [];
  private calls: OutboundCallRow[] = [];
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private shuttingDown = false;
  private readonly logger = new Logger('CallLogWriter');

  constructor(
    private readonly db: DataSource,
    private readonly metrics: MetricsService,
    private readonly settings: CallLogWriterSettings = CALL_LOG_DEFAULTS,
  ) {}

  recordJobAttempt(row: JobAttemptRow): void {
    this.attempts.push(row);
    this.attempts = this.bounded(this.attempts, 'job_attempts');
    this.scheduled();
  }

  recordCall(row: OutboundCallRow): void {
    this.calls.push(row);
    this.calls = this.bounded(this.calls, 'outbound_calls');
    this.scheduled();
  }

  /** Writes everything collected so far; resolves when it is written (or given up). Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // A flush in progress goes on until the buffers are empty, rows added meanwhile included.
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
      // Rows that came in as the last batch finished.
      if (this.attempts.length + this.calls.length > 0) this.scheduled();
    });
    return this.running;
  }

  /**
   * Shutdown: the database is still open in this phase (TypeORM closes it in the next), and the delivery jobs have
   * finished (their processor closed the queue earlier in this phase). From here on each row is written as it
   * comes, for the follow-up jobs that finish while their queue closes.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.flush();
  }

  /** Whatever is still buffered; a no-op when the buffers are empty. */
  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.flush();
  }

  private scheduled(): void {
    if (this.shuttingDown || this.attempts.length + this.calls.length >= this.settings.maxBatchRows) {
      void this.flush();
      return;
    }
    if (!this.timer && !this.running) {
      this.timer = setTimeout(() => void this.flush(), this.settings.flushIntervalMs);
      this.timer.unref();
    }
  }

  private async drain(): Promise<void> {
    while (this.attempts.length > 0 || this.calls.length > 0) {
      const attempts = this.attempts.splice(0, this.settings.maxBatchRows);
      const calls = this.calls.splice(0, this.settings.maxBatchRows);
      await Promise.all([
        attempts.length > 0 ? this.write('job_attempts', INSERT_JOB_ATTEMPTS, jobAttemptColumns(attempts), attempts.length) : undefined,
        calls.length > 0 ? this.write('outbound_calls', INSERT_OUTBOUND_CALLS, outboundCallColumns(calls), calls.length) : undefined,
      ]);
    }
  }

  private async write(table: string, sql: string, columns: unknown[][], rows: number): Promise<void> {
    try {
      await this.db.query(sql, columns);
    } catch (err) {
      this.metrics.callLogDropped.inc({ table }, rows);
      this.logger.warn(`Could not write ${rows} ${table} rows; they are dropped: ${errorMessage(err)}`);
    }
  }

  private bounded<T>(rows: T[], table: string): T[] {
    const excess = rows.length - this.settings.maxBufferedRows;
    if (excess <= 0) return rows;
    this.metrics.callLogDropped.inc({ table }, excess);
    return rows.slice(excess);
  }
}

/** The job_attempts rows as one array per column, for unnest. */
export function jobAttemptColumns(rows: JobAttemptRow[]): unknown[][] {
  return [
    rows.map((r) => r.queue),
    rows.map((r) => r.jobId),
    rows.map((r) => r.jobName),
    rows.map((r) => r.attempt),
    rows.map((r) => r.bot ?? null),
    rows.map((r) => r.taskId ?? null),
    rows.map((r) => uuidOrNull(r.deliveryId)),
    rows.map((r) => uuidOrNull(r.paymentId)),
    rows.map((r) => r.startedAt),
    rows.map((r) => r.finishedAt),
    rows.map((r) => r.outcome),
    rows.map((r) => storedError(r.error)),
  ];
}

/** The outbound_calls rows as one array per column, for unnest. */
export function outboundCallColumns(rows: OutboundCallRow[]): unknown[][] {
  return [
    rows.map((r) => r.target),
    rows.map((r) => r.operation),
    rows.map((r) => r.bot ?? null),
    rows.map((r) => r.taskId ?? null),
    rows.map((r) => uuidOrNull(r.deliveryId)),
    rows.map((r) => uuidOrNull(r.paymentId)),
    rows.map((r) => r.status),
    rows.map((r) => r.outcome),
    rows.map((r) => storedError(r.error)),
    rows.map((r) => Math.max(0, Math.round(r.durationMs))),
    rows.map((r) => r.at),
  ];
}

/** A malformed id must not make the whole batch fail its ::uuid cast. */
function uuidOrNull(id: string | null | undefined): string | null {
  return id && UUID.test(id) ? id : null;
}

/**
 * An error text as stored: the service's own messages carry no secret, but a remote answer quoted in one might;
 * bearer credentials and token fields are cut out as a last line of defence, and the length is capped.
 */
export function storedError(error: string | null | undefined): string | null {
  if (!error) return null;
  const cleaned = error
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [REDACTED]')
    .replace(/((?:access_token|security_key|accessToken|securityKey)["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi, '$1[REDACTED]');
  return cleaned.length > MAX_ERROR_CHARS ? `${cleaned.slice(0, MAX_ERROR_CHARS)}…` : cleaned;
}
