import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../libs/database/src/database-options';
import { migrations } from '../libs/database/src/migrations';
import { OnePaymentPerTask1796600000000 } from '../libs/database/src/migrations/1796600000000-OnePaymentPerTask';
import { TEST_DATABASE_URL } from './support/test-env';

/** A database of its own, made for this file and dropped after it: the migration runs on rows written before it. */
const SCRATCH = `pyrus_bots_migration_${process.pid}`;
const scratchUrl = () => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${SCRATCH}`;
  return url.toString();
};

/**
 * Migration 1796600000000 on a history kept per bot and task, as before it: a task two bots each had a row for ends
 * with one row, the one that matters (an ERP order, else budget held), and what named the others follows it.
 */
describe('migration 1796600000000: one payment row per task', () => {
  let admin: Client;
  let db: DataSource;

  beforeAll(async () => {
    admin = new Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${SCRATCH}`);
    await admin.query(`CREATE DATABASE ${SCRATCH}`);
    const before = migrations.slice(0, migrations.indexOf(OnePaymentPerTask1796600000000));
    db = await new DataSource(buildDataSourceOptions(scratchUrl(), { migrations: before }, 2, false)).initialize();
    await db.runMigrations();
  });

  afterAll(async () => {
    await db?.destroy();
    await admin?.query(`DROP DATABASE IF EXISTS ${SCRATCH}`);
    await admin?.end();
  });

  const insertPayment = async (bot: string, taskId: number, status: string, decidedAt: string, erpDocumentId: string | null = null) => {
    const [row] = await db.query<Array<{ id: string }>>(
      `INSERT INTO payments (bot, task_id, supplier_key, amount, currency, status, decided_at, erp_document_id)
       VALUES ($1, $2, 'tax:1', 10, 'RUB', $3, $4, $5) RETURNING id`,
      [bot, taskId, status, decidedAt, erpDocumentId],
    );
    return row.id;
  };

  it('keeps the row with an ERP order, else the one holding budget, and moves notifications and the call log to it', async () => {
    // Task 1: the older row has the order. Task 2: the approved row is older than a later pending one. Task 3: alone.
    const ordered = await insertPayment('payments', 1, 'approved', '2026-01-01', 'PO-1');
    const laterOf1 = await insertPayment('other', 1, 'pending', '2026-01-02');
    const approved = await insertPayment('budget', 2, 'approved', '2026-01-01');
    await insertPayment('dup', 2, 'pending', '2026-01-02');
    const alone = await insertPayment('payments', 3, 'rejected', '2026-01-01');
    await db.query(`INSERT INTO notifications (payment_id, channel, recipient, status) VALUES ($1, 'email', 'v@example.org', 'sent')`, [
      laterOf1,
    ]);
    await db.query(
      `INSERT INTO outbound_calls (target, operation, bot, task_id, payment_id, outcome, duration_ms, at) VALUES ('erp', 'createPaymentOrder', 'other', 1, $1, 'ok', 5, now())`,
      [laterOf1],
    );

    const runner = db.createQueryRunner();
    try {
      await new OnePaymentPerTask1796600000000().up(runner);
    } finally {
      await runner.release();
    }

    const rows = await db.query<Array<{ id: string; task_id: string }>>('SELECT id, task_id FROM payments ORDER BY task_id');
    expect(rows.map((r) => [Number(r.task_id), r.id])).toEqual([
      [1, ordered],
      [2, approved],
      [3, alone],
    ]);
    expect(await db.query('SELECT payment_id FROM notifications')).toEqual([{ payment_id: ordered }]);
    expect(await db.query('SELECT payment_id FROM outbound_calls')).toEqual([{ payment_id: ordered }]);
    // One row per task from now on.
    await expect(insertPayment('another', 3, 'pending', '2026-01-03')).rejects.toThrow(/uq_payments_task/);
  });
});
