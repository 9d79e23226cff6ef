import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MetricsService } from '@app/observability';
import { sampleValue } from '@app/observability/metrics/testing/prometheus-text';
import { CallLogWriter, CallLogWriterSettings, JobAttemptRow, OutboundCallRow, outboundCallColumns, storedError } from './call-log.writer';

const DELIVERY_ID = '3f0c9a4e-6a43-4c52-9d9e-1b6a2f7d8c01';

const call = (n: number, over: Partial<OutboundCallRow> = {}): OutboundCallRow => ({
  target: 'pyrus',
  operation: 'POST /tasks/{id}/comments',
  bot: 'auto-reply',
  taskId: 1000 + n,
  deliveryId: DELIVERY_ID,
  status: 200,
  outcome: 'ok',
  durationMs: 12.4,
  at: new Date(1_700_000_000_000 + n),
  ...over,
});
const attempt = (n: number): JobAttemptRow => ({
  queue: 'deliveries',
  jobId: `job-${n}`,
  jobName: 'process-delivery',
  attempt: 1,
  deliveryId: DELIVERY_ID,
  startedAt: new Date(1_700_000_000_000),
  finishedAt: new Date(1_700_000_000_050),
  outcome: 'completed',
});
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('CallLogWriter', () => {
  let queries: Array<{ sql: string; params: unknown[][] }>;
  let failNext: boolean;
  let gate: Promise<void> | undefined;
  let metrics: MetricsService;
  const db = {
    query: async (sql: string, params: unknown[][]) => {
      await gate;
      if (failNext) {
        failNext = false;
        throw new Error('connection terminated');
      }
      queries.push({ sql, params });
    },
  } as unknown as DataSource;
  const writer = (over: Partial<CallLogWriterSettings> = {}) =>
    new CallLogWriter(db, metrics, { flushIntervalMs: 30, maxBatchRows: 200, maxBufferedRows: 1000, ...over });
  const table = (q: { sql: string }) => /INSERT INTO (\w+)/.exec(q.sql)![1];
  const dropped = async (t: string) => sampleValue(await metrics.metrics(), 'pyrus_bots_call_log_dropped_rows_total', { table: t }) ?? 0;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    queries = [];
    failNext = false;
    gate = undefined;
    metrics = new MetricsService();
  });

  it('collects rows and writes them after the interval: one INSERT per table, the rows as column arrays', async () => {
    const w = writer();
    w.recordCall(call(1));
    w.recordJobAttempt(attempt(1));
    w.recordCall(call(2));
    await tick(5);
    expect(queries).toHaveLength(0);
    await tick(60);
    expect(queries.map(table).sort()).toEqual(['job_attempts', 'outbound_calls']);
    const calls = queries.find((q) => table(q) === 'outbound_calls')!;
    expect(calls.sql).toContain('unnest(');
    expect(calls.params[3]).toEqual([1001, 1002]); // task_id column
    expect(calls.params[9]).toEqual([12, 12]); // duration_ms, whole
  });

  it('writes at once when a batch is full, without waiting for the interval', async () => {
    const w = writer({ flushIntervalMs: 60_000, maxBatchRows: 3 });
    w.recordCall(call(1));
    w.recordCall(call(2));
    await tick(5);
    expect(queries).toHaveLength(0);
    w.recordCall(call(3));
    await tick(5);
    expect(queries).toHaveLength(1);
    expect(queries[0].params[0]).toHaveLength(3);
  });

  it('writes, in the same flush, rows that arrive while a batch is being written', async () => {
    const w = writer({ flushIntervalMs: 60_000, maxBatchRows: 2 });
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    w.recordCall(call(1));
    w.recordCall(call(2));
    await tick(5);
    w.recordCall(call(3));
    gate = undefined;
    open();
    await w.flush();
    expect(queries.map((q) => q.params[3])).toEqual([[1001, 1002], [1003]]);
  });

  it('logs, counts and drops a batch that cannot be written, without throwing; later rows are written', async () => {
    const w = writer();
    failNext = true;
    w.recordCall(call(1));
    w.recordCall(call(2));
    await expect(w.flush()).resolves.toBeUndefined();
    expect(queries).toHaveLength(0);
    expect(await dropped('outbound_calls')).toBe(2);
    w.recordCall(call(3));
    await w.flush();
    expect(queries).toHaveLength(1);
  });

  it('writes what is left when shutdown begins, and from then on each row as it comes', async () => {
    const w = writer({ flushIntervalMs: 60_000 });
    w.recordJobAttempt(attempt(1));
    w.recordCall(call(1));
    await w.beforeApplicationShutdown();
    expect(queries.map(table).sort()).toEqual(['job_attempts', 'outbound_calls']);
    w.recordCall(call(2));
    await tick(5);
    expect(queries).toHaveLength(3);
    await w.onApplicationShutdown();
    expect(queries).toHaveLength(3);
  });

  it('keeps at most maxBufferedRows while the database is slow, dropping (and counting) the oldest', async () => {
    const w = writer({ flushIntervalMs: 60_000, maxBatchRows: 100, maxBufferedRows: 3 });
    for (let n = 1; n <= 5; n++) w.recordCall(call(n));
    expect(await dropped('outbound_calls')).toBe(2);
    await w.flush();
    expect(queries[0].params[3]).toEqual([1003, 1004, 1005]);
  });

  it('stores no malformed uuid (it would fail the batch), and no credential quoted in an error', () => {
    const columns = outboundCallColumns([
      call(1, {
        deliveryId: 'not-a-uuid',
        paymentId: undefined,
        status: null,
        outcome: 'error',
        error: 'answered 401: Bearer abc.def-123 refused',
      }),
    ]);
    expect(columns[4]).toEqual([null]);
    expect(columns[5]).toEqual([null]);
    expect(columns[6]).toEqual([null]);
    expect(columns[8]).toEqual(['answered 401: Bearer [REDACTED] refused']);
  });
});

describe('storedError', () => {
  it('cuts out bearer credentials and token fields, and caps the length', () => {
    expect(storedError('{"access_token":"tok-1","x":1} access_token=tok-2&y security_key: key-3')).toBe(
      '{"access_token":"[REDACTED]","x":1} access_token=[REDACTED]&y security_key: [REDACTED]',
    );
    expect(storedError('Authorization: Basic dXNlcjpwYXNz')).toBe('Authorization: Basic [REDACTED]');
    expect(storedError('x'.repeat(5000))).toHaveLength(2001);
    expect(storedError(undefined)).toBeNull();
    expect(storedError('POST /tasks/12/comments answered 500 server_error')).toBe('POST /tasks/12/comments answered 500 server_error');
  });
});
