import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { PyrusTask } from '@app/pyrus';
import { deliveriesQueue, sendSigned, ServiceUnderTest, startServiceWithEmulator, waitFor } from './support/stack';
import { Invoice, invoiceTask as makeInvoiceTask } from './support/invoice-task';
import { PAYMENTS_BOT_USER_ID } from './support/test-emulator';

const KEY = 'payments-key';
const FIRST_TASK = 850000;
const LAST_TASK = 859999;

/** The payment-approval bot through api, worker and the emulator, with the history in the real Postgres. */
describe('payment-approval bot', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let service: ServiceUnderTest;
  let nextTask = FIRST_TASK;
  let nextInn = 1;
  const runTag = String(Date.now() % 1_000_000).padStart(6, '0');

  /** A tax id no other test (or earlier run) uses, so the history holds only what this test made. */
  const freshInn = () => `77${runTag}${String(nextInn++).padStart(3, '0')}`;

  function invoiceTask(invoice: Invoice): PyrusTask {
    const task = makeInvoiceTask(nextTask++, invoice);
    pyrus.addTask(structuredClone(task));
    return task;
  }

  function deliver(task: PyrusTask, retry = '1/3') {
    const body = JSON.stringify({
      event: 'comment',
      access_token: pyrus.issueToken('payments'),
      task_id: task.id,
      user_id: PAYMENTS_BOT_USER_ID,
      task,
    });
    return sendSigned(api, 'payments', body, KEY, { 'X-Pyrus-Retry': retry }).expect(200);
  }

  const botComments = (taskId: number) => pyrus.comments.filter((c) => c.taskId === taskId && c.bot === 'payments').map((c) => c.request);
  const decided = (taskId: number) => waitFor(`the decision on ${taskId}`, () => botComments(taskId)[0] as Record<string, any> | undefined);
  const paymentOf = async (taskId: number) => (await db.query('SELECT * FROM payments WHERE task_id = $1', [taskId])).rows[0];

  beforeAll(async () => {
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK]);
    ({ pyrus, api, worker, db } = service);
  });

  afterAll(() => service?.close());

  it('approves a clean invoice and records the payment', async () => {
    const task = invoiceTask({
      supplier: 'ООО «Ромашка»',
      inn: freshInn(),
      invoiceNo: 'INV-2024/001',
      date: '2024-03-05',
      amount: 1500,
      currency: 'RUB',
    });
    await deliver(task);
    expect(await decided(task.id)).toMatchObject({ approval_choice: 'approved', text: expect.stringContaining('Approved') });
    const payment = await waitFor('the payment row', () => paymentOf(task.id));
    expect(payment).toMatchObject({
      status: 'approved',
      amount: '1500.00',
      currency: 'RUB',
      invoice_number_norm: 'INV2024001',
      supplier_name: 'ООО «Ромашка»',
    });
  });

  it('rejects the same invoice from the same supplier, with a link to the first', async () => {
    const inn = freshInn();
    const first = invoiceTask({ supplier: 'Acme', inn, invoiceNo: 'A-17', date: '2024-03-01', amount: 900, currency: 'RUB' });
    await deliver(first);
    await decided(first.id);
    const again = invoiceTask({ supplier: 'ACME Ltd', inn, invoiceNo: 'a 17', date: '2024-04-20', amount: 950, currency: 'RUB' });
    await deliver(again);
    const decision = await decided(again.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${first.id}`);
    expect(decision.text).toContain('same supplier and invoice number');
    expect((await paymentOf(again.id)).status).toBe('rejected');
  });

  it('flags a probable duplicate: same supplier, amount and currency, dates close together', async () => {
    const inn = freshInn();
    const first = invoiceTask({ supplier: 'Globex', inn, invoiceNo: 'G-1', date: '2024-05-10', amount: 4321.5, currency: 'EUR' });
    await deliver(first);
    await decided(first.id);
    const second = invoiceTask({ supplier: 'Globex', inn, invoiceNo: 'G-2', date: '2024-05-13', amount: 4321.5, currency: 'EUR' });
    await deliver(second);
    const decision = await decided(second.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toMatch(/probable duplicate/);
    expect(decision.text).toContain(`https://pyrus.com/t#id${first.id}`);
    expect(decision.text).toContain('amount 4 321.50 EUR');
  });

  it('finds a duplicate that only the form register holds (a request from before the bot)', async () => {
    const inn = freshInn();
    // Paid last year, by hand: in Pyrus, not in our history.
    const old = invoiceTask({ supplier: 'Soylent', inn, invoiceNo: 'S/2023/5', date: '2023-12-01', amount: 777, currency: 'RUB' });
    const task = invoiceTask({ supplier: 'Soylent', inn, invoiceNo: 's-2023-5', date: '2024-02-01', amount: 780, currency: 'RUB' });
    await deliver(task);
    const decision = await decided(task.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${old.id}: same supplier and invoice number "S/2023/5" (in the register)`);
    expect(pyrus.calls.some((c) => c.path === '/v4/forms/2001/register')).toBe(true);
  });

  it('returns a request that would exceed the budget, with the figures', async () => {
    const inn = freshInn();
    await db.query(
      `INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ('supplier', $1, 'month', 'RUB', 10000)`,
      [`tax:${inn}`],
    );
    const first = invoiceTask({ supplier: 'Initech', inn, invoiceNo: 'I-1', date: '2024-06-01', amount: 8000, currency: 'RUB' });
    await deliver(first);
    expect((await decided(first.id)).text).toContain('limit 10 000.00 RUB, already approved 0.00, this request 8 000.00');
    const second = invoiceTask({ supplier: 'Initech', inn, invoiceNo: 'I-2', date: '2024-06-28', amount: 3000, currency: 'RUB' });
    await deliver(second);
    const decision = await decided(second.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(
      'Budget exceeded for supplier Initech, 2024-06: limit 10 000.00 RUB, already approved 8 000.00, this request 3 000.00; over by 1 000.00 RUB',
    );
  });

  it('lets exactly one of ten concurrent requests take the last of a budget', async () => {
    const inn = freshInn();
    await db.query(
      `INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ('supplier', $1, 'month', 'RUB', 10000)`,
      [`tax:${inn}`],
    );
    // Different invoice numbers and amounts, so only the budget can stop them; any one fits, no two do.
    const tasks = Array.from({ length: 10 }, (_, i) =>
      invoiceTask({ supplier: 'Umbrella', inn, invoiceNo: `U-${i}`, date: '2024-07-15', amount: 6000 + i, currency: 'RUB' }),
    );
    // Hold the worker until all ten are queued, so they are decided at the same moment.
    await deliveriesQueue(worker).pause(true);
    await Promise.all(tasks.map((t) => deliver(t)));
    await deliveriesQueue(worker).resume(true);
    const choices = await Promise.all(tasks.map(async (t) => (await decided(t.id)).approval_choice));
    expect(choices.filter((c) => c === 'approved')).toHaveLength(1);
    const { rows } = await db.query(
      `SELECT status, count(*)::int AS n FROM payments WHERE supplier_key = $1 GROUP BY status ORDER BY status`,
      [`tax:${inn}`],
    );
    expect(rows).toEqual([
      { status: 'approved', n: 1 },
      { status: 'rejected', n: 9 },
    ]);
  });

  it('frees the budget of an approval that Pyrus refused to take', async () => {
    const inn = freshInn();
    const task = invoiceTask({ supplier: 'Oscorp', inn, invoiceNo: 'O-1', date: '2024-10-01', amount: 500, currency: 'RUB' });
    pyrus.addFault({ kind: 'error', method: 'POST', path: `/v4/tasks/${task.id}/comments`, status: 400, count: 5 });
    await deliver(task);
    const payment = await waitFor('the payment to go back to pending', async () => {
      const row = await paymentOf(task.id);
      return row?.status === 'pending' ? row : undefined;
    });
    expect(payment.decision_reason).toMatch(/did not reach Pyrus/);
    expect(botComments(task.id)).toHaveLength(0);
  });

  it('names the missing fields and does not vote', async () => {
    const task = invoiceTask({ supplier: 'Hooli', inn: freshInn(), date: '2024-08-01', currency: 'RUB' });
    await deliver(task);
    const decision = await decided(task.id);
    expect(decision.approval_choice).toBeUndefined();
    expect(decision.text).toContain('invoice number, amount missing');
    expect(await paymentOf(task.id)).toBeUndefined();
  });

  it('votes once despite a repeated delivery and a new comment on the decided task', async () => {
    const task = invoiceTask({ supplier: 'Vandelay', inn: freshInn(), invoiceNo: 'V-1', date: '2024-09-01', amount: 100, currency: 'RUB' });
    await deliver(task);
    await decided(task.id);
    await deliver(task, '2/3');
    // Someone comments after the decision: Pyrus sends the task again, with the bot's vote already in it.
    const later = structuredClone(task);
    later.approvals![1][0].approval_choice = 'approved';
    later.comments!.push({ id: task.id * 10 + 1, text: 'Thanks!', author: { id: 77 } });
    await deliver(later);
    await waitFor('both later deliveries handled', async () => {
      const { rows } = await db.query(`SELECT status FROM deliveries WHERE bot = 'payments' AND task_id = $1`, [task.id]);
      return rows.length === 2 && rows.every((r) => r.status !== 'received');
    });
    expect(botComments(task.id)).toHaveLength(1);
  });
});
