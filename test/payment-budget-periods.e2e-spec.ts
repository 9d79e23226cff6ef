import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusTask } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { ServiceUnderTest, startServiceWithEmulator, waitFor } from './support/stack';
import { Invoice, invoiceTask as makeInvoiceTask } from './support/invoice-task';
import { addPaymentBotsTo, deliverTo, freshTaxIds, PaymentBot, paymentBotsFile } from './support/payment-bots';
import { MANAGER_USER_ID } from './support/test-emulator';

const FIRST_TASK = 910000;
const LAST_TASK = 919999;

type Period = 'month' | 'quarter' | 'year';
const botFor = (period: Period, userId: number): PaymentBot => ({
  name: `budget-${period}`,
  userId,
  // Probable duplicates off (same day only, and every amount differs), so only the budget decides; over it, a plain
  // rejection (returning to an earlier step is payment-return-to.e2e-spec.ts's subject).
  settings: { duplicateWindowDays: 0, budget: { scope: 'supplier', period }, returnTo: 'reject' },
});
const BOTS: Record<Period, PaymentBot> = {
  month: botFor('month', 123470),
  quarter: botFor('quarter', 123471),
  year: botFor('year', 123472),
};

/**
 * One period's budget: the limit, the period's first and last days with the requests that fill it exactly, a day
 * inside it for a request that would go over, and the days either side, whose periods are other budgets.
 */
interface PeriodCase {
  period: Period;
  limit: number;
  label: string;
  first: [string, number];
  last: [string, number];
  over: [string, number];
  before: [string, number, string];
  after: [string, number, string];
}

const CASES: PeriodCase[] = [
  {
    period: 'month',
    limit: 1000,
    label: '2024-02',
    first: ['2024-02-01', 600],
    last: ['2024-02-29', 400],
    over: ['2024-02-15', 0.01],
    before: ['2024-01-31', 999, '2024-01'],
    after: ['2024-03-01', 998, '2024-03'],
  },
  {
    period: 'quarter',
    limit: 10000,
    label: '2024-Q2',
    first: ['2024-04-01', 6000],
    last: ['2024-06-30', 4000],
    over: ['2024-05-15', 1],
    before: ['2024-03-31', 9999, '2024-Q1'],
    after: ['2024-07-01', 9998, '2024-Q3'],
  },
  {
    period: 'year',
    limit: 100000,
    label: '2024',
    first: ['2024-01-01', 60000],
    last: ['2024-12-31', 40000],
    over: ['2024-07-01', 0.5],
    before: ['2023-12-31', 99999, '2023'],
    after: ['2025-01-01', 99998, '2025'],
  },
];

/** Budget limits per month, quarter and year, each decided by the payment bot end to end. */
describe('payment bot budgets by period', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let db: Client;
  let service: ServiceUnderTest;
  let nextTask = FIRST_TASK;
  /** Tax ids of this run's own, so the budget counts only what this test approved. */
  const taxIds = freshTaxIds('78');
  const freshInn = () => taxIds.next();

  const botComments = (taskId: number) => pyrus.comments.filter((c) => c.taskId === taskId).map((c) => c.request as Record<string, any>);

  async function decide(bot: PaymentBot, invoice: Invoice): Promise<{ task: PyrusTask; decision: Record<string, any> }> {
    const task = makeInvoiceTask(nextTask++, invoice, {
      approvals: [
        [{ person: { id: MANAGER_USER_ID, type: 'user' }, approval_choice: 'approved' }],
        [{ person: { id: bot.userId, type: 'bot' }, approval_choice: 'waiting' }],
      ],
      currentStep: 2,
    });
    pyrus.addTask(structuredClone(task));
    await deliverTo(api, pyrus, bot, task);
    const decision = await waitFor(`the decision on ${task.id}`, () => botComments(task.id)[0]);
    return { task, decision };
  }

  beforeAll(async () => {
    const bots = Object.values(BOTS);
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK], { BOTS_FILE: paymentBotsFile(bots) });
    ({ pyrus, api, db } = service);
    addPaymentBotsTo(pyrus, bots);
  });

  afterAll(async () => {
    await db?.query('DELETE FROM budget_limits WHERE scope_key = ANY($1::text[])', [taxIds.budgetKeys]);
    await service?.close();
  });

  it.each(CASES)('a $period budget holds from its first day to its last, and no further', async (c) => {
    const bot = BOTS[c.period];
    const inn = freshInn();
    const supplier = `Period ${c.period} ${inn}`;
    await db.query(`INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ('supplier', $1, $2, 'RUB', $3)`, [
      `tax:${inn}`,
      c.period,
      c.limit,
    ]);
    const invoice = (no: string, [date, amount]: [string, number, string?]): Invoice => ({
      supplier,
      inn,
      invoiceNo: no,
      date,
      amount,
      currency: 'RUB',
    });
    const money = (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: 2 }).replace(/,/g, ' ');
    const limit = money(c.limit);

    // The first day of the period: nothing used yet.
    const first = await decide(bot, invoice('P-1', c.first));
    expect(first.decision.approval_choice).toBe('approved');
    expect(first.decision.text).toContain(
      `Budget for supplier ${supplier}, ${c.label}: limit ${limit} RUB, already approved 0.00, this request ${money(c.first[1])}.`,
    );

    // The last day of the period counts the first day's approval, and fills the limit exactly: still within it.
    const last = await decide(bot, invoice('P-2', c.last));
    expect(last.decision.approval_choice).toBe('approved');
    expect(last.decision.text).toContain(
      `${c.label}: limit ${limit} RUB, already approved ${money(c.first[1])}, this request ${money(c.last[1])}.`,
    );

    // Any more within the period is over the limit.
    const over = await decide(bot, invoice('P-3', c.over));
    expect(over.decision.approval_choice).toBe('rejected');
    expect(over.decision.text).toContain(
      `Budget exceeded for supplier ${supplier}, ${c.label}: limit ${limit} RUB, already approved ${limit}, this request ${money(c.over[1])}; over by ${money(c.over[1])} RUB.`,
    );

    // The days either side belong to the periods before and after, whose budgets are untouched.
    for (const [no, side] of [
      ['P-4', c.before],
      ['P-5', c.after],
    ] as const) {
      const outside = await decide(bot, invoice(no, side));
      expect(outside.decision.approval_choice).toBe('approved');
      expect(outside.decision.text).toContain(`${side[2]}: limit ${limit} RUB, already approved 0.00, this request ${money(side[1])}.`);
    }

    const { rows } = await db.query(`SELECT invoice_number, status FROM payments WHERE supplier_key = $1 ORDER BY invoice_number`, [
      `tax:${inn}`,
    ]);
    expect(rows).toEqual([
      { invoice_number: 'P-1', status: 'approved' },
      { invoice_number: 'P-2', status: 'approved' },
      { invoice_number: 'P-3', status: 'rejected' },
      { invoice_number: 'P-4', status: 'approved' },
      { invoice_number: 'P-5', status: 'approved' },
    ]);
  });
});
