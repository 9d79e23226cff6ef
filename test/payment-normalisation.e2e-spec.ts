import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { normaliseInvoiceNumber, normaliseName } from '@app/bots';
import { buildDataSourceOptions } from '@app/database';
import { PyrusTask } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { RenormalisePaymentKeys1796100000000 } from '../libs/database/src/migrations/1796100000000-RenormalisePaymentKeys';
import { sendSigned, ServiceUnderTest, startServiceWithEmulator, waitFor } from './support/stack';
import { Invoice, invoiceTask as makeInvoiceTask } from './support/invoice-task';
import { PAYMENTS_BOT_USER_ID } from './support/test-emulator';
import { TEST_DATABASE_URL } from './support/test-env';
import { freshTaxIds } from './support/payment-bots';

const KEY = 'payments-key';
const FIRST_TASK = 920000;
const LAST_TASK = 929999;

/**
 * Duplicates typed another way: the supplier's name with other quotes, dashes, case or spacing, the tax id with
 * spaces, the invoice number with other separators. Found in the payment history and in the form register (the
 * emulator's register compares values as Pyrus does: as typed).
 */
describe('payment bot: duplicates despite the spelling', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let db: Client;
  let service: ServiceUnderTest;
  let nextTask = FIRST_TASK;
  const taxIds = freshTaxIds('79', 2);
  const runTag = taxIds.runTag;

  /** A tax id no other test (or earlier run) uses, so the history holds only what this test made. */
  const freshInn = () => taxIds.next();
  /** The same tax id as people type it too: "7912 345 601". */
  const spaced = (inn: string) => `${inn.slice(0, 4)} ${inn.slice(4, 7)} ${inn.slice(7)}`;
  /** A supplier name no other test (or earlier run) uses. */
  const tag = () => `${runTag}${nextTask}`;

  function invoiceTask(invoice: Invoice): PyrusTask {
    const task = makeInvoiceTask(nextTask++, invoice);
    pyrus.addTask(structuredClone(task));
    return task;
  }

  function deliver(task: PyrusTask) {
    const body = JSON.stringify({
      event: 'comment',
      access_token: pyrus.issueToken('payments'),
      task_id: task.id,
      user_id: PAYMENTS_BOT_USER_ID,
      task,
    });
    return sendSigned(api, 'payments', body, KEY).expect(200);
  }

  const decided = (taskId: number) =>
    waitFor(
      `the decision on ${taskId}`,
      () => pyrus.comments.find((c) => c.taskId === taskId && c.bot === 'payments')?.request as Record<string, any> | undefined,
    );

  beforeAll(async () => {
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK]);
    ({ pyrus, api, db } = service);
  });

  afterAll(() => service?.close());

  it('finds in the history a supplier without a tax id, and its invoice, typed with other quotes, dashes and case', async () => {
    const name = tag();
    const first = invoiceTask({
      supplier: `ООО „Луч–Сервис ${name}“`,
      invoiceNo: 'СЧ—15/2024',
      date: '2024-03-05',
      amount: 1000,
      currency: 'RUB',
    });
    await deliver(first);
    expect((await decided(first.id)).approval_choice).toBe('approved');
    // Another amount and a date outside the window: only the history can know the first request.
    const again = invoiceTask({
      supplier: `ооо  "луч-сервис ${name}"`,
      invoiceNo: 'сч 15 2024',
      date: '2024-04-20',
      amount: 1100,
      currency: 'RUB',
    });
    await deliver(again);
    const decision = await decided(again.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${first.id}: same supplier and invoice number "СЧ—15/2024" (approved)`);
    const { rows } = await db.query(
      'SELECT task_id, supplier_key, invoice_number_norm FROM payments WHERE task_id = ANY($1::bigint[]) ORDER BY task_id',
      [[first.id, again.id]],
    );
    expect(rows.map((r) => [r.supplier_key, r.invoice_number_norm])).toEqual([
      [`name:ооо луч сервис ${name}`, 'СЧ152024'],
      [`name:ооо луч сервис ${name}`, 'СЧ152024'],
    ]);
  });

  it('finds in the history a supplier whose tax id is typed with spaces', async () => {
    const inn = freshInn();
    const first = invoiceTask({ supplier: 'ООО «Луч»', inn, invoiceNo: 'Л-1', date: '2024-03-05', amount: 2000, currency: 'RUB' });
    await deliver(first);
    expect((await decided(first.id)).approval_choice).toBe('approved');
    const again = invoiceTask({
      supplier: 'ООО "Луч"',
      inn: spaced(inn),
      invoiceNo: 'л 1',
      date: '2024-05-05',
      amount: 2100,
      currency: 'RUB',
    });
    await deliver(again);
    const decision = await decided(again.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${first.id}: same supplier and invoice number "Л-1" (approved)`);
  });

  it('finds in the register a request whose supplier and tax id were typed another way, by the tax id', async () => {
    const inn = freshInn();
    // Approved by hand before the bot: in Pyrus's register, not in the history.
    const old = invoiceTask({ supplier: 'ООО «Луч»', inn, invoiceNo: 'Л-100', date: '2024-05-01', amount: 5000, currency: 'RUB' });
    // Another amount and a date outside the window: only the search by tax id can find the old one.
    const task = invoiceTask({
      supplier: 'ООО "Луч"',
      inn: spaced(inn),
      invoiceNo: 'л 100',
      date: '2024-08-01',
      amount: 5100,
      currency: 'RUB',
    });
    await deliver(task);
    const decision = await decided(task.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${old.id}: same supplier and invoice number "Л-100" (in the register)`);
  });

  it('finds in the register a request whose supplier name was typed another way, by its amount and date', async () => {
    const name = tag();
    const old = invoiceTask({
      supplier: `ООО «Вектор-М ${name}»`,
      invoiceNo: '77/1',
      date: '2024-06-10',
      amount: 12345.67,
      currency: 'RUB',
    });
    // No tax id, and a name the register's prefix match cannot find: the search by amount and invoice dates does.
    const task = invoiceTask({
      supplier: `ООО “Вектор – М ${name}”`,
      invoiceNo: '77-1',
      date: '2024-06-12',
      amount: 12345.67,
      currency: 'RUB',
    });
    await deliver(task);
    const decision = await decided(task.id);
    expect(decision.approval_choice).toBe('rejected');
    expect(decision.text).toContain(`https://pyrus.com/t#id${old.id}: same supplier and invoice number "77/1" (in the register)`);
  });

  it('does not take another supplier of the same amount and date in the register for a duplicate', async () => {
    const name = tag();
    invoiceTask({ supplier: `ООО «Вектор ${name}»`, invoiceNo: '88/1', date: '2024-07-10', amount: 4444, currency: 'RUB' });
    const task = invoiceTask({
      supplier: `ООО «Вектор-Плюс ${name}»`,
      invoiceNo: '88/1',
      date: '2024-07-10',
      amount: 4444,
      currency: 'RUB',
    });
    await deliver(task);
    expect((await decided(task.id)).approval_choice).toBe('approved');
  });

  describe('history rows keyed by the earlier rules', () => {
    let dataSource: DataSource;

    beforeAll(async () => {
      dataSource = await new DataSource(buildDataSourceOptions(TEST_DATABASE_URL, {}, 1)).initialize();
    });

    afterAll(() => dataSource?.destroy());

    async function renormalise(): Promise<void> {
      const runner = dataSource.createQueryRunner();
      try {
        await new RenormalisePaymentKeys1796100000000().up(runner);
      } finally {
        await runner.release();
      }
    }

    it('are re-keyed by the migration as the bot keys them now', async () => {
      const names = ['ООО „Заря“', 'ООО “Заря”', 'ООО ‹Заря›', 'Заря—Юг', 'Заря − Юг', 'ЗАРЯ\u200B ЮГ', 'ООО ‘Заря’'];
      const numbers = ['З–7', 'З—7', 'З‑7', '«З-7»', 'З\u00A07', 'з−7', '№ З_7'];
      const rows = names.map((name, i) => ({ taskId: nextTask++, name, number: numbers[i] }));
      for (const row of rows) {
        // Keys as the earlier rules made them: other quotes and dashes kept.
        await db.query(
          `INSERT INTO payments (bot, task_id, supplier_key, supplier_name, invoice_number, invoice_number_norm, invoice_date, amount, currency, status, decided_at)
           VALUES ('payments', $1, $2, $3, $4, $5, '2024-09-01', 10, 'RUB', 'approved', now())`,
          [row.taskId, `name:${row.name.toLowerCase()}`, row.name, row.number, row.number.toUpperCase()],
        );
      }
      await renormalise();
      const { rows: keyed } = await db.query(
        'SELECT supplier_name, supplier_key, invoice_number, invoice_number_norm FROM payments WHERE task_id = ANY($1::bigint[])',
        [rows.map((r) => r.taskId)],
      );
      expect(keyed).toHaveLength(rows.length);
      for (const row of keyed) {
        expect(row.supplier_key).toBe(`name:${normaliseName(row.supplier_name)}`);
        expect(row.invoice_number_norm).toBe(normaliseInvoiceNumber(row.invoice_number));
      }
      expect(new Set(keyed.map((r) => r.invoice_number_norm))).toEqual(new Set(['З7']));
    });

    it("re-key a supplier's budget limit with its payments, and leave one whose new key another limit has", async () => {
      const name = `Заря ${tag()}`;
      // The key as the earlier rules made it (typographic quotes and a dash kept), and the one the new rules make.
      const quoted = `name:ооо „${name.toLowerCase()}—юг“`;
      const expected = `name:${normaliseName(`ООО „${name}—Юг“`)}`;
      await db.query(
        `INSERT INTO budget_limits (scope, scope_key, period, currency, amount)
         VALUES ('supplier', $1, 'month', 'RUB', 100), ('supplier', $1, 'year', 'RUB', 1000), ('supplier', $2, 'year', 'RUB', 5000)`,
        [quoted, expected],
      );
      await renormalise();
      const { rows } = await db.query(
        `SELECT scope_key, period, amount FROM budget_limits WHERE scope_key IN ($1, $2) ORDER BY period, amount`,
        [quoted, expected],
      );
      expect(rows).toEqual([
        { scope_key: expected, period: 'month', amount: '100.00' },
        // The yearly one collides with the limit already keyed as the new rules key it: it keeps its old key.
        { scope_key: quoted, period: 'year', amount: '1000.00' },
        { scope_key: expected, period: 'year', amount: '5000.00' },
      ]);
      await db.query(`DELETE FROM budget_limits WHERE scope_key IN ($1, $2)`, [quoted, expected]);
    });

    it('then match a new request typed another way', async () => {
      const name = `Рассвет ${tag()}`;
      const earlierTask = nextTask++;
      await db.query(
        `INSERT INTO payments (bot, task_id, supplier_key, supplier_name, invoice_number, invoice_number_norm, invoice_date, amount, currency, status, decided_at)
         VALUES ('payments', $1, $2, $3, 'Р–9', 'Р–9', '2024-10-01', 300, 'RUB', 'approved', now())`,
        [earlierTask, `name:ооо „${name.toLowerCase()}“`, `ООО „${name}“`],
      );
      await renormalise();
      const task = invoiceTask({ supplier: `ООО "${name}"`, invoiceNo: 'р-9', date: '2024-12-01', amount: 350, currency: 'RUB' });
      await deliver(task);
      const decision = await decided(task.id);
      expect(decision.approval_choice).toBe('rejected');
      expect(decision.text).toContain(`https://pyrus.com/t#id${earlierTask}: same supplier and invoice number "Р–9" (approved)`);
    });
  });
});
