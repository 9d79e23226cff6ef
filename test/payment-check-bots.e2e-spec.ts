import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusApproval, PyrusTask } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { deliveriesQueue, ServiceUnderTest, startServiceWithEmulator, waitFor } from './support/stack';
import { Invoice, invoiceTask as makeInvoiceTask } from './support/invoice-task';
import { addPaymentBotsTo, deliverTo, freshTaxIds, PaymentBot, paymentBotsFile } from './support/payment-bots';
import { MANAGER_USER_ID } from './support/test-emulator';

/** This file's task ids; other files share the database, so it touches only these. */
const FIRST_TASK = 193_000_000;
const LAST_TASK = 193_000_999;

const DUPLICATES: PaymentBot = { name: 'dup-check', userId: 193_001, handler: 'duplicate-check', settings: {} };
const BUDGET: PaymentBot = {
  name: 'budget-check',
  userId: 193_002,
  handler: 'budget-check',
  settings: { budget: { scope: 'supplier', period: 'month' } },
};

const MANAGER = { id: MANAGER_USER_ID, first_name: 'Mark', last_name: 'Manager', type: 'user' };
const approved = (person: object): PyrusApproval => ({ person, approval_choice: 'approved' }) as PyrusApproval;
const waiting = (person: object): PyrusApproval => ({ person, approval_choice: 'waiting' }) as PyrusApproval;

/**
 * The duplicate-check and budget-check bots each on its own, through api, worker and the emulator: what each decides,
 * and the one payment row per invoice task that both write.
 */
describe('duplicate-check and budget-check bots (real Postgres, Redis, HTTP from the emulator)', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let service: ServiceUnderTest;
  let nextTask = FIRST_TASK;
  const taxIds = freshTaxIds('74');

  /**
   * An invoice task on step 2, after the manager's approval, waiting for `bot`. `round` > 0 is the task brought back to
   * step 2 that many times (a request sent back and approved again), each a new round the bot decides afresh.
   */
  function taskFor(bot: PaymentBot, invoice: Invoice, id = nextTask++, round = 0): PyrusTask {
    const task = makeInvoiceTask(id, invoice, {
      approvals: [[approved(MANAGER)], [waiting({ id: bot.userId, type: 'bot' })]],
      currentStep: 2,
    });
    for (let r = 1; r <= round; r += 1) {
      task.comments!.push({ id: id * 10 + r, author: MANAGER, approval_choice: 'approved', changed_step: 2 } as never);
    }
    pyrus.addTask(structuredClone(task));
    return task;
  }

  const commentsOf = (taskId: number, bot: PaymentBot) =>
    pyrus.comments.filter((c) => c.taskId === taskId && c.bot === bot.name).map((c) => c.request as Record<string, any>);
  const decided = (taskId: number, bot: PaymentBot, nth = 1) =>
    waitFor(`decision ${nth} of ${bot.name} on ${taskId}`, () => commentsOf(taskId, bot)[nth - 1]);
  const paymentsOf = async (taskId: number) =>
    (await db.query('SELECT bot, status, amount::text FROM payments WHERE task_id = $1', [taskId])).rows;
  async function limit(inn: string, amount: number): Promise<void> {
    await db.query(`INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ('supplier', $1, 'month', 'RUB', $2)`, [
      `tax:${inn}`,
      amount,
    ]);
  }

  beforeAll(async () => {
    const bots = [DUPLICATES, BUDGET];
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK], { BOTS_FILE: paymentBotsFile(bots) });
    ({ pyrus, api, worker, db } = service);
    addPaymentBotsTo(pyrus, bots);
  });

  afterAll(async () => {
    await db?.query('DELETE FROM budget_limits WHERE scope_key = ANY($1::text[])', [taxIds.budgetKeys]);
    await service?.close();
  });

  it('duplicate-check approves a new invoice, recording it pending (no budget held), and sends back its duplicate with the link', async () => {
    const inn = taxIds.next();
    const invoice = { supplier: 'ООО «Луч»', inn, invoiceNo: 'L-001', date: '2024-04-02', amount: 1200, currency: 'RUB' };
    const first = taskFor(DUPLICATES, invoice);
    await deliverTo(api, pyrus, DUPLICATES, first);
    expect(await decided(first.id, DUPLICATES)).toEqual({ text: 'No duplicate payment found.', approval_choice: 'approved' });
    expect(await paymentsOf(first.id)).toEqual([{ bot: DUPLICATES.name, status: 'pending', amount: '1200.00' }]);

    // The same invoice, typed another way: a pending request is already a duplicate.
    const second = taskFor(DUPLICATES, { ...invoice, supplier: 'ооо "Луч"', invoiceNo: 'l 001' });
    await deliverTo(api, pyrus, DUPLICATES, second);
    const back = await decided(second.id, DUPLICATES);
    expect(back.approval_choice).toBeUndefined();
    expect(back.approvals_rerequested).toEqual([[{ id: MANAGER_USER_ID }]]);
    expect(back.text).toContain(`https://pyrus.com/t#id${first.id}: same supplier and invoice number "L-001" (pending)`);
    expect(await paymentsOf(second.id)).toEqual([{ bot: DUPLICATES.name, status: 'rejected', amount: '1200.00' }]);
  });

  it("both bots write one row per task: budget-check's approval holds budget, and a duplicate check of unchanged figures keeps it", async () => {
    const inn = taxIds.next();
    await limit(inn, 5000);
    const invoice = { supplier: `Supplier ${inn}`, inn, invoiceNo: 'B-1', date: '2024-05-06', amount: 3000, currency: 'RUB' };
    const id = nextTask++;
    await deliverTo(api, pyrus, DUPLICATES, taskFor(DUPLICATES, invoice, id));
    await decided(id, DUPLICATES);
    await deliverTo(api, pyrus, BUDGET, taskFor(BUDGET, invoice, id));
    expect((await decided(id, BUDGET)).text).toBe(
      `Within budget. Budget for supplier Supplier ${inn}, 2024-05: limit 5 000.00 RUB, already approved 0.00, this request 3 000.00.`,
    );
    expect(await paymentsOf(id)).toEqual([{ bot: BUDGET.name, status: 'approved', amount: '3000.00' }]);

    // Sent back by a later stage and through the duplicate check again, unchanged: the approval stands.
    await deliverTo(api, pyrus, DUPLICATES, taskFor(DUPLICATES, invoice, id, 1));
    await decided(id, DUPLICATES, 2);
    expect(await paymentsOf(id)).toEqual([{ bot: DUPLICATES.name, status: 'approved', amount: '3000.00' }]);
    // With the amount changed, it no longer holds budget until the budget is checked again.
    await deliverTo(api, pyrus, DUPLICATES, taskFor(DUPLICATES, { ...invoice, amount: 4000 }, id, 2));
    await decided(id, DUPLICATES, 3);
    expect(await paymentsOf(id)).toEqual([{ bot: DUPLICATES.name, status: 'pending', amount: '4000.00' }]);
  });

  it('budget-check sends a request over the limit back with the figures, and lets one of ten racing requests take the last of it', async () => {
    const inn = taxIds.next();
    await limit(inn, 10000);
    const tasks = Array.from({ length: 10 }, (_, i) =>
      taskFor(BUDGET, { supplier: 'Umbrella', inn, invoiceNo: `U-${i}`, date: '2024-07-15', amount: 6000 + i, currency: 'RUB' }),
    );
    // Hold the worker until all ten are queued, so they are decided at the same moment.
    await deliveriesQueue(worker).pause(true);
    await Promise.all(tasks.map((t) => deliverTo(api, pyrus, BUDGET, t)));
    await deliveriesQueue(worker).resume(true);
    const decisions = await Promise.all(tasks.map((t) => decided(t.id, BUDGET)));
    expect(decisions.filter((d) => d.approval_choice === 'approved')).toHaveLength(1);
    const returned = decisions.filter((d) => d.approvals_rerequested);
    expect(returned).toHaveLength(9);
    expect(returned[0].text).toMatch(/^Budget exceeded for supplier Umbrella, 2024-07: limit 10 000\.00 RUB, already approved 6 00\d\.00/);
    expect(returned[0].text).toContain('Returned to step 1 (Mark Manager).');
  });

  it('budget-check approves where no limit is set, and says so', async () => {
    const inn = taxIds.next();
    const task = taskFor(BUDGET, { supplier: 'Nolimit', inn, invoiceNo: 'N-1', date: '2024-08-01', amount: 10, currency: 'RUB' });
    await deliverTo(api, pyrus, BUDGET, task);
    expect(await decided(task.id, BUDGET)).toEqual({
      text: 'Within budget. No budget limit is set for supplier Nolimit, 2024-08 in RUB.',
      approval_choice: 'approved',
    });
  });
});
