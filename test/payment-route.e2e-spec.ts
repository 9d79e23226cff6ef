import { mkdtempSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusApproval, PyrusTask } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { FakeErp } from './support/fake-erp';
import { MailCapture, startMailCapture } from './support/mail-capture';
import { Invoice, INVOICE_FORM_FIELDS, invoiceTask } from './support/invoice-task';
import { freshTaxIds } from './support/payment-bots';
import { ServiceUnderTest, sleep, startServiceWithEmulator, waitFor } from './support/stack';

/**
 * The route runs twice: with the bots posting their decisions through the API (`reply: api`), and answering them in
 * the webhook's answer (`reply: auto`). Each run has its own task ids (other files share the database, so it touches
 * only these) and tax-id prefix, so neither sees the other's invoices as duplicates.
 */
const RUNS = [
  { reply: 'api', firstTask: 192_000_000, lastTask: 192_000_499, taxPrefix: '19' },
  { reply: 'auto', firstTask: 192_000_500, lastTask: 192_000_999, taxPrefix: '29' },
] as const;

interface RouteBot {
  name: string;
  handler: string;
  userId: number;
  settings: Record<string, unknown>;
}

/** The invoice form's fields, plus the vendor's e-mail and the field the payment-order bot fills with the order. */
const FIELDS = { ...INVOICE_FORM_FIELDS, vendorEmail: 'vendor_email' };

const DUPLICATE_CHECK: RouteBot = {
  name: 'route-duplicate-check',
  handler: 'duplicate-check',
  userId: 192_101,
  settings: { fields: FIELDS },
};
const BUDGET_CHECK: RouteBot = {
  name: 'route-budget-check',
  handler: 'budget-check',
  userId: 192_102,
  settings: { fields: FIELDS, budget: { scope: 'supplier', period: 'month' } },
};
const PAYMENT_ORDER: RouteBot = {
  name: 'route-payment-order',
  handler: 'payment-order',
  userId: 192_103,
  settings: {
    fields: FIELDS,
    erp: { documentField: 'erp_document' },
    notify: {
      email: {
        subject: 'Invoice {invoiceNumber} approved',
        text: 'Dear {supplierName}, invoice {invoiceNumber} of {amount} {currency} is approved for payment.',
      },
    },
  },
};
const BOTS = [DUPLICATE_CHECK, BUDGET_CHECK, PAYMENT_ORDER];

/** The people of the route: each approves through the emulator's API with an account of their own. */
interface Person {
  name: string;
  userId: number;
  firstName: string;
  lastName: string;
}
const ACCOUNTANT: Person = { name: 'accountant', userId: 192_201, firstName: 'Anna', lastName: 'Accountant' };
const HEAD: Person = { name: 'head', userId: 192_202, firstName: 'Hugo', lastName: 'Head' };
const CFO: Person = { name: 'cfo', userId: 192_203, firstName: 'Clara', lastName: 'Finance' };
const TREASURER: Person = { name: 'treasurer', userId: 192_204, firstName: 'Tom', lastName: 'Treasurer' };

const keyOf = (account: { name: string }) => `${account.name}-key`;

/** The service's bots file with the route's bots only. */
function routeBotsFile(reply: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'payment-route-')), 'bots.json');
  const bots = BOTS.map((bot) => ({
    name: bot.name,
    login: `bot@test-${bot.name}`,
    securityKeys: [keyOf(bot)],
    handler: bot.handler,
    settings: bot.settings,
    reply,
    // Below the emulator's scaled wait for an answer (6 s), far above a decision's milliseconds.
    ...(reply === 'api' ? {} : { inlineBudgetMs: 4000 }),
  }));
  writeFileSync(file, JSON.stringify({ bots }, null, 2));
  return file;
}

const personOf = (p: Person) => ({ id: p.userId, first_name: p.firstName, last_name: p.lastName, type: 'user' });
const botOf = (b: RouteBot) => ({ id: b.userId, first_name: b.name, type: 'bot' });
const waiting = (person: object): PyrusApproval[] => [{ person, approval_choice: 'waiting' } as PyrusApproval];

/** A comment as a bot posted it (the request body the emulator received). */
interface BotComment {
  text: string;
  approval_choice?: string;
  approvals_rerequested?: Array<Array<{ id: number }>>;
  field_updates?: Array<{ code?: string; id?: number; value?: unknown }>;
}

/**
 * Issue 19's route, as a company builds it in Pyrus: 1 accountant -> 2 duplicate-check bot -> 3 head of department ->
 * 4 budget-check bot -> 5 CFO -> 6 payment-order bot -> 7 treasurer. Three bot accounts, each with its own login and
 * key; the people approve through the emulator's API, and the emulator sends each bot its webhook as the task reaches
 * its stage. What is checked is what a user sees: the comments, the votes and the step in Pyrus, the orders in the
 * ERP, the vendor's e-mail, and the task's row in the payment history.
 */
describe.each(RUNS)(
  'the payment route: three bots between four people, reply $reply (real Postgres, Redis, HTTP from the emulator)',
  ({ reply, firstTask: FIRST_TASK, lastTask: LAST_TASK, taxPrefix }) => {
    let service: ServiceUnderTest;
    let pyrus: PyrusEmulator;
    let api: INestApplication;
    let db: Client;
    let erp: FakeErp;
    let smtp: MailCapture;
    let nextTask = FIRST_TASK;
    const taxIds = freshTaxIds(taxPrefix);
    /** Every task this file made, for the history's check at the end. */
    const made: number[] = [];
    /** Tasks whose last bot was the budget check (it sent them back), not the payment order. */
    const stoppedByTheBudgetCheck = new Set<number>();

    beforeAll(async () => {
      erp = new FakeErp();
      await erp.start();
      smtp = await startMailCapture();

      service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK], {
        BOTS_FILE: routeBotsFile(reply),
        ERP_URL: erp.url,
        ERP_RETRIES: '0',
        ERP_BREAKER_THRESHOLD: '100',
        // The delayed order's follow-up keeps trying, every 300 ms at most, for longer than the test keeps the ERP down.
        FOLLOWUP_RETRY_MAX_DELAY_MS: '300',
        FOLLOWUP_PATIENCE_MS: '120000',
        SMTP_URL: smtp.url,
        SMTP_FROM: 'payments-bot@example.org',
      });
      ({ pyrus, api, db } = service);
      await new Promise<void>((done) => api.getHttpServer().listen(0, '127.0.0.1', done));
      const port = (api.getHttpServer().address() as AddressInfo).port;
      for (const bot of BOTS) {
        const webhookUrl = `http://127.0.0.1:${port}/bots/${bot.name}/webhook`;
        pyrus.addBot({ name: bot.name, login: `bot@test-${bot.name}`, securityKey: keyOf(bot), userId: bot.userId, webhookUrl });
      }
      for (const person of [ACCOUNTANT, HEAD, CFO, TREASURER]) {
        pyrus.addBot({
          name: person.name,
          login: `${person.name}@example.org`,
          securityKey: keyOf(person),
          userId: person.userId,
          firstName: person.firstName,
          type: 'user',
        });
      }
      pyrus.autoDeliver = true;
      // A webhook timeout of 3 s and retries 3 s / 6 s later: a slow answer on this shared machine is not sent twice.
      // Answering inline, the answer waits for the decision: 6 s and retries 6 s / 12 s later.
      pyrus.timeScale = reply === 'api' ? 0.05 : 0.1;
    });

    afterAll(async () => {
      await db?.query('DELETE FROM budget_limits WHERE scope_key = ANY($1::text[])', [taxIds.budgetKeys]);
      await service?.close();
      await erp?.stop();
      await smtp?.close();
    });

    // ------------------------------------------------------------------------------------------------ the route's parts

    /** A supplier of its own with a monthly budget of `limit` RUB, so the budget counts only this test's requests. */
    async function supplierWithBudget(limit: number, invoiceNo: string, amount: number): Promise<Invoice> {
      const inn = taxIds.next();
      await db.query(`INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ('supplier', $1, 'month', 'RUB', $2)`, [
        `tax:${inn}`,
        limit,
      ]);
      return { supplier: `Supplier ${inn}`, inn, invoiceNo, date: '2026-11-10', amount, currency: 'RUB' };
    }

    /** The invoice task on step 1, waiting for the accountant, with the whole route ahead of it. */
    function routedTask(invoice: Invoice): PyrusTask {
      const approvals = [
        waiting(personOf(ACCOUNTANT)),
        waiting(botOf(DUPLICATE_CHECK)),
        waiting(personOf(HEAD)),
        waiting(botOf(BUDGET_CHECK)),
        waiting(personOf(CFO)),
        waiting(botOf(PAYMENT_ORDER)),
        waiting(personOf(TREASURER)),
      ];
      const task = invoiceTask(nextTask++, invoice, { approvals, currentStep: 1 });
      task.author = personOf(ACCOUNTANT);
      task.comments = [{ id: task.id * 10, text: 'Please pay', author: personOf(ACCOUNTANT) }];
      task.fields!.push(
        { id: 7, type: 'email', code: 'vendor_email', name: 'Vendor e-mail', value: vendorOf(task.id) },
        { id: 8, type: 'text', code: 'erp_document', name: 'ERP document' },
      );
      pyrus.addTask(task);
      made.push(task.id);
      return task;
    }

    /** A person approves the current step in Pyrus, optionally changing fields in the same comment. */
    async function approves(person: Person, taskId: number, fieldUpdates?: Array<{ code: string; value: unknown }>): Promise<void> {
      const res = await fetch(`${pyrus.apiUrl}tasks/${taskId}/comments`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${pyrus.issueToken(person.name)}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: 'Approved', approval_choice: 'approved', ...(fieldUpdates ? { field_updates: fieldUpdates } : {}) }),
      });
      expect(res.status).toBe(200);
    }

    const commentsOf = (bot: RouteBot, taskId: number): BotComment[] =>
      pyrus.comments.filter((c) => c.taskId === taskId && c.bot === bot.name).map((c) => c.request as unknown as BotComment);

    /** The bot's `n`-th comment on the task (1 = its first), once it is there. */
    const nthComment = (bot: RouteBot, taskId: number, n: number) =>
      waitFor(`${bot.name}'s comment ${n} on task ${taskId}`, () => commentsOf(bot, taskId)[n - 1], 20_000);

    /** Waits until the task is open on `step` and that step waits for `person`; returns the task as Pyrus shows it. */
    const waitsFor = (person: Person, taskId: number, step: number) =>
      waitFor(
        `task ${taskId} to wait for ${person.name} on step ${step}`,
        () => {
          const task = pyrus.getTask(taskId)!;
          const onStep = task.current_step === step && !task.close_date;
          return onStep && task.approvals![step - 1].some((a) => a.person.id === person.userId && a.approval_choice === 'waiting')
            ? task
            : undefined;
        },
        20_000,
      );

    /** Each step's votes, as the task's approval sheet shows them. */
    const votes = (taskId: number) => pyrus.getTask(taskId)!.approvals!.map((step) => step[0].approval_choice);

    /** Who moved the task to which step, in order (a step back is a move too). */
    const moves = (taskId: number) =>
      pyrus
        .getTask(taskId)!
        .comments!.filter((c) => c.changed_step !== undefined)
        .map((c) => [c.author?.id, c.changed_step]);

    const paymentRows = async (taskId: number) =>
      (
        await db.query(
          `SELECT id, bot, status, invoice_number, amount, erp_document_id, decision_reason FROM payments WHERE task_id = $1`,
          [taskId],
        )
      ).rows;

    /** Each task's vendor has an address of its own, so a mail is known by its task (cases 1 and 2 share a supplier). */
    const vendorOf = (taskId: number) => `billing-${taskId}@vendor.example.com`;
    const mailsTo = (task: PyrusTask) => smtp.mails.filter((m) => m.includes(`To: ${vendorOf(task.id)}`));

    /** Steps 1 to 3: the accountant approves and the duplicate check lets the request through to the head. */
    async function throughTheDuplicateCheck(task: PyrusTask, nth = 1): Promise<BotComment> {
      await approves(ACCOUNTANT, task.id);
      const decision = await nthComment(DUPLICATE_CHECK, task.id, nth);
      expect(decision.approval_choice).toBe('approved');
      expect(decision.text).not.toContain('https://pyrus.com/t#id');
      await waitsFor(HEAD, task.id, 3);
      return decision;
    }

    /** Steps 3 to 5: the head approves and the budget check lets the request through to the CFO. */
    async function throughTheBudgetCheck(task: PyrusTask, nth = 1): Promise<BotComment> {
      await approves(HEAD, task.id);
      const decision = await nthComment(BUDGET_CHECK, task.id, nth);
      expect(decision.approval_choice).toBe('approved');
      await waitsFor(CFO, task.id, 5);
      return decision;
    }

    /**
     * Steps 5 to 7: the CFO approves, the payment-order bot creates the ERP order and, in one comment, gives its document
     * number and approves; the task then waits for the treasurer. Returns the document number.
     */
    async function cfoApproves(task: PyrusTask): Promise<string> {
      // Nothing reaches the ERP or the vendor before the CFO approved.
      await sleep(300);
      expect(erp.callsFor(task.id)).toEqual([]);
      expect(mailsTo(task)).toEqual([]);
      await approves(CFO, task.id);
      const decision = await nthComment(PAYMENT_ORDER, task.id, 1);
      await waitsFor(TREASURER, task.id, 7);
      const [documentId] = erp.ordersFor(task.id);
      expect(erp.ordersFor(task.id)).toEqual([documentId]);
      expect(decision.approval_choice).toBe('approved');
      expect(decision.text).toContain(documentId);
      expect(decision.field_updates).toEqual([{ code: 'erp_document', value: documentId }]);
      expect(commentsOf(PAYMENT_ORDER, task.id)).toHaveLength(1);
      return documentId;
    }

    /** The route's moves when nothing was sent back: each stage moved the task one step on, up to the treasurer. */
    const straightThrough = () => [
      [ACCOUNTANT.userId, 2],
      [DUPLICATE_CHECK.userId, 3],
      [HEAD.userId, 4],
      [BUDGET_CHECK.userId, 5],
      [CFO.userId, 6],
      [PAYMENT_ORDER.userId, 7],
    ];

    // ------------------------------------------------------------------------------------------------------- the cases

    let clean: { task: PyrusTask; invoice: Invoice };

    it('1. a clean invoice walks the whole route: both checks approve, one ERP order, the task ends with the treasurer', async () => {
      const invoice = await supplierWithBudget(100_000, 'INV-1001', 40_000);
      const task = routedTask(invoice);
      clean = { task, invoice };

      await throughTheDuplicateCheck(task);
      const budget = await throughTheBudgetCheck(task);
      expect(budget.text).toContain('limit 100 000.00 RUB, already approved 0.00, this request 40 000.00');

      const documentId = await cfoApproves(task);
      expect(moves(task.id)).toEqual(straightThrough());
      expect(commentsOf(DUPLICATE_CHECK, task.id)).toHaveLength(1);
      expect(commentsOf(BUDGET_CHECK, task.id)).toHaveLength(1);
      // Each bot's decision reached Pyrus one way: all three in the webhook's answer, or all three posted.
      const delivered = pyrus.comments.filter((c) => c.taskId === task.id && BOTS.some((b) => b.name === c.bot));
      expect(delivered.map((c) => [c.bot, Boolean(c.viaWebhookAnswer)])).toEqual(BOTS.map((b) => [b.name, reply === 'auto']));
      const calls = pyrus.calls.filter((c) => c.method === 'POST' && c.path === `/v4/tasks/${task.id}/comments` && c.bot !== undefined);
      expect(calls.filter((c) => BOTS.some((b) => b.name === c.bot))).toHaveLength(reply === 'auto' ? 0 : 3);
      const [row, ...more] = await paymentRows(task.id);
      expect(more).toEqual([]);
      expect(votes(task.id)).toEqual(['approved', 'approved', 'approved', 'approved', 'approved', 'approved', 'waiting']);
      expect(row).toMatchObject({ bot: PAYMENT_ORDER.name, status: 'approved', amount: '40000.00', erp_document_id: documentId });
      // The ERP order is keyed by the task's payment: one key, one order.
      expect(new Set(erp.callsFor(task.id).map((c) => c.idempotencyKey))).toEqual(new Set([row.id]));
      expect(erp.callsFor(task.id)[0].body).toMatchObject({
        taskId: task.id,
        amount: '40000.00',
        currency: 'RUB',
        invoiceNumber: 'INV-1001',
      });

      // The vendor hears of it once the approval is in Pyrus.
      const mail = await waitFor('the vendor e-mail', () => mailsTo(task)[0], 20_000);
      expect(mail).toContain('Subject: Invoice INV-1001 approved');
      await sleep(500);
      expect(mailsTo(task)).toHaveLength(1);
      expect(erp.ordersFor(task.id)).toEqual([documentId]);
    });

    it("2. an exact duplicate goes back to the accountant listing case 1's task; corrected, it is decided again and walks on", async () => {
      expect(clean).toBeDefined();
      const task = routedTask({ ...clean.invoice });

      await approves(ACCOUNTANT, task.id);
      const sentBack = await nthComment(DUPLICATE_CHECK, task.id, 1);
      expect(sentBack.approval_choice).toBeUndefined();
      expect(sentBack.text).toContain(`https://pyrus.com/t#id${clean.task.id}: same supplier and invoice number "INV-1001"`);
      expect(sentBack.text).toContain('Returned to step 1 (Anna Accountant).');
      await waitsFor(ACCOUNTANT, task.id, 1);
      expect(await paymentRows(task.id)).toMatchObject([{ bot: DUPLICATE_CHECK.name, status: 'rejected' }]);

      // The accountant had copied case 1's task: she puts in this invoice's own number and amount, and approves again.
      // The amount changes too, or the request would still be a probable duplicate (same supplier, amount and date).
      await approves(ACCOUNTANT, task.id, [
        { code: 'invoice_no', value: 'INV-1002' },
        { code: 'amount', value: 25_000 },
      ]);
      const again = await nthComment(DUPLICATE_CHECK, task.id, 2);
      expect(again.approval_choice).toBe('approved');
      expect(again.text).not.toContain('https://pyrus.com/t#id');
      await waitsFor(HEAD, task.id, 3);

      const budget = await throughTheBudgetCheck(task);
      // Case 1's approved request counts against the supplier's month; this one is the corrected amount.
      expect(budget.text).toContain('limit 100 000.00 RUB, already approved 40 000.00, this request 25 000.00');
      await cfoApproves(task);

      expect(moves(task.id)).toEqual([[ACCOUNTANT.userId, 2], [DUPLICATE_CHECK.userId, 1], ...straightThrough()]);
      expect(commentsOf(DUPLICATE_CHECK, task.id)).toHaveLength(2);
      expect(commentsOf(BUDGET_CHECK, task.id)).toHaveLength(1);
      const [row, ...more] = await paymentRows(task.id);
      expect(more).toEqual([]);
      expect(row).toMatchObject({ status: 'approved', invoice_number: 'INV-1002', amount: '25000.00' });
    });

    it('3. over budget: back to the head with the excess; approved unchanged it comes back again; a raised limit lets it pass', async () => {
      const invoice = await supplierWithBudget(1_000, 'OB-1', 1_500);
      const task = routedTask(invoice);
      await throughTheDuplicateCheck(task);

      await approves(HEAD, task.id);
      const first = await nthComment(BUDGET_CHECK, task.id, 1);
      expect(first.approval_choice).toBeUndefined();
      expect(first.text).toContain('limit 1 000.00 RUB, already approved 0.00, this request 1 500.00; over by 500.00 RUB');
      // The nearest earlier step with a person on it: the head's, not the duplicate-check bot's.
      expect(first.text).toContain('Returned to step 3 (Hugo Head).');
      await waitsFor(HEAD, task.id, 3);
      expect(votes(task.id).slice(0, 2)).toEqual(['approved', 'approved']);
      expect(await paymentRows(task.id)).toMatchObject([{ status: 'rejected', decision_reason: expect.stringContaining('500') }]);

      // The head approves again without changing anything: the same answer.
      await approves(HEAD, task.id);
      const second = await nthComment(BUDGET_CHECK, task.id, 2);
      expect(second.approval_choice).toBeUndefined();
      expect(second.text).toContain('over by 500.00 RUB');
      expect(second.text).toContain('Returned to step 3 (Hugo Head).');
      await waitsFor(HEAD, task.id, 3);

      // The limit is raised; the head approves once more and the request passes.
      await db.query(`UPDATE budget_limits SET amount = 2000 WHERE scope_key = $1`, [`tax:${invoice.inn}`]);
      const passed = await throughTheBudgetCheck(task, 3);
      expect(passed.text).toContain('limit 2 000.00 RUB, already approved 0.00, this request 1 500.00');
      await cfoApproves(task);

      expect(commentsOf(DUPLICATE_CHECK, task.id)).toHaveLength(1);
      expect(commentsOf(BUDGET_CHECK, task.id)).toHaveLength(3);
      const back = [
        [HEAD.userId, 4],
        [BUDGET_CHECK.userId, 3],
      ];
      const [, , ...fromHead] = straightThrough();
      expect(moves(task.id)).toEqual([[ACCOUNTANT.userId, 2], [DUPLICATE_CHECK.userId, 3], ...back, ...back, ...fromHead]);
      const [row, ...more] = await paymentRows(task.id);
      expect(more).toEqual([]);
      expect(row).toMatchObject({ status: 'approved', amount: '1500.00' });
    });

    it('3b. over budget, then the head lowers the amount: decided on the new amount, it passes', async () => {
      const invoice = await supplierWithBudget(1_000, 'OB-2', 1_500);
      const task = routedTask(invoice);
      await throughTheDuplicateCheck(task);
      await approves(HEAD, task.id);
      expect((await nthComment(BUDGET_CHECK, task.id, 1)).text).toContain('over by 500.00 RUB');
      await waitsFor(HEAD, task.id, 3);

      await approves(HEAD, task.id, [{ code: 'amount', value: 900 }]);
      const passed = await nthComment(BUDGET_CHECK, task.id, 2);
      expect(passed.approval_choice).toBe('approved');
      expect(passed.text).toContain('limit 1 000.00 RUB, already approved 0.00, this request 900.00');
      await waitsFor(CFO, task.id, 5);
      await cfoApproves(task);
      expect(await paymentRows(task.id)).toMatchObject([{ status: 'approved', amount: '900.00' }]);
    });

    it('3c. the CFO raises the amount after the budget check: no order; back to the head, and the budget check stops it', async () => {
      const invoice = await supplierWithBudget(1_000, 'OB-3', 900);
      const task = routedTask(invoice);
      await throughTheDuplicateCheck(task);
      await throughTheBudgetCheck(task);

      await approves(CFO, task.id, [{ code: 'amount', value: 5_000 }]);
      const back = await nthComment(PAYMENT_ORDER, task.id, 1);
      expect(back.approval_choice).toBeUndefined();
      expect(back.text).toContain('The amount (approved for 900.00, now 5 000.00) changed after the budget was approved');
      expect(back.text).toContain('Returned to step 3 (Hugo Head).');
      // The head, the budget check and the CFO are asked again, so the request walks through the budget check anew.
      expect(back.approvals_rerequested).toEqual([[], [], [{ id: HEAD.userId }], [{ id: BUDGET_CHECK.userId }], [{ id: CFO.userId }]]);
      await waitsFor(HEAD, task.id, 3);
      expect(erp.callsFor(task.id)).toEqual([]);
      // The approval no longer holds budget for figures nobody checked.
      expect(await paymentRows(task.id)).toMatchObject([{ status: 'pending', amount: '5000.00' }]);

      await approves(HEAD, task.id);
      expect((await nthComment(BUDGET_CHECK, task.id, 2)).text).toContain('this request 5 000.00; over by 4 000.00 RUB');
      await waitsFor(HEAD, task.id, 3);
      expect(erp.callsFor(task.id)).toEqual([]);
      expect(await paymentRows(task.id)).toMatchObject([{ status: 'rejected', amount: '5000.00' }]);
      stoppedByTheBudgetCheck.add(task.id);
    });

    it('4. the ERP down at the payment order: one "delayed" comment and the vote kept; ERP back: one order, then the approval', async () => {
      const invoice = await supplierWithBudget(100_000, 'ERP-1', 3_000);
      const task = routedTask(invoice);
      await throughTheDuplicateCheck(task);
      await throughTheBudgetCheck(task);

      erp.failing = 1_000_000;
      try {
        await approves(CFO, task.id);
        const delayed = await nthComment(PAYMENT_ORDER, task.id, 1);
        expect(delayed.text).toMatch(/delayed/);
        expect(delayed.approval_choice).toBeUndefined();
        // However often the order is tried meanwhile: no second notice, no vote, the task stays on the bot's step.
        await waitFor('the ERP to be tried', () => erp.callsFor(task.id).length > 0);
        await sleep(2000);
        expect(commentsOf(PAYMENT_ORDER, task.id)).toEqual([delayed]);
        const stillWaiting = pyrus.getTask(task.id)!;
        expect(stillWaiting.current_step).toBe(6);
        expect(votes(task.id)[5]).toBe('waiting');
        expect(erp.callsFor(task.id).every((c) => c.status === 503)).toBe(true);
        expect(mailsTo(task)).toEqual([]);
      } finally {
        erp.failing = 0;
      }

      // The ERP is back: the follow-up, still trying, makes the order and has the task decided again. No one steps in.
      const approved = await waitFor(
        'the approval with the document number',
        () => commentsOf(PAYMENT_ORDER, task.id).find((c) => c.approval_choice === 'approved'),
        30_000,
      );
      await waitsFor(TREASURER, task.id, 7);
      const orders = erp.ordersFor(task.id);
      expect(orders).toHaveLength(1);
      expect(approved.text).toContain(orders[0]);
      expect(approved.field_updates).toEqual([{ code: 'erp_document', value: orders[0] }]);
      const texts = commentsOf(PAYMENT_ORDER, task.id).map((c) => [c.approval_choice ?? null, /delayed/.test(c.text)]);
      expect(texts).toEqual([
        [null, true],
        ['approved', false],
      ]);
      await waitFor('the vendor e-mail', () => mailsTo(task)[0], 20_000);

      // Later runs of anything left over make no second order and no second comment.
      await sleep(1500);
      expect(erp.ordersFor(task.id)).toEqual(orders);
      expect(erp.callsFor(task.id).filter((c) => c.status === 201)).toHaveLength(1);
      expect(commentsOf(PAYMENT_ORDER, task.id)).toHaveLength(2);
      expect(mailsTo(task)).toHaveLength(1);
      const [row, ...more] = await paymentRows(task.id);
      expect(more).toEqual([]);
      expect(row).toMatchObject({ bot: PAYMENT_ORDER.name, status: 'approved', erp_document_id: orders[0] });
    });

    it('5. the history holds one payments row per invoice task, whichever bots saw it, with its latest fields', async () => {
      const { rows } = await db.query(
        `SELECT task_id::int AS task_id, count(*)::int AS n FROM payments WHERE task_id BETWEEN $1 AND $2 GROUP BY task_id ORDER BY task_id`,
        [FIRST_TASK, LAST_TASK],
      );
      expect(rows).toEqual(made.map((taskId) => ({ task_id: taskId, n: 1 })));
      for (const taskId of made) {
        const [row] = await paymentRows(taskId);
        const field = (code: string) => pyrus.getTask(taskId)!.fields!.find((f) => f.code === code)!.value;
        expect(row.invoice_number).toBe(field('invoice_no'));
        expect(Number(row.amount)).toBe(Number(field('amount')));
        // The route's last bot to write the row: the payment-order bot, except where the budget check stopped the task.
        expect(row.bot).toBe(stoppedByTheBudgetCheck.has(taskId) ? BUDGET_CHECK.name : PAYMENT_ORDER.name);
      }
    });
  },
);
