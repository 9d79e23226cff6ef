import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { FormRegisterRequest, PyrusApproval, PyrusClient, PyrusTask } from '@app/pyrus';
import { MetricsService } from '@app/observability';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { CommandsModule } from '../apps/worker/src/commands/commands.module';
import { REGISTER_OVERLAP_MS, REGISTER_PAGE, RegisterSync } from '../apps/worker/src/registers/register-sync';
import { clearTaskRange, startApi, startWorker, testDb, testEnv, waitFor } from './support/stack';
import { Invoice, invoiceTask as makeInvoiceTask } from './support/invoice-task';
import { addPaymentBotsTo, deliverTo, freshTaxIds, PaymentBot, paymentBotsFile } from './support/payment-bots';
import { MANAGER_USER_ID, startTestEmulator } from './support/test-emulator';

/** This file's task ids and forms; other files share the database, so it touches only these. */
const FIRST_TASK = 950_000;
const LAST_TASK = 950_999;
/** The form whose register the worker copies. */
const COPIED_FORM = 2950;
/** A form configured for a copy that does not exist in Pyrus when the worker starts: its sync fails. */
const UNCOPIED_FORM = 2951;
/** A register longer than one read (20 000 tasks): its own form, and task ids of its own (never decided). */
const LONG_FORM = 2953;
const LONG_FIRST_TASK = 192_500_000;

const COPIED: PaymentBot = {
  name: 'dup-copied',
  userId: 950_001,
  handler: 'duplicate-check',
  settings: { formId: COPIED_FORM, returnTo: 'reject', duplicateWindowDays: 10 },
};
const UNCOPIED: PaymentBot = {
  name: 'dup-uncopied',
  userId: 950_002,
  handler: 'duplicate-check',
  settings: { formId: UNCOPIED_FORM, returnTo: 'reject' },
};

const MANAGER = { id: MANAGER_USER_ID, type: 'user' };
const approved = (person: object): PyrusApproval => ({ person, approval_choice: 'approved' }) as PyrusApproval;
const rejected = (person: object): PyrusApproval => ({ person, approval_choice: 'rejected' }) as PyrusApproval;
const waiting = (person: object): PyrusApproval => ({ person, approval_choice: 'waiting' }) as PyrusApproval;

/**
 * The local register copy (issue 20): the worker copies a payment form's register into PostgreSQL (a full pass at
 * start, then the tasks modified since), and the duplicate check reads the copy instead of searching Pyrus; a form
 * without a fresh copy is searched as before. Real PostgreSQL, Redis and the emulator's HTTP register.
 */
describe('register copy (real Postgres, Redis, the emulator)', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let nextTask = FIRST_TASK;
  const taxIds = freshTaxIds('73');
  const registerRequests: Array<{ formId: number; request?: FormRegisterRequest }> = [];
  let env: Record<string, string>;

  /** A task of `formId` in Pyrus only (a request the bots never saw): by default a manager approved it and it is done. */
  function registerTask(formId: number, invoice: Invoice, approvals: PyrusApproval[][] = [[approved(MANAGER)]]): PyrusTask {
    const task = { ...makeInvoiceTask(nextTask++, invoice, { approvals, currentStep: 1 }), form_id: formId };
    pyrus.addTask(structuredClone(task));
    return task;
  }

  /** A request at step 2 waiting for `bot`, after the manager's approval. */
  function requestFor(bot: PaymentBot, invoice: Invoice): PyrusTask {
    const task = {
      ...makeInvoiceTask(nextTask++, invoice, {
        approvals: [[approved(MANAGER)], [waiting({ id: bot.userId, type: 'bot' })]],
        currentStep: 2,
      }),
      form_id: bot.settings.formId as number,
    };
    pyrus.addTask(structuredClone(task));
    return task;
  }

  const decided = (taskId: number, bot: PaymentBot) =>
    waitFor(
      `the decision of ${bot.name} on ${taskId}`,
      () => pyrus.comments.find((c) => c.taskId === taskId && c.bot === bot.name)?.request as Record<string, any> | undefined,
    );
  const registerCalls = (formId: number) => pyrus.calls.filter((c) => c.path === `/v4/forms/${formId}/register`).length;
  const copyOf = async (formId: number) =>
    (
      await db.query(
        `SELECT task_id::int, supplier_key, invoice_number_norm, amount::text, currency, to_char(invoice_date, 'YYYY-MM-DD') AS invoice_date, rejected
           FROM register_invoices WHERE form_id = $1 ORDER BY task_id`,
        [formId],
      )
    ).rows;
  const syncState = async (formId: number) =>
    (await db.query('SELECT bot, synced_as_of, full_pass_at, last_error FROM register_syncs WHERE form_id = $1', [formId])).rows[0];

  // Made before the worker starts: its first pass copies them.
  let supplierA: string;
  let first: PyrusTask;
  let rejectedOne: PyrusTask;

  beforeAll(async () => {
    pyrus = await startTestEmulator();
    db = await testDb();
    await clearTaskRange(db, FIRST_TASK, LAST_TASK);
    await db.query('DELETE FROM register_invoices WHERE form_id = ANY($1::bigint[])', [[COPIED_FORM, UNCOPIED_FORM, LONG_FORM]]);
    await db.query('DELETE FROM register_syncs WHERE form_id = ANY($1::bigint[])', [[COPIED_FORM, UNCOPIED_FORM, LONG_FORM]]);
    const bots = [COPIED, UNCOPIED];
    addPaymentBotsTo(pyrus, bots);
    supplierA = taxIds.next();
    first = registerTask(COPIED_FORM, {
      supplier: 'ООО «Луч»',
      inn: supplierA,
      invoiceNo: 'R-2024/1',
      date: '2024-03-01',
      amount: 500,
      currency: 'RUB',
    });
    // Paid and closed: the copy holds closed requests too.
    pyrus.addTask({ ...pyrus.getTask(first.id)!, close_date: '2024-03-20T10:00:00Z' });
    rejectedOne = registerTask(
      COPIED_FORM,
      { supplier: 'ООО «Луч»', inn: supplierA, invoiceNo: 'R-2024/9', date: '2024-04-03', amount: 1200, currency: 'RUB' },
      [[rejected(MANAGER)]],
    );
    registerTask(COPIED_FORM, { supplier: 'ООО «Луч»', inn: supplierA, date: '2024-03-03', amount: 700, currency: 'RUB' }); // no invoice number
    env = testEnv({
      PYRUS_AUTH_URL: pyrus.authUrl,
      PYRUS_API_URL: pyrus.apiUrl,
      BOTS_FILE: paymentBotsFile(bots),
      // The test runs the incremental passes itself; the pass at start is the worker's own.
      REGISTER_SYNC_INTERVAL_MS: '3600000',
    });
    api = await startApi(env);
    worker = await startWorker(env);
    const client = worker.get(PyrusClient);
    const read = client.getFormRegister.bind(client);
    // Only watches what the sync asks: the call still goes to the emulator.
    jest.spyOn(client, 'getFormRegister').mockImplementation((caller, formId, request) => {
      registerRequests.push({ formId, request });
      return read(caller, formId, request);
    });
  });

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await db?.end();
    await pyrus?.stop();
  });

  it('copies the register whole at the worker start, as the first bot with the form: invoices normalised, rejected ones marked, incomplete ones left out', async () => {
    const state = await waitFor('the first pass', async () =>
      (await syncState(COPIED_FORM))?.full_pass_at ? syncState(COPIED_FORM) : undefined,
    );
    expect(state).toMatchObject({ bot: COPIED.name, last_error: null });
    expect(await copyOf(COPIED_FORM)).toEqual([
      {
        task_id: first.id,
        supplier_key: `tax:${supplierA}`,
        invoice_number_norm: 'R20241',
        amount: '500.00',
        currency: 'RUB',
        invoice_date: '2024-03-01',
        rejected: false,
      },
      expect.objectContaining({ task_id: rejectedOne.id, rejected: true }),
    ]);
    // The form that does not exist yet: the pass failed, and says why.
    const failed = await waitFor('the failed pass', async () => (await syncState(UNCOPIED_FORM))?.last_error as string | undefined);
    expect(failed).toMatch(/403|access_denied_form|not found/i);
    expect((await syncState(UNCOPIED_FORM)).full_pass_at).toBeNull();
    // No age for a copy never made.
    expect(await worker.get(MetricsService).metrics()).not.toContain(`pyrus_bots_register_copy_age_seconds{form="${UNCOPIED_FORM}"}`);
  });

  it('then reads only what changed since the last pass (modified_after), picking up a changed and a new task', async () => {
    const before = await syncState(COPIED_FORM);
    pyrus.addTask({
      ...pyrus.getTask(first.id)!,
      fields: makeInvoiceTask(first.id, {
        supplier: 'ООО «Луч»',
        inn: supplierA,
        invoiceNo: 'R-2024/1',
        date: '2024-03-01',
        amount: 550,
        currency: 'RUB',
      }).fields,
    });
    const added = registerTask(COPIED_FORM, {
      supplier: 'ооо "Луч"',
      inn: supplierA,
      invoiceNo: 'R-2024/2',
      date: '2024-04-01',
      amount: 1200,
      currency: 'RUB',
    });
    registerRequests.length = 0;

    const result = await worker.get(RegisterSync).syncAll();
    expect(result.ran).toBe(true);
    expect(result.forms.find((f) => f.formId === COPIED_FORM)).toEqual({
      formId: COPIED_FORM,
      bot: COPIED.name,
      full: false,
      read: expect.any(Number),
    });
    const asked = registerRequests.find((r) => r.formId === COPIED_FORM)?.request;
    expect(asked).toMatchObject({ include_archived: 'y', modified_after: expect.any(String) });
    // From the start of the last pass, less the overlap, to the second.
    expect(Math.abs(Date.parse(asked!.modified_after!) - (before.synced_as_of.getTime() - REGISTER_OVERLAP_MS))).toBeLessThan(1000);

    const copy = await copyOf(COPIED_FORM);
    expect(copy.find((r) => r.task_id === first.id)).toMatchObject({ amount: '550.00' });
    expect(copy.find((r) => r.task_id === added.id)).toMatchObject({
      supplier_key: `tax:${supplierA}`,
      invoice_number_norm: 'R20242',
      amount: '1200.00',
    });
    const after = await syncState(COPIED_FORM);
    expect(after.synced_as_of.getTime()).toBeGreaterThan(before.synced_as_of.getTime());
    expect(after.full_pass_at).toEqual(before.full_pass_at);
  });

  it('finds duplicates that only the register holds from the copy, with no register call at decision time', async () => {
    await worker.get(RegisterSync).syncAll();
    const callsBefore = registerCalls(COPIED_FORM);
    // The same invoice as `first` written another way (exact), and the same amount as the new one 5 days on (probable);
    // the rejected R-2024/9, of the same amount 3 days apart, does not count.
    const task = requestFor(COPIED, {
      supplier: 'ООО "Луч"',
      inn: supplierA,
      invoiceNo: 'r 2024 1',
      date: '2024-04-06',
      amount: 1200,
      currency: 'RUB',
    });
    await deliverTo(api, pyrus, COPIED, task);
    const decision = await decided(task.id, COPIED);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${first.id}: same supplier and invoice number "R-2024/1" (in the register)`);
    expect(decision.text).toMatch(/same supplier, amount 1 200.00 RUB, invoice date 2024-04-01 \(in the register\)/);
    expect(decision.text).not.toContain(String(rejectedOne.id));
    expect(registerCalls(COPIED_FORM)).toBe(callsBefore);

    // A clean invoice of the same supplier passes, still without a register call.
    const clean = requestFor(COPIED, {
      supplier: 'ООО «Луч»',
      inn: supplierA,
      invoiceNo: 'R-2024/77',
      date: '2025-01-10',
      amount: 10,
      currency: 'RUB',
    });
    await deliverTo(api, pyrus, COPIED, clean);
    expect(await decided(clean.id, COPIED)).toMatchObject({ approval_choice: 'approved' });
    expect(registerCalls(COPIED_FORM)).toBe(callsBefore);
  });

  it('leaves out a register task the payment history already holds (the history reports it)', async () => {
    const inn = taxIds.next();
    const seen = requestFor(COPIED, { supplier: 'Acme', inn, invoiceNo: 'H-1', date: '2024-05-01', amount: 300, currency: 'RUB' });
    await deliverTo(api, pyrus, COPIED, seen);
    expect(await decided(seen.id, COPIED)).toMatchObject({ approval_choice: 'approved' });
    await worker.get(RegisterSync).syncAll();
    expect((await copyOf(COPIED_FORM)).some((r) => r.task_id === seen.id)).toBe(true);
    const again = requestFor(COPIED, { supplier: 'Acme', inn, invoiceNo: 'H 1', date: '2024-05-02', amount: 301, currency: 'RUB' });
    await deliverTo(api, pyrus, COPIED, again);
    const decision = await decided(again.id, COPIED);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${seen.id}: same supplier and invoice number "H-1" (pending)`);
    expect(decision.text).not.toContain('(in the register)');
  });

  it('searches the register as before for a form whose copy was never made, or is too old; closed requests count there too', async () => {
    const inn = taxIds.next();
    // Paid last year and closed.
    const old = registerTask(UNCOPIED_FORM, {
      supplier: 'Soylent',
      inn,
      invoiceNo: 'S/2023/5',
      date: '2023-12-01',
      amount: 777,
      currency: 'RUB',
    });
    pyrus.addTask({ ...pyrus.getTask(old.id)!, close_date: '2024-01-15T10:00:00Z' });
    const callsBefore = registerCalls(UNCOPIED_FORM);
    const task = requestFor(UNCOPIED, {
      supplier: 'Soylent',
      inn,
      invoiceNo: 's-2023-5',
      date: '2024-02-01',
      amount: 780,
      currency: 'RUB',
    });
    await deliverTo(api, pyrus, UNCOPIED, task);
    const decision = await decided(task.id, UNCOPIED);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${old.id}: same supplier and invoice number "S/2023/5" (in the register)`);
    expect(registerCalls(UNCOPIED_FORM)).toBeGreaterThan(callsBefore);

    // A copy whose last pass is hours old is not trusted either: a register-only duplicate made since is still found.
    await db.query(`UPDATE register_syncs SET synced_as_of = now() - interval '1 day' WHERE form_id = $1`, [COPIED_FORM]);
    const inn2 = taxIds.next();
    const since = registerTask(COPIED_FORM, {
      supplier: 'Initech',
      inn: inn2,
      invoiceNo: 'I-5',
      date: '2024-06-01',
      amount: 50,
      currency: 'RUB',
    });
    const copiedCalls = registerCalls(COPIED_FORM);
    const request = requestFor(COPIED, {
      supplier: 'Initech',
      inn: inn2,
      invoiceNo: 'i5',
      date: '2024-06-03',
      amount: 51,
      currency: 'RUB',
    });
    await deliverTo(api, pyrus, COPIED, request);
    expect((await decided(request.id, COPIED)).text).toContain(
      `https://pyrus.com/t#id${since.id}: same supplier and invoice number "I-5" (in the register)`,
    );
    expect(registerCalls(COPIED_FORM)).toBeGreaterThan(copiedCalls);
  });

  it('makes a full pass on demand (npm run register:sync), and not while a worker is syncing', async () => {
    const commands = await NestFactory.createApplicationContext(CommandsModule.forRoot(env), { logger: false });
    try {
      const before = await syncState(COPIED_FORM);
      // Gone from the form's register (as a deleted task is): only a full pass can tell.
      pyrus.addTask({ ...pyrus.getTask(rejectedOne.id)!, form_id: 2952 });
      await worker.get(RegisterSync).syncAll();
      expect((await copyOf(COPIED_FORM)).some((r) => r.task_id === rejectedOne.id)).toBe(true);
      const result = await commands.get(RegisterSync).syncAll({ full: true, formId: COPIED_FORM });
      expect(result).toEqual({ ran: true, forms: [{ formId: COPIED_FORM, bot: COPIED.name, full: true, read: expect.any(Number) }] });
      expect((await syncState(COPIED_FORM)).full_pass_at.getTime()).toBeGreaterThan(before.full_pass_at.getTime());
      expect((await copyOf(COPIED_FORM)).some((r) => r.task_id === rejectedOne.id)).toBe(false);
      expect((await copyOf(COPIED_FORM)).some((r) => r.task_id === first.id)).toBe(true);
      // The sync's advisory lock held elsewhere (a worker in the middle of a pass): the command does nothing.
      await db.query('SELECT pg_advisory_lock(727004)');
      try {
        expect(await commands.get(RegisterSync).syncAll({ full: true })).toEqual({ ran: false, forms: [] });
      } finally {
        await db.query('SELECT pg_advisory_unlock(727004)');
      }
    } finally {
      await commands.close();
    }
  });

  it('reads a register longer than one call (20 000 tasks) whole, going on after the last task id', async () => {
    const count = REGISTER_PAGE + 5;
    for (let i = 0; i < count; i += 1) {
      const task = makeInvoiceTask(LONG_FIRST_TASK + i, {
        supplier: 'Bulk',
        inn: '7300000000',
        invoiceNo: `B-${i}`,
        date: '2024-01-01',
        amount: i + 1,
        currency: 'RUB',
      });
      pyrus.addTask({ ...task, form_id: LONG_FORM, comments: [] });
    }
    const bot: PaymentBot = { ...COPIED, settings: { ...COPIED.settings, formId: LONG_FORM } };
    const commands = await NestFactory.createApplicationContext(CommandsModule.forRoot({ ...env, BOTS_FILE: paymentBotsFile([bot]) }), {
      logger: false,
    });
    try {
      const calls = registerCalls(LONG_FORM);
      const result = await commands.get(RegisterSync).syncAll({ full: true });
      expect(result.forms).toEqual([{ formId: LONG_FORM, bot: bot.name, full: true, read: count }]);
      expect(registerCalls(LONG_FORM) - calls).toBe(2);
      const { rows } = await db.query('SELECT count(*)::int AS n, max(task_id)::int AS last FROM register_invoices WHERE form_id = $1', [
        LONG_FORM,
      ]);
      expect(rows[0]).toEqual({ n: count, last: LONG_FIRST_TASK + count - 1 });
    } finally {
      await commands.close();
    }
  }, 60_000);

  it("reports each copy's age as a gauge", async () => {
    await worker.get(RegisterSync).syncAll();
    const text = await worker.get(MetricsService).metrics();
    const age = new RegExp(`pyrus_bots_register_copy_age_seconds\\{form="${COPIED_FORM}"\\} ([0-9.e+-]+)`).exec(text);
    expect(age).not.toBeNull();
    expect(Number(age![1])).toBeGreaterThanOrEqual(0);
    expect(Number(age![1])).toBeLessThan(60);
  });
});
