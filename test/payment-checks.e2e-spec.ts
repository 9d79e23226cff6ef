import { DataSource } from 'typeorm';
import { PaymentHistory } from '@app/bots';
import { buildDataSourceOptions } from '@app/database';
import { TEST_DATABASE_URL } from './support/test-env';

/**
 * The checks take the supplier's lock first and then read: a decider that waited for the lock sees what the holder
 * committed meanwhile (here, an approval that uses most of the budget and has the same invoice number).
 */
describe('payment checks under the supplier lock', () => {
  let db: DataSource;
  const supplierKey = `tax:checks-${Date.now()}`;
  const lockKey = `payments:${supplierKey}`;

  beforeAll(async () => {
    db = await new DataSource(buildDataSourceOptions(TEST_DATABASE_URL, {}, 3)).initialize();
    await db.query(`INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ('supplier', $1, 'month', 'RUB', 1000)`, [
      supplierKey,
    ]);
  });

  afterAll(async () => {
    await db?.query('DELETE FROM payments WHERE supplier_key = $1', [supplierKey]);
    await db?.query('DELETE FROM budget_limits WHERE scope_key = $1', [supplierKey]);
    await db?.destroy();
  });

  it('waits for the holder of the lock, then sees its commit', async () => {
    const holder = db.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey]);
    await holder.query(
      `INSERT INTO payments (bot, task_id, supplier_key, supplier_name, invoice_number, invoice_number_norm, invoice_date, amount, currency, status, decided_at)
       VALUES ('checks', 1, $1, 'Supplier', 'INV-7', 'INV7', '2026-11-05', 900, 'RUB', 'approved', now())`,
      [supplierKey],
    );

    let settled = false;
    const checking = db
      .transaction((em) =>
        new PaymentHistory(em).check({
          lockKeys: [lockKey],
          supplierKey,
          invoiceNumberNorm: 'INV7',
          amount: '200.00',
          currency: 'RUB',
          invoiceDate: '2026-11-20',
          windowDays: 30,
          taskId: 2,
          budget: { scope: 'supplier', scopeKey: supplierKey, period: 'month' },
        }),
      )
      .finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);

    await holder.commitTransaction();
    await holder.release();
    const result = await checking;
    expect(result.exact).toEqual([
      { taskId: 1, invoiceNumber: 'INV-7', invoiceDate: '2026-11-05', amount: '900.00', currency: 'RUB', status: 'approved' },
    ]);
    expect(result.budget).toEqual({ limit: '1000.00', used: '900.00', over: '100.00' });
  });

  it('without a budget or locks: the duplicates only', async () => {
    const result = await new PaymentHistory(db.manager).check({
      supplierKey,
      invoiceNumberNorm: 'OTHER',
      amount: '900.00',
      currency: 'RUB',
      invoiceDate: '2026-11-25',
      windowDays: 30,
      taskId: 3,
    });
    expect(result).toEqual({
      exact: [],
      probable: [{ taskId: 1, invoiceNumber: 'INV-7', invoiceDate: '2026-11-05', amount: '900.00', currency: 'RUB', status: 'approved' }],
      budget: undefined,
    });
  });
});
