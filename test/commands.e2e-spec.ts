import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { BackfillService, BudgetSeedService } from '@app/bots';
import { CommandsModule } from '../apps/worker/src/commands/commands.module';
import { PyrusTask } from '@app/pyrus';
import { clearTaskRange, testDb, testEnv } from './support/stack';
import { MANAGER_USER_ID, startTestEmulator } from './support/test-emulator';

describe('commands: backfill and budgets:seed', () => {
  let pyrus: PyrusEmulator;
  let app: INestApplicationContext;
  let db: Client;
  const dir = mkdtempSync(join(tmpdir(), 'commands-'));

  function registerTask(id: number, invoiceNo: string | undefined, choice: 'approved' | 'rejected' | 'waiting', closed = false): PyrusTask {
    const task: PyrusTask = {
      id,
      form_id: 2099,
      current_step: 1,
      ...(closed ? { close_date: '2024-01-31T10:00:00Z' } : {}),
      fields: [
        { id: 1, type: 'text', code: 'supplier', value: 'Backfill Supplier' },
        { id: 2, type: 'text', code: 'inn', value: '5500000001' },
        { id: 3, type: 'text', code: 'invoice_no', ...(invoiceNo ? { value: invoiceNo } : {}) },
        { id: 4, type: 'date', code: 'invoice_date', value: '2024-01-10' },
        { id: 5, type: 'money', code: 'amount', value: 1000 + id - 860000 },
        { id: 6, type: 'text', code: 'currency', value: 'rub' },
      ],
      approvals: [[{ person: { id: MANAGER_USER_ID, type: 'user' }, approval_choice: choice }]],
    };
    pyrus.addTask(task);
    return task;
  }

  beforeAll(async () => {
    pyrus = await startTestEmulator();
    db = await testDb();
    await clearTaskRange(db, 860000, 869999);
    await db.query(`DELETE FROM budget_limits WHERE scope_key LIKE 'seed-test:%'`);
    app = await NestFactory.createApplicationContext(
      CommandsModule.forRoot(testEnv({ PYRUS_AUTH_URL: pyrus.authUrl, PYRUS_API_URL: pyrus.apiUrl })),
      { logger: false },
    );
  });

  afterAll(async () => {
    await app?.close();
    await db?.end();
    await pyrus?.stop();
  });

  it("imports a payment bot's form register into the history, once, leaving the bot's own decisions alone", async () => {
    registerTask(860001, 'B-1', 'approved', true);
    registerTask(860002, 'B-2', 'rejected');
    registerTask(860003, 'B-3', 'waiting');
    registerTask(860004, undefined, 'waiting');
    await db.query(
      `INSERT INTO payments (bot, task_id, supplier_key, amount, currency, status, source) VALUES ('payments', 860003, 'tax:5500000001', 1003, 'RUB', 'approved', 'bot')`,
    );

    const first = await app.get(BackfillService).backfill('payments', { formId: 2099 });
    expect(first).toEqual({ read: 4, imported: 2, known: 1, incomplete: 1 });
    const { rows } = await db.query(
      `SELECT task_id::int, status, source, amount::text, currency, invoice_number_norm FROM payments WHERE task_id BETWEEN 860001 AND 860004 ORDER BY task_id`,
    );
    expect(rows).toEqual([
      { task_id: 860001, status: 'approved', source: 'backfill', amount: '1001.00', currency: 'RUB', invoice_number_norm: 'B1' },
      { task_id: 860002, status: 'rejected', source: 'backfill', amount: '1002.00', currency: 'RUB', invoice_number_norm: 'B2' },
      { task_id: 860003, status: 'approved', source: 'bot', amount: '1003.00', currency: 'RUB', invoice_number_norm: null },
    ]);
    expect(await app.get(BackfillService).backfill('payments', { formId: 2099 })).toMatchObject({ imported: 0, known: 3 });
  });

  it('refuses a bot that is not a payment bot, or a form it cannot name', async () => {
    await expect(app.get(BackfillService).backfill('auto-reply')).rejects.toThrow(/not a payment bot/);
    await expect(app.get(BackfillService).backfill('payments')).rejects.toThrow(/--form ID/);
  });

  it('loads budget limits from JSON, updating a limit that exists', async () => {
    const file = join(dir, 'limits.json');
    writeFileSync(
      file,
      JSON.stringify([
        { scope: 'supplier', scopeKey: 'seed-test:tax:1', period: 'month', currency: 'rub', amount: 100000 },
        { scope: 'cost_centre', scopeKey: 'seed-test:IT', period: 'quarter', currency: 'EUR', amount: '2500.50' },
      ]),
    );
    expect(await app.get(BudgetSeedService).seedFile(file)).toBe(2);
    writeFileSync(
      file,
      JSON.stringify([{ scope: 'supplier', scopeKey: 'seed-test:tax:1', period: 'month', currency: 'RUB', amount: 120000 }]),
    );
    await app.get(BudgetSeedService).seedFile(file);
    const { rows } = await db.query(
      `SELECT scope, scope_key, period, currency, amount::text FROM budget_limits WHERE scope_key LIKE 'seed-test:%' ORDER BY scope_key`,
    );
    expect(rows).toEqual([
      { scope: 'cost_centre', scope_key: 'seed-test:IT', period: 'quarter', currency: 'EUR', amount: '2500.50' },
      { scope: 'supplier', scope_key: 'seed-test:tax:1', period: 'month', currency: 'RUB', amount: '120000.00' },
    ]);
  });

  it('refuses a bad limits file, naming the entry, and loads none of it', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify([
        { scope: 'supplier', scopeKey: 'seed-test:tax:2', period: 'month', currency: 'RUB', amount: 1 },
        { scope: 'supplier', scopeKey: 'seed-test:tax:3', period: 'week', currency: 'RUB', amount: 1 },
      ]),
    );
    await expect(app.get(BudgetSeedService).seedFile(file)).rejects.toThrow(/entry 1: "period"/);
    const { rows } = await db.query(`SELECT 1 FROM budget_limits WHERE scope_key = 'seed-test:tax:2'`);
    expect(rows).toHaveLength(0);
  });
});
