import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusApproval, PyrusTask } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { deliveriesQueue, ServiceUnderTest, sleep, startServiceWithEmulator, waitFor } from './support/stack';
import { Invoice, invoiceTask as makeInvoiceTask } from './support/invoice-task';
import { addPaymentBotsTo, deliverTo, freshTaxIds, PaymentBot, paymentBotsFile } from './support/payment-bots';
import { MANAGER_USER_ID, PAYMENTS_ERP_BOT_USER_ID } from './support/test-emulator';

const FIRST_TASK = 930000;
const LAST_TASK = 939999;

const budget = { scope: 'supplier', period: 'month' };
/** `returnTo` left out: the default. */
const RETURNS: PaymentBot = { name: 'returns', userId: 123480, settings: { budget } };
const REJECTS: PaymentBot = { name: 'returns-reject', userId: 123481, settings: { budget, returnTo: 'reject' } };
/** The setting's earlier value, still accepted. */
const LEGACY: PaymentBot = { name: 'returns-legacy', userId: 123482, settings: { budget, returnTo: 'rerequest-previous-step' } };

const ACCOUNTANT = { id: 5001, first_name: 'Anna', last_name: 'Accountant', type: 'user' };
const MANAGER = { id: MANAGER_USER_ID, first_name: 'Mark', last_name: 'Manager', type: 'user' };
/** Another bot of the company on a step of its own (a bot is never a stage to return to). */
const OTHER_BOT = { id: PAYMENTS_ERP_BOT_USER_ID, first_name: 'ERP', type: 'bot' };

const approved = (person: object): PyrusApproval => ({ person, approval_choice: 'approved' }) as PyrusApproval;
const waiting = (person: object): PyrusApproval => ({ person, approval_choice: 'waiting' }) as PyrusApproval;
const botOn = (bot: PaymentBot) => ({ id: bot.userId, type: 'bot' });

/**
 * A request over its budget goes back to the previous stage by default, as Pyrus describes its budget bot: the nearest
 * earlier step with a person on it is asked to approve again. On the first step there is none, and the bot rejects;
 * with `returnTo: "reject"` it always rejects.
 */
describe('payment bot: returning a request to the previous stage', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let db: Client;
  let service: ServiceUnderTest;
  let nextTask = FIRST_TASK;
  const taxIds = freshTaxIds('76');
  const runTag = taxIds.runTag;

  /** A supplier of its own with a monthly limit of 1,000.00 RUB, so a 1,500.00 request is over it. */
  async function supplierOverBudget(): Promise<Invoice> {
    const inn = taxIds.next();
    await db.query(`INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ('supplier', $1, 'month', 'RUB', 1000)`, [
      `tax:${inn}`,
    ]);
    return { supplier: `Supplier ${inn}`, inn, invoiceNo: `R-${inn.slice(-3)}`, date: '2024-05-10', amount: 1500, currency: 'RUB' };
  }

  function routedTask(invoice: Invoice, approvals: PyrusApproval[][], currentStep: number): PyrusTask {
    const task = makeInvoiceTask(nextTask++, invoice, { approvals, currentStep });
    pyrus.addTask(structuredClone(task));
    return task;
  }

  /** What our bots posted on the task (the manager's comments left out). */
  const botComments = (taskId: number) =>
    pyrus.comments.filter((c) => c.taskId === taskId && c.bot !== 'manager').map((c) => c.request as Record<string, any>);
  const decided = (taskId: number, nth = 1) => waitFor(`decision ${nth} on ${taskId}`, () => botComments(taskId)[nth - 1]);
  const paymentOf = async (taskId: number) =>
    (await db.query('SELECT status, decision_reason FROM payments WHERE task_id = $1', [taskId])).rows[0];
  const choicesOf = (taskId: number) =>
    pyrus.getTask(taskId)!.approvals!.map((step) => step.map((a) => `${a.person.id}:${a.approval_choice}`));

  beforeAll(async () => {
    const bots = [RETURNS, REJECTS, LEGACY];
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK], { BOTS_FILE: paymentBotsFile(bots) });
    ({ pyrus, api, db } = service);
    addPaymentBotsTo(pyrus, bots);
  });

  afterAll(async () => {
    await db?.query('DELETE FROM budget_limits WHERE scope_key = ANY($1::text[])', [taxIds.budgetKeys]);
    await service?.close();
  });

  it("sends a request over budget on step 3 back to step 2's person, and decides it again when it returns", async () => {
    const invoice = await supplierOverBudget();
    const task = routedTask(invoice, [[approved(ACCOUNTANT)], [approved(MANAGER)], [waiting(botOn(RETURNS))]], 3);
    await deliverTo(api, pyrus, RETURNS, task);

    const decision = await decided(task.id);
    expect(decision.approval_choice).toBeUndefined();
    expect(decision.approvals_rerequested).toEqual([[], [{ id: MANAGER.id }]]);
    expect(decision.text).toContain('Budget exceeded for supplier');
    expect(decision.text).toContain('Returned to step 2 (Mark Manager).');
    // In Pyrus: the task is on step 2 again, waiting for the manager; step 1 keeps its approval.
    expect(pyrus.getTask(task.id)!.current_step).toBe(2);
    expect(choicesOf(task.id)).toEqual([[`${ACCOUNTANT.id}:approved`], [`${MANAGER.id}:waiting`], [`${RETURNS.userId}:waiting`]]);
    expect(await paymentOf(task.id)).toMatchObject({ status: 'rejected', decision_reason: expect.stringContaining('returned to step 2') });

    // The manager agrees a higher limit and approves again: the task comes back to the bot, which now approves it.
    await db.query(`UPDATE budget_limits SET amount = 2000 WHERE scope_key = $1`, [`tax:${invoice.inn}`]);
    const answer = await fetch(`${pyrus.apiUrl}tasks/${task.id}/comments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pyrus.issueToken('manager')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'Limit raised', approval_choice: 'approved' }),
    });
    expect(answer.status).toBe(200);
    const back = pyrus.getTask(task.id)!;
    expect(back.current_step).toBe(3);
    await deliverTo(api, pyrus, RETURNS, back);
    const second = await waitFor('the second decision', () => botComments(task.id).find((c) => c.approval_choice === 'approved'));
    expect(second.text).toContain('limit 2 000.00 RUB, already approved 0.00, this request 1 500.00');
    expect(await paymentOf(task.id)).toMatchObject({ status: 'approved' });
  });

  it('two deliveries of one round (a person commented meanwhile) send the request back once', async () => {
    const task = routedTask(await supplierOverBudget(), [[approved(ACCOUNTANT)], [approved(MANAGER)], [waiting(botOn(RETURNS))]], 3);
    const withComment = structuredClone(task);
    withComment.comments = [...(task.comments ?? []), { id: task.id * 10 + 1, text: 'Any news?', author: { id: MANAGER.id } }];
    const queue = deliveriesQueue(service.worker);
    await queue.pause(true);
    try {
      await deliverTo(api, pyrus, RETURNS, task);
      await deliverTo(api, pyrus, RETURNS, withComment);
    } finally {
      await queue.resume(true);
    }
    await decided(task.id);
    await waitFor('both deliveries to settle', async () => {
      const { rows } = await db.query(`SELECT status FROM deliveries WHERE task_id = $1`, [task.id]);
      return rows.length === 2 && rows.every((r) => r.status !== 'received');
    });
    await sleep(500);
    expect(botComments(task.id)).toHaveLength(1);
    expect(botComments(task.id)[0].approvals_rerequested).toEqual([[], [{ id: MANAGER.id }]]);
  });

  it("passes over a bot's step: back to the nearest earlier step with a person on it", async () => {
    const task = routedTask(await supplierOverBudget(), [[approved(ACCOUNTANT)], [approved(OTHER_BOT)], [waiting(botOn(RETURNS))]], 3);
    await deliverTo(api, pyrus, RETURNS, task);
    const decision = await decided(task.id);
    expect(decision.approval_choice).toBeUndefined();
    expect(decision.approvals_rerequested).toEqual([[{ id: ACCOUNTANT.id }]]);
    expect(decision.text).toContain('Returned to step 1 (Anna Accountant).');
    expect(pyrus.getTask(task.id)!.current_step).toBe(1);
  });

  it('rejects on the first step, where there is no earlier stage, and says so', async () => {
    const task = routedTask(await supplierOverBudget(), [[waiting(botOn(RETURNS))], [waiting(MANAGER)]], 1);
    await deliverTo(api, pyrus, RETURNS, task);
    const decision = await decided(task.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.approvals_rerequested).toBeUndefined();
    expect(decision.text).toContain('Budget exceeded for supplier');
    expect(decision.text).toContain('Rejected: there is no earlier stage to return this request to.');
    expect(choicesOf(task.id)[0]).toEqual([`${RETURNS.userId}:rejected`]);
  });

  it('rejects with returnTo: "reject", wherever the bot is', async () => {
    const task = routedTask(await supplierOverBudget(), [[approved(ACCOUNTANT)], [approved(MANAGER)], [waiting(botOn(REJECTS))]], 3);
    await deliverTo(api, pyrus, REJECTS, task);
    const decision = await decided(task.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.approvals_rerequested).toBeUndefined();
    expect(decision.text).not.toContain('Returned to step');
    expect(pyrus.getTask(task.id)!.current_step).toBe(3);
    expect(choicesOf(task.id)[2]).toEqual([`${REJECTS.userId}:rejected`]);
  });

  it('sends a duplicate back the same way', async () => {
    // A supplier without a limit, so only the duplicate check speaks.
    const invoice: Invoice = {
      supplier: 'No limit',
      inn: `75${runTag}001`,
      invoiceNo: 'D-1',
      date: '2024-06-01',
      amount: 700,
      currency: 'RUB',
    };
    const route = () => [[approved(MANAGER)], [waiting(botOn(RETURNS))]];
    const first = routedTask(invoice, route(), 2);
    await deliverTo(api, pyrus, RETURNS, first);
    expect((await decided(first.id)).approval_choice).toBe('approved');
    const again = routedTask({ ...invoice, invoiceNo: 'd 1' }, route(), 2);
    await deliverTo(api, pyrus, RETURNS, again);
    const decision = await decided(again.id);
    expect(decision.text).toContain(`https://pyrus.com/t#id${first.id}: same supplier and invoice number "D-1"`);
    expect(decision.text).toContain('Returned to step 1 (Mark Manager).');
    expect(decision.approvals_rerequested).toEqual([[{ id: MANAGER.id }]]);
    expect(pyrus.getTask(again.id)!.current_step).toBe(1);
  });

  it('takes the earlier value "rerequest-previous-step" for the previous stage', async () => {
    const task = routedTask(await supplierOverBudget(), [[approved(ACCOUNTANT)], [approved(OTHER_BOT)], [waiting(botOn(LEGACY))]], 3);
    await deliverTo(api, pyrus, LEGACY, task);
    const decision = await decided(task.id);
    expect(decision.approvals_rerequested).toEqual([[{ id: ACCOUNTANT.id }]]);
    expect(pyrus.getTask(task.id)!.current_step).toBe(1);
  });
});
