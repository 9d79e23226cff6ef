import { INestApplication } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bull';
import { Queue } from 'bull';
import { Client } from 'pg';
import request from 'supertest';
import { sampleValue } from '@app/observability/metrics/testing/prometheus-text';
import { PyrusTask } from '@app/pyrus';
import { FOLLOWUPS_QUEUE } from '@app/queue';
import { RecordingHttpServer } from '../libs/integrations/src/testing/recording-http-server';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { InboxSweeper } from '../apps/worker/src/inbox/inbox.sweeper';
import { CALL_LOG_DEFAULTS, CallLogWriter } from '../apps/worker/src/telemetry/call-log.writer';
import { fixtureEvent, sendSigned, ServiceUnderTest, startServiceWithEmulator, startWorker, waitFor } from './support/stack';
import { FIXTURE_BOT_USER_ID, MANAGER_USER_ID, PAYMENTS_ERP_BOT_USER_ID } from './support/test-emulator';
import { TEST_BOT_KEY } from './support/test-env';

const FIRST_TASK = 880000;
const LAST_TASK = 889999;
const ERP_SECRET = 'Bearer erp-secret-4f1c9a';

type Labels = Record<string, string>;

/**
 * GET /metrics on the api and the worker, and the call log tables, with the real service, the Pyrus emulator and a
 * local ERP. Metrics are read before and after each step: every assertion is about how much a value moved.
 */
describe('metrics and the call log', () => {
  let service: ServiceUnderTest;
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let erp: RecordingHttpServer;
  let nextTaskId = FIRST_TASK;

  beforeAll(async () => {
    erp = await RecordingHttpServer.start();
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK], {
      ERP_URL: erp.url,
      ERP_AUTH_VALUE: ERP_SECRET,
      ERP_RETRIES: '0',
      ERP_BREAKER_THRESHOLD: '100',
    });
    ({ pyrus, api, worker, db } = service);
  });

  afterAll(async () => {
    await service?.close();
    await erp?.close();
  });

  beforeEach(() => pyrus.clearFaults());

  function newEvent() {
    const event = fixtureEvent();
    event.task_id = event.task.id = nextTaskId++;
    event.access_token = pyrus.issueToken('auto-reply');
    pyrus.addTask(structuredClone(event.task));
    return event;
  }

  async function scrape(app: INestApplication): Promise<string> {
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return res.text;
  }

  /** Reads the api and the worker now; `moved` then says how far a sample went from here (0 for a new series). */
  async function snapshot() {
    const before = { api: await scrape(api), worker: await scrape(worker) };
    return async () => {
      const after = { api: await scrape(api), worker: await scrape(worker) };
      const moved = (app: 'api' | 'worker', name: string, labels: Labels) =>
        (sampleValue(after[app], name, labels) ?? 0) - (sampleValue(before[app], name, labels) ?? 0);
      return { after, moved };
    };
  }

  const rowsOf = async (table: 'job_attempts' | 'outbound_calls', taskId: number) =>
    (await db.query(`SELECT * FROM ${table} WHERE task_id = $1 ORDER BY id`, [taskId])).rows;
  /** The rows once there are some (waitFor takes an empty array for an answer). */
  const someRowsOf = async (table: 'job_attempts' | 'outbound_calls', taskId: number) => {
    const rows = await rowsOf(table, taskId);
    return rows.length > 0 ? rows : undefined;
  };
  const deliveryOf = async (taskId: number) => (await db.query('SELECT * FROM deliveries WHERE task_id = $1', [taskId])).rows[0];

  it('serves the exposition without auth on the api and the worker, with the process metrics', async () => {
    for (const app of [api, worker]) {
      const text = await scrape(app);
      expect(text).toContain('# TYPE pyrus_bots_webhook_deliveries_total counter');
      expect(text).toContain('# TYPE pyrus_bots_job_duration_seconds histogram');
      expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    }
  });

  it('counts refused signatures, an unknown bot, a body that is not JSON and one that cannot be read', async () => {
    const read = await snapshot();
    const body = JSON.stringify(newEvent());
    await sendSigned(api, 'auto-reply', body, 'not-the-key').expect(401);
    await request(api.getHttpServer()).post('/bots/auto-reply/webhook').send(body).expect(401);
    await sendSigned(api, 'no-such-bot', body, TEST_BOT_KEY).expect(404);
    await sendSigned(api, 'auto-reply', '{"task_id": ', TEST_BOT_KEY).expect(400);
    await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY, { 'Content-Encoding': 'gzip' }).expect(400);
    const { after, moved } = await read();

    expect(moved('api', 'pyrus_bots_webhook_signature_rejections_total', { bot: 'auto-reply', reason: 'invalid' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_signature_rejections_total', { bot: 'auto-reply', reason: 'missing' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_signature_rejections_total', { bot: '_unknown', reason: 'unknown_bot' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_deliveries_total', { bot: 'auto-reply', outcome: 'invalid_payload' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_ack_duration_seconds_count', { bot: 'auto-reply', outcome: 'invalid_payload' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_deliveries_total', { bot: 'auto-reply', outcome: 'unreadable' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_deliveries_total', { bot: 'auto-reply', outcome: 'accepted' })).toBe(0);
    // A name from the URL that is not a bot never becomes a label value.
    expect(after.api).not.toContain('no-such-bot');
  });

  it('follows a delivery from the webhook to the comment: api counters, worker metrics and the call log rows', async () => {
    const read = await snapshot();
    const event = newEvent();
    const body = JSON.stringify(event);
    await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY).expect(200);
    await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY, { 'X-Pyrus-Retry': '2/3' }).expect(200);
    const [attempt] = await waitFor('the job attempt row', () => someRowsOf('job_attempts', event.task_id));
    const [call] = await waitFor('the outbound call row', () => someRowsOf('outbound_calls', event.task_id));
    const { after, moved } = await read();

    // The api: one accepted, one repeat answered without a job, both acknowledged and timed.
    expect(moved('api', 'pyrus_bots_webhook_deliveries_total', { bot: 'auto-reply', outcome: 'accepted' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_deliveries_total', { bot: 'auto-reply', outcome: 'duplicate' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_duplicates_total', { bot: 'auto-reply' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_ack_duration_seconds_count', { bot: 'auto-reply', outcome: 'accepted' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_ack_duration_seconds_count', { bot: 'auto-reply', outcome: 'duplicate' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_ack_duration_seconds_bucket', { bot: 'auto-reply', outcome: 'accepted', le: '5' })).toBe(1);
    expect(moved('api', 'pyrus_bots_webhook_ack_duration_seconds_sum', { bot: 'auto-reply', outcome: 'accepted' })).toBeGreaterThan(0);

    // The worker: one comment posted (200), one completed job, the queue empty again, the quota as Pyrus counts it.
    const comments = { bot: 'auto-reply', operation: 'POST /tasks/{id}/comments', status: '200' };
    expect(moved('worker', 'pyrus_bots_pyrus_calls_total', comments)).toBe(1);
    expect(moved('worker', 'pyrus_bots_pyrus_call_duration_seconds_count', { operation: 'POST /tasks/{id}/comments' })).toBe(1);
    const job = { queue: 'deliveries', job_name: 'process-delivery' };
    expect(moved('worker', 'pyrus_bots_job_duration_seconds_count', { ...job, outcome: 'completed' })).toBe(1);
    expect(moved('worker', 'pyrus_bots_job_failed_attempts_total', job)).toBe(0);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(sampleValue(after.worker, 'pyrus_bots_queue_jobs', { queue: 'deliveries', state })).toBe(0);
    }
    const quota = pyrus.quota('auto-reply');
    expect(quota.used).toBeGreaterThan(0);
    expect(sampleValue(after.worker, 'pyrus_bots_pyrus_quota_remaining', { bot: 'auto-reply' })).toBe(quota.remaining);
    expect(sampleValue(after.worker, 'pyrus_bots_pyrus_quota_limit', { bot: 'auto-reply' })).toBe(5000);

    // The call log: one attempt, one call, both tied to the bot, the task and the delivery.
    const delivery = await deliveryOf(event.task_id);
    expect(await rowsOf('job_attempts', event.task_id)).toHaveLength(1);
    expect(attempt).toMatchObject({
      queue: 'deliveries',
      job_id: delivery.id,
      job_name: 'process-delivery',
      attempt: 1,
      bot: 'auto-reply',
      delivery_id: delivery.id,
      payment_id: null,
      outcome: 'completed',
      error: null,
    });
    expect(attempt.finished_at.getTime()).toBeGreaterThanOrEqual(attempt.started_at.getTime());
    expect(await rowsOf('outbound_calls', event.task_id)).toHaveLength(1);
    expect(call).toMatchObject({
      target: 'pyrus',
      operation: 'POST /tasks/{id}/comments',
      bot: 'auto-reply',
      delivery_id: delivery.id,
      status: 200,
      outcome: 'ok',
      error: null,
    });
    expect(Number(call.task_id)).toBe(event.task_id);
    expect(call.duration_ms).toBeGreaterThanOrEqual(0);
    expect(call.at.getTime()).toBeGreaterThanOrEqual(attempt.started_at.getTime());
    expect(JSON.stringify([attempt, call])).not.toContain(event.access_token);
  });

  it('records a call Pyrus refused (4xx): the failed attempt, its error, the failed job in the queue gauge', async () => {
    const read = await snapshot();
    const event = newEvent();
    pyrus.addFault({ kind: 'error', method: 'POST', path: `/v4/tasks/${event.task_id}/comments`, count: 5, status: 400 });
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    await waitFor('the failed delivery', async () => (await deliveryOf(event.task_id))?.status === 'failed');
    const [attempt] = await waitFor('the job attempt row', () => someRowsOf('job_attempts', event.task_id));
    const [call] = await waitFor('the outbound call row', () => someRowsOf('outbound_calls', event.task_id));
    const { moved } = await read();

    expect(
      moved('worker', 'pyrus_bots_pyrus_calls_total', { bot: 'auto-reply', operation: 'POST /tasks/{id}/comments', status: '400' }),
    ).toBe(1);
    const job = { queue: 'deliveries', job_name: 'process-delivery' };
    expect(moved('worker', 'pyrus_bots_job_failed_attempts_total', job)).toBe(1);
    expect(moved('worker', 'pyrus_bots_job_duration_seconds_count', { ...job, outcome: 'failed' })).toBe(1);
    expect(moved('worker', 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'failed' })).toBe(1);
    expect(attempt).toMatchObject({
      bot: 'auto-reply',
      attempt: 1,
      outcome: 'failed',
      error: expect.stringMatching(/POST \/tasks\/\d+\/comments answered 400/),
    });
    expect(call).toMatchObject({
      bot: 'auto-reply',
      operation: 'POST /tasks/{id}/comments',
      status: 400,
      outcome: 'error',
      error: expect.stringMatching(/answered 400/),
    });
    expect(JSON.stringify([attempt, call])).not.toContain(event.access_token);
  });

  it('reads the queue depths from Redis at scrape time', async () => {
    const followUps = worker.get<Queue>(getQueueToken(FOLLOWUPS_QUEUE));
    const job = await followUps.add(
      'metrics-probe',
      { paymentId: '00000000-0000-0000-0000-000000000000' },
      { delay: 3_600_000, jobId: 'metrics-probe' },
    );
    try {
      const text = await scrape(worker);
      expect(sampleValue(text, 'pyrus_bots_queue_jobs', { queue: 'followups', state: 'delayed' })).toBe(1);
      expect(sampleValue(text, 'pyrus_bots_queue_jobs', { queue: 'followups', state: 'waiting' })).toBe(0);
    } finally {
      await job.remove();
    }
    expect(sampleValue(await scrape(worker), 'pyrus_bots_queue_jobs', { queue: 'followups', state: 'delayed' })).toBe(0);
  });

  it('records the ERP payment order, its retry, the comments and the notification', async () => {
    const read = await snapshot();
    // Down for the decision and the follow-up's first attempt; the second makes the order.
    const down = { status: 503, body: '<h1>Service Unavailable</h1>' };
    erp.reply(down, down).always({ status: 201, body: { id: 'PO-880' } });
    const task = invoiceTask();
    pyrus.addTask(structuredClone(task));
    const body = JSON.stringify({
      event: 'comment',
      access_token: pyrus.issueToken('payments-erp'),
      task_id: task.id,
      user_id: PAYMENTS_ERP_BOT_USER_ID,
      task,
    });
    await sendSigned(api, 'payments-erp', body, 'payments-erp-key').expect(200);
    const payment = await waitFor(
      'the payment order',
      async () => (await db.query(`SELECT * FROM payments WHERE task_id = $1 AND erp_reported_at IS NOT NULL`, [task.id])).rows[0],
    );
    const attempts = await waitFor('the follow-up attempts', async () => {
      const rows = (await rowsOf('job_attempts', task.id)).filter((r) => r.queue === 'followups');
      return rows.length === 3 ? rows : undefined;
    });
    // The delayed comment, then the approval with the document number, each posted for its delivery.
    const calls = await waitFor('the two comment calls', async () => {
      const rows = await rowsOf('outbound_calls', task.id);
      return rows.filter((r) => r.target === 'pyrus' && r.operation === 'POST /tasks/{id}/comments').length === 2 ? rows : undefined;
    });
    const { moved } = await read();

    const orders = attempts.filter((r) => r.job_name === 'create-payment-order').sort((a, b) => a.attempt - b.attempt);
    expect(orders.map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'failed'],
      [2, 'completed'],
    ]);
    expect(orders[0]).toMatchObject({
      bot: 'payments-erp',
      payment_id: payment.id,
      delivery_id: null,
      error: expect.stringMatching(/answered 503/),
    });
    expect(attempts.find((r) => r.job_name === 'notify-vendor')).toMatchObject({
      bot: 'payments-erp',
      payment_id: payment.id,
      outcome: 'completed',
    });

    const erpCalls = calls.filter((r) => r.target === 'erp');
    expect(erpCalls.map((r) => [r.operation, r.status, r.outcome])).toEqual([
      ['create-payment-order', 503, 'error'],
      ['create-payment-order', 503, 'error'],
      ['create-payment-order', 201, 'ok'],
    ]);
    expect(erpCalls.every((r) => r.payment_id === payment.id && r.bot === 'payments-erp' && Number(r.task_id) === task.id)).toBe(true);
    const deliveries = (await db.query('SELECT id FROM deliveries WHERE task_id = $1 ORDER BY received_at', [task.id])).rows.map(
      (r: { id: string }) => r.id,
    );
    expect(deliveries).toHaveLength(2);
    const comments = calls.filter((r) => r.target === 'pyrus' && r.operation === 'POST /tasks/{id}/comments');
    expect(comments.map((r) => [r.delivery_id, r.status, r.bot])).toEqual([
      [deliveries[0], 200, 'payments-erp'],
      [deliveries[1], 200, 'payments-erp'],
    ]);
    expect(JSON.stringify(calls)).not.toContain('erp-secret');

    expect(moved('worker', 'pyrus_bots_erp_calls_total', { operation: 'create-payment-order', outcome: 'http_5xx' })).toBe(2);
    expect(moved('worker', 'pyrus_bots_erp_calls_total', { operation: 'create-payment-order', outcome: 'ok' })).toBe(1);
    expect(moved('worker', 'pyrus_bots_job_failed_attempts_total', { queue: 'followups', job_name: 'create-payment-order' })).toBe(1);
    expect(
      moved('worker', 'pyrus_bots_job_duration_seconds_count', {
        queue: 'followups',
        job_name: 'create-payment-order',
        outcome: 'completed',
      }),
    ).toBe(1);
    // No SMTP server configured: the vendor e-mail fails (for good), and is counted so.
    expect(moved('worker', 'pyrus_bots_notifications_total', { channel: 'email', outcome: 'failed' })).toBe(1);
  });

  it('counts the tasks the inbox sweep catches up, and the bots whose inbox it cannot read', async () => {
    const read = await snapshot();
    const lost = newEvent(); // its webhook never arrives
    // As in the inbox sweep's own spec: the fixture's human author has the bot's id, which the sweep would take
    // for the bot's own comment.
    for (const c of lost.task.comments) if (c.author?.id === FIXTURE_BOT_USER_ID) c.author.id = MANAGER_USER_ID;
    pyrus.addTask(structuredClone(lost.task));
    const result = await worker.get(InboxSweeper).sweep();
    const { moved } = await read();

    const autoReply = result.bots.find((b) => b.bot === 'auto-reply')!;
    expect(autoReply.queued).toBeGreaterThanOrEqual(1);
    expect(moved('worker', 'pyrus_bots_inbox_sweep_queued_total', { bot: 'auto-reply' })).toBe(autoReply.queued);
    expect(moved('worker', 'pyrus_bots_inbox_sweep_failures_total', { bot: 'auto-reply' })).toBe(autoReply.failed);
    // Pyrus refuses the "refused" bot's key: its inbox cannot be read.
    expect(result.bots.find((b) => b.bot === 'refused')?.error).toEqual(expect.any(String));
    expect(moved('worker', 'pyrus_bots_inbox_sweep_failures_total', { bot: 'refused' })).toBe(1);
    expect(moved('worker', 'pyrus_bots_pyrus_calls_total', { bot: 'refused', operation: 'POST /auth', status: '401' })).toBe(1);
    expect(moved('worker', 'pyrus_bots_pyrus_calls_total', { bot: 'auto-reply', operation: 'GET /inbox', status: '200' })).toBe(1);
    await waitFor('the caught-up task to be decided', async () => (await deliveryOf(lost.task_id))?.status === 'processed');
  });

  it('writes the rows still buffered when the worker shuts down, while the database is open', async () => {
    const second = await startWorker(service.env);
    const writer = second.get(CallLogWriter);
    // Keep the timer out of it: only the shutdown can write this row.
    Object.assign(writer, { settings: { ...CALL_LOG_DEFAULTS, flushIntervalMs: 3_600_000 } });
    const at = new Date();
    writer.recordCall({
      target: 'pyrus',
      operation: 'GET /tasks/{id}',
      bot: 'auto-reply',
      taskId: LAST_TASK,
      status: 200,
      outcome: 'ok',
      durationMs: 1,
      at,
    });
    await second.close();
    const rows = await rowsOf('outbound_calls', LAST_TASK);
    expect(rows.map((r) => [r.operation, r.at.getTime()])).toEqual([['GET /tasks/{id}', at.getTime()]]);
  });

  function invoiceTask(): PyrusTask {
    const id = nextTaskId++;
    const field = (fid: number, type: string, code: string, value: unknown) => ({ id: fid, type, code, name: code, value });
    return {
      id,
      form_id: 2002,
      current_step: 2,
      fields: [
        field(1, 'text', 'supplier', 'Wayne Enterprises'),
        field(2, 'text', 'inn', `88${id}`),
        field(3, 'text', 'invoice_no', `WE-${id}`),
        field(4, 'date', 'invoice_date', '2024-10-01'),
        field(5, 'money', 'amount', 700),
        field(6, 'text', 'currency', 'USD'),
        field(7, 'email', 'vendor_email', 'billing@wayne.example.com'),
        { id: 8, type: 'text', code: 'erp_document', name: 'ERP document' },
      ],
      approvals: [
        [{ person: { id: MANAGER_USER_ID, type: 'user' }, approval_choice: 'approved' }],
        [{ person: { id: PAYMENTS_ERP_BOT_USER_ID, type: 'bot' }, approval_choice: 'waiting' }],
      ],
      comments: [{ id: id * 10, text: 'Please pay', author: { id: 77 } }],
    };
  }
});
