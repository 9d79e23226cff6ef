import { createHash } from 'node:crypto';
import { getQueueToken } from '@nestjs/bull';
import { Queue } from 'bull';
import request from 'supertest';
import { CREATE_PAYMENT_ORDER_JOB } from '@app/bots';
import { PyrusTask, TaskCommentRequest } from '@app/pyrus';
import { FOLLOWUPS_QUEUE } from '@app/queue';
import { DeliveryReconciler } from '../apps/worker/src/deliveries/delivery.reconciler';
import { FakeErp } from './support/fake-erp';
import { MailCapture, startMailCapture } from './support/mail-capture';
import { deliveriesQueue, sendSigned, ServiceUnderTest, sleep, startServiceWithEmulator, waitFor } from './support/stack';
import { MANAGER_USER_ID, PAYMENTS_ERP_BOT_USER_ID } from './support/test-emulator';

const BOT = 'payments-erp';
const KEY = 'payments-erp-key';
const FIRST_TASK = 953000;
const LAST_TASK = 953999;
const ERP_TIMEOUT_MS = 1000;
const OPERATOR = 'operator-token-953';

/**
 * The payment-order bot, after the people's approval, against the real api and worker, PostgreSQL, Redis, the Pyrus
 * emulator, a local ERP and a local SMTP server: one ERP order and one vote however often the task is decided, and an
 * ERP that is down delays the order without losing the vote.
 */
describe('the payment-order bot: the ERP order, its approval and the vendor e-mail', () => {
  let service: ServiceUnderTest;
  let erp: FakeErp;
  let smtp: MailCapture;
  let nextTask = FIRST_TASK;

  /** A request the people approved (step 1), waiting on the bot (step 2). */
  function invoiceTask(invoiceNo: string, amount: number, vendorEmail = 'billing@stark.example.com'): PyrusTask {
    const id = nextTask++;
    const value = (fid: number, type: string, code: string, v: unknown) => ({ id: fid, type, code, name: code, value: v });
    const task: PyrusTask = {
      id,
      form_id: 2002,
      current_step: 2,
      fields: [
        value(1, 'text', 'supplier', 'Stark Industries'),
        value(2, 'text', 'inn', `99${id}`),
        value(3, 'text', 'invoice_no', invoiceNo),
        value(4, 'date', 'invoice_date', '2024-10-01'),
        value(5, 'money', 'amount', amount),
        value(6, 'text', 'currency', 'USD'),
        value(7, 'email', 'vendor_email', vendorEmail),
        { id: 8, type: 'text', code: 'erp_document', name: 'ERP document' },
      ],
      approvals: [
        [{ person: { id: MANAGER_USER_ID, type: 'user' }, approval_choice: 'approved' }],
        [{ person: { id: PAYMENTS_ERP_BOT_USER_ID, type: 'bot' }, approval_choice: 'waiting' }],
      ],
      comments: [{ id: id * 10, text: 'Please pay', author: { id: MANAGER_USER_ID } }],
    };
    service.pyrus.addTask(structuredClone(task));
    return task;
  }

  /** Pyrus's webhook to the bot with the task as the emulator holds it now (or as given). */
  async function deliver(taskId: number, task = service.pyrus.getTask(taskId)!) {
    const body = JSON.stringify({
      event: 'comment',
      access_token: service.pyrus.issueToken(BOT),
      task_id: taskId,
      user_id: PAYMENTS_ERP_BOT_USER_ID,
      task,
    });
    await sendSigned(service.api, BOT, body, KEY).expect(200);
  }

  /** A person's comment on the task, through the emulator's API. */
  async function managerComments(taskId: number, text: string) {
    const res = await fetch(`${service.pyrus.apiUrl}tasks/${taskId}/comments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${service.pyrus.issueToken('manager')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    expect(res.status).toBe(200);
  }

  const botComments = (taskId: number) =>
    service.pyrus.comments
      .filter((c) => c.taskId === taskId && c.bot === BOT)
      .map((c) => c.request as unknown as TaskCommentRequest & { text: string });
  const votes = (taskId: number) => botComments(taskId).filter((c) => c.approval_choice !== undefined);
  const delayNotices = (taskId: number) => botComments(taskId).filter((c) => /delayed/.test(c.text));
  const botVote = (taskId: number) => service.pyrus.getTask(taskId)!.approvals![1][0].approval_choice;
  const paymentOf = async (taskId: number) => (await service.db.query('SELECT * FROM payments WHERE task_id = $1', [taskId])).rows[0];
  const ordersFor = (paymentId: string) => erp.calls.filter((c) => c.idempotencyKey === paymentId);
  const decisionsOf = async (taskId: number) =>
    (
      await service.db.query(
        `SELECT d.id, d.user_agent, d.event, d.status, p.outcome, p.reason, p.comment FROM deliveries d
         LEFT JOIN processed_tasks p ON p.delivery_id = d.id WHERE d.bot = $1 AND d.task_id = $2 ORDER BY d.received_at`,
        [BOT, taskId],
      )
    ).rows as Array<{ id: string; user_agent: string; event: string; status: string; outcome: string | null; reason: string | null }>;
  const followUps = () => service.worker.get<Queue>(getQueueToken(FOLLOWUPS_QUEUE));
  const followUpJob = async (paymentId: string) =>
    service.worker.get<Queue>(getQueueToken(FOLLOWUPS_QUEUE)).getJob(`${CREATE_PAYMENT_ORDER_JOB}:${paymentId}`);
  const approvedWith = (documentId: string) => ({
    text: `Payment order ${documentId} created in the ERP.`,
    field_updates: [{ code: 'erp_document', value: documentId }],
    approval_choice: 'approved',
  });

  beforeAll(async () => {
    erp = new FakeErp();
    erp.lateAnswerMs = ERP_TIMEOUT_MS * 2;
    await erp.start();
    smtp = await startMailCapture();
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK], {
      ERP_URL: erp.url,
      ERP_AUTH_VALUE: 'Bearer erp-test-token',
      ERP_RETRIES: '0',
      ERP_TIMEOUT_MS: String(ERP_TIMEOUT_MS),
      ERP_BREAKER_THRESHOLD: '100',
      // The order's follow-up is patient: retried 50, 100, 200, 200, 200, 200 ms after each failure (JOB_BACKOFF_MS
      // doubling, capped), 950 ms in all, which fits in the patience; a seventh wait would not: 7 attempts.
      JOB_BACKOFF_MS: '50',
      FOLLOWUP_RETRY_MAX_DELAY_MS: '200',
      FOLLOWUP_PATIENCE_MS: '1000',
      SMTP_URL: smtp.url,
      SMTP_FROM: 'payments-bot@example.org',
      ADMIN_TOKENS: `olga:operator:${createHash('sha256').update(OPERATOR).digest('hex')}`,
    });
  });

  afterAll(async () => {
    erp?.release();
    await service?.close();
    await erp?.stop();
    await smtp?.close();
  });

  afterEach(() => {
    erp.failing = 0;
    erp.refusing = false;
    erp.slow = 0;
    erp.release();
  });

  it('creates one order however often the task comes, approves with its number in one comment, and e-mails the vendor', async () => {
    const task = invoiceTask('SI-100', 1500);
    // Three webhooks for three versions of the task (two people commented), stored before any is decided: the
    // decisions take turns.
    const versions = [service.pyrus.getTask(task.id)!];
    await managerComments(task.id, 'Approved by the CFO');
    versions.push(service.pyrus.getTask(task.id)!);
    await managerComments(task.id, 'Please hurry');
    versions.push(service.pyrus.getTask(task.id)!);
    await Promise.all(versions.map((version) => deliver(task.id, version)));
    await waitFor('every delivery decided', async () => (await decisionsOf(task.id)).every((d) => d.status !== 'received') || undefined);
    const payment = await waitFor('the payment reported', async () => {
      const row = await paymentOf(task.id);
      return row?.erp_reported_at ? row : undefined;
    });

    const orders = ordersFor(payment.id);
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({
      authorization: 'Bearer erp-test-token',
      status: 201,
      body: { paymentId: payment.id, taskId: task.id, amount: '1500.00', currency: 'USD', invoiceNumber: 'SI-100' },
    });
    const documentId = erp.orders.get(payment.id)!;
    expect(botComments(task.id)).toEqual([approvedWith(documentId)]);
    expect(botVote(task.id)).toBe('approved');
    expect(payment).toMatchObject({ bot: BOT, status: 'approved', erp_document_id: documentId, erp_delay_notified_at: null });
    expect((await decisionsOf(task.id)).map((d) => d.outcome).sort()).toEqual(['posted', 'skipped', 'skipped']);

    const mail = await waitFor('the e-mail', () => smtp.mails.find((m) => m.includes('SI-100')));
    expect(mail).toContain('To: billing@stark.example.com');
    expect(mail).toContain('Subject: Invoice SI-100 approved');
    expect(mail).toContain('Dear Stark Industries, invoice SI-100 of 1500.00 USD is approved for payment.');
    // The server has the message before the worker hears its answer and records the send.
    const rows = await waitFor('the notification record', async () => {
      const found = await service.db.query('SELECT channel, recipient, status FROM notifications WHERE payment_id = $1', [payment.id]);
      return found.rows.length > 0 && found.rows;
    });
    expect(rows).toEqual([{ channel: 'email', recipient: 'billing@stark.example.com', status: 'sent' }]);
  });

  it('names the empty fields and neither votes nor orders', async () => {
    const task = invoiceTask('', 900);
    await deliver(task.id);
    await waitFor('the comment', () => botComments(task.id).length === 1);
    expect(botComments(task.id)).toEqual([
      { text: 'Cannot create the payment order: invoice number missing. Fill them in and send the task again.' },
    ]);
    expect(botVote(task.id)).toBe('waiting');
    expect(await paymentOf(task.id)).toBeUndefined();
    expect(erp.calls.filter((c) => c.body.taskId === task.id)).toEqual([]);
  });

  it('says once that the order is delayed while the ERP is down, keeps its vote, and approves once the follow-up gets the order', async () => {
    // The decision's call, then the follow-up's first two attempts.
    erp.failing = 3;
    const task = invoiceTask('SI-200', 2500);
    await deliver(task.id);
    await waitFor('the approval', () => votes(task.id).length === 1);
    const payment = await paymentOf(task.id);
    expect(ordersFor(payment.id).map((c) => c.status)).toEqual([503, 503, 503, 201]);
    const documentId = erp.orders.get(payment.id)!;
    const [delayed, approval] = botComments(task.id);
    expect(delayed).toEqual({
      text: 'The payment order is delayed: the ERP is not accepting it now. It will be created when the ERP is back.',
    });
    expect(approval).toEqual(approvedWith(documentId));
    expect(botComments(task.id)).toHaveLength(2);
    expect(botVote(task.id)).toBe('approved');
    // The vote went the normal way: a delivery the follow-up asked for, decided by the worker (which marks it posted
    // a moment after Pyrus has the comment).
    const decisions = await waitFor('both deliveries done', async () => {
      const rows = await decisionsOf(task.id);
      return rows.every((d) => d.status !== 'received') ? rows : undefined;
    });
    expect(decisions.map((d) => [d.user_agent, d.event, d.outcome])).toEqual([
      ['Pyrus-Bot-4', 'comment', 'posted'],
      ['follow-up', 'follow-up', 'posted'],
    ]);
    expect(await paymentOf(task.id)).toMatchObject({
      erp_document_id: documentId,
      status: 'approved',
      erp_delay_notified_at: expect.any(Date),
    });
  });

  it('keeps one order when the ERP took it but its answer was lost', async () => {
    erp.slow = 1;
    const task = invoiceTask('SI-250', 2750);
    await deliver(task.id);
    await waitFor('the approval', () => votes(task.id).length === 1, 15000);
    const payment = await paymentOf(task.id);
    // The decision's call timed out after the ERP had made the order; the follow-up's call, with the same key, got it.
    expect(ordersFor(payment.id).map((c) => c.status)).toEqual(['late', 201]);
    expect([...erp.orders.entries()].filter(([key]) => key === payment.id)).toHaveLength(1);
    expect(delayNotices(task.id)).toHaveLength(1);
    expect(votes(task.id)).toEqual([approvedWith(erp.orders.get(payment.id)!)]);
  });

  it('when the ERP stays down: one delayed comment, silence on later webhooks, and the order and approval once the job is retried', async () => {
    erp.failing = 1000;
    const task = invoiceTask('SI-300', 3500);
    await deliver(task.id);
    const payment = await waitFor('the payment', () => paymentOf(task.id));
    await waitFor('the ERP job to fail for good', async () => (await (await followUpJob(payment.id))?.getState()) === 'failed', 15000);
    expect(delayNotices(task.id)).toHaveLength(1);
    expect(botVote(task.id)).toBe('waiting');
    expect(await paymentOf(task.id)).toMatchObject({ erp_document_id: null, erp_delay_notified_at: expect.any(Date) });
    // The patience ran out: every attempt the settings give was made, each after its wait, and the job failed.
    const failed = (await followUpJob(payment.id))!;
    expect(failed.opts).toMatchObject({ attempts: 7, backoff: { type: 'patient', options: { delayMs: 50, maxDelayMs: 200 } } });
    expect(failed.attemptsMade).toBe(7);
    expect(failed.failedReason).toMatch(/503/);
    expect(ordersFor(payment.id).map((c) => c.status)).toEqual(Array(8).fill(503));
    const tries = await waitFor('the call log', async () => {
      const { rows } = await service.db.query<{ attempt: number; outcome: string; started_at: Date; finished_at: Date }>(
        `SELECT attempt, outcome, started_at, finished_at FROM job_attempts WHERE queue = 'followups' AND payment_id = $1 ORDER BY attempt`,
        [payment.id],
      );
      return rows.length === 7 ? rows : undefined;
    });
    expect(tries.map((t) => t.outcome)).toEqual(Array(7).fill('failed'));
    const waits = tries.slice(1).map((t, i) => t.started_at.getTime() - tries[i].finished_at.getTime());
    // Each wait is at least its backoff; capped, their sum stays near the 950 ms (uncapped it would be 3 150 ms).
    [50, 100, 200, 200, 200, 200].forEach((backoff, i) => expect(waits[i]).toBeGreaterThanOrEqual(backoff - 2));
    expect(waits.reduce((a, b) => a + b)).toBeLessThan(2500);

    // Someone asks meanwhile: the ERP is still down, and the task was told.
    await managerComments(task.id, 'Where is the order?');
    await deliver(task.id);
    const skipped = await waitFor('the second webhook decided', async () => {
      const second = (await decisionsOf(task.id))[1];
      return second?.outcome === 'skipped' ? second : undefined;
    });
    expect(skipped.reason).toMatch(/still delayed/);
    expect(botComments(task.id)).toHaveLength(1);

    erp.failing = 0;
    await (await followUpJob(payment.id))!.retry();
    await waitFor('the approval', () => votes(task.id).length === 1);
    expect(ordersFor(payment.id).filter((c) => c.status === 201)).toHaveLength(1);
    expect(botComments(task.id)).toEqual([delayNotices(task.id)[0], approvedWith(erp.orders.get(payment.id)!)]);
    expect(botVote(task.id)).toBe('approved');
  });

  it('when the ERP refuses the order: says once that it is delayed, and the follow-up fails for good at its first attempt', async () => {
    erp.refusing = true;
    const task = invoiceTask('SI-400', 4500);
    await deliver(task.id);
    const payment = await waitFor('the payment', () => paymentOf(task.id));
    await waitFor('the ERP job to fail for good', async () => (await (await followUpJob(payment.id))?.getState()) === 'failed');
    // Read again: the job read before its state changed holds the attempts made by then.
    const job = await followUpJob(payment.id);
    expect(job!.attemptsMade).toBe(1);
    expect(job!.failedReason).toMatch(/answered 422: unknown supplier account/);
    expect(ordersFor(payment.id).map((c) => c.status)).toEqual([422, 422]);
    expect(botComments(task.id)).toEqual([delayNotices(task.id)[0]]);
    expect(botVote(task.id)).toBe('waiting');
    const attempts = await waitFor('the call log', async () => {
      const { rows } = await service.db.query(`SELECT attempt, outcome FROM job_attempts WHERE queue = 'followups' AND payment_id = $1`, [
        payment.id,
      ]);
      return rows.length ? rows : undefined;
    });
    expect(attempts).toEqual([{ attempt: 1, outcome: 'failed' }]);
  });

  it('votes once when a webhook comes while the follow-up has the task decided again', async () => {
    erp.failing = 1;
    erp.hold = true;
    const task = invoiceTask('SI-500', 5500);
    await deliver(task.id);
    // The follow-up's order is made and its answer held: the task is not decided again yet.
    await waitFor('the follow-up at the ERP', () => erp.holding);
    expect(delayNotices(task.id)).toHaveLength(1);
    const deliveries = deliveriesQueue(service.worker);
    await deliveries.pause(true);
    try {
      erp.release();
      const asked = await waitFor('the delivery the follow-up asks for', async () =>
        (await decisionsOf(task.id)).find((d) => d.user_agent === 'follow-up'),
      );
      expect(asked.status).toBe('received');
      // Meanwhile a person comments and Pyrus sends the bot a webhook: two deliveries wait, each would vote.
      await managerComments(task.id, 'Any news?');
      await deliver(task.id);
      await waitFor('both deliveries stored', async () => (await decisionsOf(task.id)).length === 3);
    } finally {
      await deliveries.resume(true);
    }
    await waitFor('both decided', async () => (await decisionsOf(task.id)).every((d) => d.status !== 'received'));
    const payment = await paymentOf(task.id);
    expect(votes(task.id)).toEqual([approvedWith(erp.orders.get(payment.id)!)]);
    expect(botComments(task.id)).toHaveLength(2);
    expect(botVote(task.id)).toBe('approved');
    const [, ...later] = await decisionsOf(task.id);
    expect(later.map((d) => d.outcome).sort()).toEqual(['posted', 'skipped']);
    expect(later.find((d) => d.outcome === 'skipped')!.reason).toMatch(/already voted on this step|already "approved"/);
    expect(ordersFor(payment.id).filter((c) => c.status === 201)).toHaveLength(1);
  });

  it('shows in a dry-run replay the approval it would make, without calling the ERP or writing anything', async () => {
    erp.failing = 1000;
    const task = invoiceTask('SI-600', 6500);
    await deliver(task.id);
    const { id: paymentId } = await waitFor('the payment', () => paymentOf(task.id));
    await waitFor('the ERP job to fail for good', async () => (await (await followUpJob(paymentId))?.getState()) === 'failed', 15000);
    const [delayed] = await decisionsOf(task.id);
    const before = { payment: await paymentOf(task.id), erpCalls: erp.calls.length, comments: botComments(task.id) };

    const res = await request(service.api.getHttpServer())
      .post(`/admin/deliveries/${delayed.id}/replay?dryRun=true`)
      .set('Authorization', `Bearer ${OPERATOR}`)
      .expect(202);
    expect(res.body).toMatchObject({
      dryRun: true,
      decision: {
        kind: 'comment',
        comment: { text: 'Payment order <document id from the ERP> created in the ERP.', approval_choice: 'approved' },
        reason: expect.stringMatching(/^dry run/),
      },
    });
    expect(erp.calls.length).toBe(before.erpCalls);
    expect(await paymentOf(task.id)).toEqual(before.payment);
    expect(botComments(task.id)).toEqual(before.comments);
  });

  describe("follow-ups lost with Redis's data", () => {
    // The reconciliation looks at follow-ups of decisions older than RECONCILE_MIN_AGE_MS (1 s in tests).
    const pastMinAge = () => sleep(1100);

    it('the ERP order: queued again by the reconciliation, then made, and the task approved', async () => {
      erp.failing = 1000;
      const task = invoiceTask('SI-700', 7500);
      await deliver(task.id);
      const { id: paymentId } = await waitFor('the payment', () => paymentOf(task.id));
      await waitFor('the ERP job to fail for good', async () => (await (await followUpJob(paymentId))?.getState()) === 'failed', 15000);
      // The job goes with Redis's data; the ERP is back meanwhile.
      await (await followUpJob(paymentId))!.remove();
      erp.failing = 0;
      await pastMinAge();

      const result = await service.worker.get(DeliveryReconciler).reconcile();
      expect(result?.followUpsRequeued).toBeGreaterThanOrEqual(1);
      await waitFor('the approval', () => votes(task.id).length === 1);
      expect(votes(task.id)).toEqual([approvedWith(erp.orders.get(paymentId)!)]);
      expect(delayNotices(task.id)).toHaveLength(1);
      expect(ordersFor(paymentId).filter((c) => c.status === 201)).toHaveLength(1);
      // Done: the next run leaves it.
      await pastMinAge();
      await service.worker.get(DeliveryReconciler).reconcile();
      const requeued = (await followUpJob(paymentId))!;
      expect(await requeued.getState()).toBe('completed');
      // Queued again as patient as when the decision queued it.
      expect(requeued.opts).toMatchObject({ attempts: 7, backoff: { type: 'patient', options: { delayMs: 50, maxDelayMs: 200 } } });
    });

    it('the vendor e-mail: queued again by the reconciliation, and sent once', async () => {
      const queue = followUps();
      await queue.pause(true);
      let paymentId: string;
      try {
        const task = invoiceTask('SI-800', 8500, 'billing@lost.example.com');
        await deliver(task.id);
        await waitFor('the approval', () => votes(task.id).length === 1);
        ({ id: paymentId } = await waitFor('the payment reported', async () => {
          const row = await paymentOf(task.id);
          return row?.erp_reported_at ? row : undefined;
        }));
        const job = await waitFor('the notification job', () => queue.getJob(`notify-vendor:${paymentId}`));
        await job.remove();
      } finally {
        await queue.resume(true);
      }
      await pastMinAge();
      expect(smtp.mails.some((m) => m.includes('SI-800'))).toBe(false);

      const result = await service.worker.get(DeliveryReconciler).reconcile();
      expect(result?.followUpsRequeued).toBeGreaterThanOrEqual(1);
      await waitFor('the e-mail', () => smtp.mails.find((m) => m.includes('SI-800')));
      const sent = await waitFor('the notification record', async () => {
        const { rows } = await service.db.query('SELECT channel, status FROM notifications WHERE payment_id = $1', [paymentId]);
        return rows.length ? rows : undefined;
      });
      expect(sent).toEqual([{ channel: 'email', status: 'sent' }]);
      // Tried: the next run leaves it, whatever the job's state.
      await (await queue.getJob(`notify-vendor:${paymentId}`))?.remove();
      await pastMinAge();
      await service.worker.get(DeliveryReconciler).reconcile();
      expect(await queue.getJob(`notify-vendor:${paymentId}`)).toBeNull();
      expect(smtp.mails.filter((m) => m.includes('SI-800'))).toHaveLength(1);
    });
  });
});
