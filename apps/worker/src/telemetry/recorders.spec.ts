import { Job } from 'bull';
import { BotRegistry } from '@app/bots';
import { ErpCallEvent } from '@app/integrations';
import { MetricsService } from '@app/observability';
import { sampleValue } from '@app/observability/metrics/testing/prometheus-text';
import { PyrusCallEvent } from '@app/pyrus';
import { CallLogWriter, JobAttemptRow, OutboundCallRow } from './call-log.writer';
import { ErpCallRecorder, erpOutcomeLabel } from './erp-call.recorder';
import { JobAttemptsRecorder } from './job-attempts.recorder';
import { PyrusCallRecorder } from './pyrus-call.recorder';

/** The wiring between the clients' observers, the metrics and the call log rows. */
describe('the worker telemetry recorders', () => {
  let metrics: MetricsService;
  let calls: OutboundCallRow[];
  let attempts: JobAttemptRow[];
  const callLog = {
    recordCall: (row: OutboundCallRow) => calls.push(row),
    recordJobAttempt: (row: JobAttemptRow) => attempts.push(row),
  } as unknown as CallLogWriter;
  const value = async (name: string, labels: Record<string, string>) => sampleValue(await metrics.metrics(), name, labels);

  beforeEach(() => {
    metrics = new MetricsService();
    calls = [];
    attempts = [];
  });

  describe('PyrusCallRecorder', () => {
    const bots = {
      all: () => [
        { name: 'payments', login: 'bot@pay' },
        { name: 'payments-2', login: 'bot@pay' },
      ],
    } as unknown as BotRegistry;
    const event = (over: Partial<PyrusCallEvent> = {}): PyrusCallEvent => ({
      operation: 'POST /tasks/{id}/comments',
      login: 'bot@pay',
      context: { bot: 'payments-2', taskId: 42, deliveryId: 'd-1' },
      status: 200,
      outcome: 'ok',
      startedAt: new Date(1_700_000_000_000),
      durationMs: 250,
      ...over,
    });

    it('counts the call by bot, operation and status, times it, and writes its row with the context', async () => {
      new PyrusCallRecorder(metrics, callLog, bots).onCall(event());
      expect(
        await value('pyrus_bots_pyrus_calls_total', { bot: 'payments-2', operation: 'POST /tasks/{id}/comments', status: '200' }),
      ).toBe(1);
      expect(await value('pyrus_bots_pyrus_call_duration_seconds_sum', { operation: 'POST /tasks/{id}/comments' })).toBe(0.25);
      expect(calls).toEqual([
        {
          target: 'pyrus',
          operation: 'POST /tasks/{id}/comments',
          bot: 'payments-2',
          taskId: 42,
          deliveryId: 'd-1',
          paymentId: null,
          status: 200,
          outcome: 'ok',
          error: null,
          durationMs: 250,
          at: new Date(1_700_000_000_000),
        },
      ]);
    });

    it('names the bot of a sign-in by its login, and counts a call without an answer as status "error"', async () => {
      const recorder = new PyrusCallRecorder(metrics, callLog, bots);
      recorder.onCall(event({ operation: 'POST /auth', context: {}, status: null, outcome: 'error', error: 'Pyrus auth timed out' }));
      recorder.onCall(event({ login: 'someone@else', context: {}, status: 500, outcome: 'error' }));
      expect(await value('pyrus_bots_pyrus_calls_total', { bot: 'payments', operation: 'POST /auth', status: 'error' })).toBe(1);
      expect(await value('pyrus_bots_pyrus_calls_total', { bot: '_unknown', operation: 'POST /tasks/{id}/comments', status: '500' })).toBe(
        1,
      );
      expect(calls[0]).toMatchObject({ bot: 'payments', taskId: null, status: null, outcome: 'error', error: 'Pyrus auth timed out' });
      expect(calls[1].bot).toBeNull();
    });
  });

  describe('ErpCallRecorder', () => {
    const event = (over: Partial<ErpCallEvent> = {}): ErpCallEvent => ({
      operation: 'create-payment-order',
      paymentId: 'p-1',
      taskId: 7,
      bot: 'payments',
      sent: true,
      status: 201,
      outcome: 'ok',
      startedAt: new Date(1_700_000_000_000),
      durationMs: 30,
      ...over,
    });

    it('labels each outcome', () => {
      expect(erpOutcomeLabel(event())).toBe('ok');
      expect(erpOutcomeLabel(event({ status: 409, duplicate: true }))).toBe('duplicate');
      expect(erpOutcomeLabel(event({ outcome: 'error', status: 503, errorCode: 'ERP_HTTP_ERROR' }))).toBe('http_5xx');
      expect(erpOutcomeLabel(event({ outcome: 'error', status: 422, errorCode: 'ERP_HTTP_ERROR' }))).toBe('http_4xx');
      expect(erpOutcomeLabel(event({ outcome: 'error', status: null, errorCode: 'ERP_TIMEOUT' }))).toBe('timeout');
      expect(erpOutcomeLabel(event({ outcome: 'error', status: null, errorCode: 'ERP_NETWORK_ERROR' }))).toBe('network_error');
      expect(erpOutcomeLabel(event({ outcome: 'error', status: 200, errorCode: 'ERP_INVALID_RESPONSE' }))).toBe('invalid_response');
      expect(erpOutcomeLabel(event({ outcome: 'error', status: null, errorCode: 'ERP_UNAVAILABLE', sent: false }))).toBe('circuit_open');
    });

    it('writes a row for a call that was sent, and only counts one the breaker refused', async () => {
      const recorder = new ErpCallRecorder(metrics, callLog);
      recorder.onCall(event({ outcome: 'error', status: 502, errorCode: 'ERP_HTTP_ERROR', error: 'ERP POST /orders answered 502' }));
      recorder.onCall(event({ outcome: 'error', status: null, errorCode: 'ERP_UNAVAILABLE', sent: false }));
      expect(await value('pyrus_bots_erp_calls_total', { operation: 'create-payment-order', outcome: 'http_5xx' })).toBe(1);
      expect(await value('pyrus_bots_erp_calls_total', { operation: 'create-payment-order', outcome: 'circuit_open' })).toBe(1);
      expect(calls).toEqual([
        {
          target: 'erp',
          operation: 'create-payment-order',
          bot: 'payments',
          taskId: 7,
          paymentId: 'p-1',
          status: 502,
          outcome: 'error',
          error: 'ERP POST /orders answered 502',
          durationMs: 30,
          at: new Date(1_700_000_000_000),
        },
      ]);
    });
  });

  describe('JobAttemptsRecorder', () => {
    const job = (attemptsMade: number) => ({ id: 'j-1', name: 'process-delivery', attemptsMade }) as unknown as Job;

    it('records a completed attempt: duration histogram, row with its number, and passes the result through', async () => {
      const recorder = new JobAttemptsRecorder(metrics, callLog);
      await expect(recorder.track('deliveries', job(0), { deliveryId: 'd-1' }, () => Promise.resolve('done'))).resolves.toBe('done');
      expect(
        await value('pyrus_bots_job_duration_seconds_count', { queue: 'deliveries', job_name: 'process-delivery', outcome: 'completed' }),
      ).toBe(1);
      expect(await value('pyrus_bots_job_failed_attempts_total', { queue: 'deliveries', job_name: 'process-delivery' })).toBeUndefined();
      expect(attempts).toEqual([
        expect.objectContaining({
          queue: 'deliveries',
          jobId: 'j-1',
          jobName: 'process-delivery',
          attempt: 1,
          deliveryId: 'd-1',
          paymentId: null,
          outcome: 'completed',
          error: null,
        }),
      ]);
      expect(attempts[0].finishedAt.getTime()).toBeGreaterThanOrEqual(attempts[0].startedAt.getTime());
    });

    it('records a failed attempt with its error and number, counts it, and rethrows the same error', async () => {
      const recorder = new JobAttemptsRecorder(metrics, callLog);
      const boom = new Error('POST /tasks/5/comments answered 500');
      await expect(
        recorder.track('followups', { ...job(2), name: 'notify-vendor' } as Job, { paymentId: 'p-1' }, async () => Promise.reject(boom)),
      ).rejects.toBe(boom);
      expect(await value('pyrus_bots_job_failed_attempts_total', { queue: 'followups', job_name: 'notify-vendor' })).toBe(1);
      expect(
        await value('pyrus_bots_job_duration_seconds_count', { queue: 'followups', job_name: 'notify-vendor', outcome: 'failed' }),
      ).toBe(1);
      expect(attempts).toEqual([
        expect.objectContaining({ attempt: 3, paymentId: 'p-1', outcome: 'failed', error: 'POST /tasks/5/comments answered 500' }),
      ]);
    });
  });
});
