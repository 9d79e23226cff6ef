import { createHash } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { PyrusTask } from '@app/pyrus';
import { deliveriesQueue, sendSigned, ServiceUnderTest, startApi, startServiceWithEmulator, testEnv, waitFor } from './support/stack';
import { invoiceTask as makeInvoiceTask } from './support/invoice-task';
import { TcpProxy } from './support/tcp-proxy';
import { PAYMENTS_BOT_USER_ID } from './support/test-emulator';

const FIRST_TASK = 890000;
const LAST_TASK = 899999;
const AUDITOR = 'auditor-token-0b6c1d2e';
const OPERATOR = 'operator-token-7f3a9e41';
const sha = (token: string) => createHash('sha256').update(token).digest('hex');
const ADMIN_TOKENS = `alice:auditor:${sha(AUDITOR)},olga:operator:${sha(OPERATOR)}`;

/** The admin API against the real Postgres and Redis, with the worker and the emulator behind it. */
describe('admin API', () => {
  let service: ServiceUnderTest;
  let api: INestApplication;
  let db: Client;
  let pyrus: PyrusEmulator;

  const as = (token?: string) => {
    const agent = request(api.getHttpServer());
    const auth = (r: request.Test) => (token ? r.set('Authorization', `Bearer ${token}`) : r);
    return {
      get: (path: string) => auth(agent.get(path)),
      post: (path: string, body?: object) => auth(agent.post(path)).send(body ?? {}),
      patch: (path: string, body: object) => auth(agent.patch(path)).send(body),
      delete: (path: string) => auth(agent.delete(path)),
    };
  };
  const auditor = () => as(AUDITOR);
  const operator = () => as(OPERATOR);

  beforeAll(async () => {
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK], { ADMIN_TOKENS, JOB_ATTEMPTS: '2' });
    ({ api, db, pyrus } = service);
    await db.query(`DELETE FROM budget_limits WHERE scope_key LIKE 'admin-e2e:%'`);
  });

  afterAll(async () => {
    await service?.db.query(`DELETE FROM deliveries WHERE task_id BETWEEN $1 AND $2 AND status = 'received'`, [FIRST_TASK, LAST_TASK]);
    await service?.close();
  });

  describe('access', () => {
    const someId = '00000000-0000-4000-8000-000000000000';
    const reads = [
      '/admin/deliveries',
      `/admin/deliveries/${someId}`,
      '/admin/tasks/1/timeline',
      '/admin/payments',
      '/admin/payments/totals?from=2001-01&to=2001-12',
      '/admin/payments/export.csv?from=2001-01-01&to=2001-01-02',
      '/admin/budget-limits',
      '/admin/queues',
      '/admin/queues/deliveries/failed',
      '/admin/audit-log',
    ];
    const changes: Array<['post' | 'patch' | 'delete', string]> = [
      ['post', `/admin/deliveries/${someId}/replay`],
      ['post', '/admin/budget-limits'],
      ['patch', `/admin/budget-limits/${someId}`],
      ['delete', `/admin/budget-limits/${someId}`],
      ['post', '/admin/queues/deliveries/failed/retry'],
      ['post', '/admin/queues/deliveries/failed/no-such-job/retry'],
    ];
    const call = (who: ReturnType<typeof as>, method: 'get' | 'post' | 'patch' | 'delete', path: string) =>
      method === 'patch' ? who.patch(path, {}) : who[method](path);

    it.each(reads)('GET %s: 401 without a token or with a wrong one, 200 (or 404 for an unknown id) for both roles', async (path) => {
      const missing = await as().get(path);
      expect(missing.status).toBe(401);
      expect(missing.body).toMatchObject({ statusCode: 401, error: 'UNAUTHORIZED', requestId: expect.any(String) });
      expect((await as('not-a-token').get(path)).status).toBe(401);
      for (const who of [auditor(), operator()]) {
        const res = await who.get(path);
        expect(path.includes(someId) || path.includes('/tasks/1/') ? [404] : [200]).toContain(res.status);
      }
    });

    it.each(changes)('%s %s: 401 without a token, 403 for an auditor, past the role check for an operator', async (method, path) => {
      expect((await call(as(), method, path)).status).toBe(401);
      const refused = await call(auditor(), method, path);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: 'FORBIDDEN', message: expect.stringContaining('operator role') });
      expect([401, 403]).not.toContain((await call(operator(), method, path)).status);
    });

    it('Bull Board: operators only, by Bearer or as the Basic password', async () => {
      const page = '/admin/queues/ui';
      expect((await as().get(page)).status).toBe(401);
      expect((await as().get(page)).headers['www-authenticate']).toMatch(/^Basic/);
      expect((await auditor().get(page)).status).toBe(403);
      const byBearer = await operator().get(page);
      expect(byBearer.status).toBe(200);
      expect(byBearer.text).toContain('<html');
      const byBasic = await request(api.getHttpServer()).get(page).auth('anyone', OPERATOR);
      expect(byBasic.status).toBe(200);
      const queues = await operator().get(`${page}/api/queues`);
      expect(queues.status).toBe(200);
      expect(queues.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(['deliveries', 'followups']);
    });

    it('answers with security headers, and none on the webhook', async () => {
      const admin = await auditor().get('/admin/queues');
      expect(admin.headers['x-content-type-options']).toBe('nosniff');
      expect(admin.headers['content-security-policy']).toBeDefined();
      const hook = await request(api.getHttpServer()).post('/bots/auto-reply/webhook').send('{}');
      expect(hook.status).toBe(401);
      expect(hook.headers['content-security-policy']).toBeUndefined();
    });
  });

  describe('deliveries: filters and cursor pagination', () => {
    const SEED_FROM = FIRST_TASK;
    const SEEDED = 300;

    beforeAll(async () => {
      // Three deliveries share each received_at, so the id must break ties; all in 2001, away from every other test.
      // The 'received' ones look unfinished to a reconciliation: this file's worker runs none, and afterAll removes them.
      await db.query(
        `INSERT INTO deliveries (bot, task_id, event, dedupe_key, request_id, received_at, queued_at, status, body_bytes, payload)
         SELECT 'auto-reply', $1 + g, 'comment', 'seed:' || g, 'seed-' || g,
                timestamptz '2001-03-01 00:00:00+00' + (g / 3) * interval '1 second',
                timestamptz '2001-03-01 00:00:00+00' + (g / 3) * interval '1 second',
                (ARRAY['received', 'processed', 'skipped', 'failed'])[1 + g % 4], 10, '{}'::jsonb
           FROM generate_series(0, $2 - 1) g`,
        [SEED_FROM, SEEDED],
      );
    });

    async function allPages(query: string, limit: number) {
      const seen: Array<{ id: string; taskId: number; receivedAt: string; status: string }> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: request.Response = await auditor()
          .get(`/admin/deliveries?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        seen.push(...res.body.items);
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor && pages < 100);
      return { seen, pages };
    }

    const window = 'receivedFrom=2001-03-01T00:00:00Z&receivedTo=2001-03-02T00:00:00Z';

    it('pages through every seeded delivery once, newest first, across ties in received_at', async () => {
      const { seen, pages } = await allPages(window, 37);
      expect(pages).toBe(Math.ceil(SEEDED / 37));
      expect(seen).toHaveLength(SEEDED);
      expect(new Set(seen.map((d) => d.id)).size).toBe(SEEDED);
      expect(new Set(seen.map((d) => d.taskId))).toEqual(new Set(Array.from({ length: SEEDED }, (_, i) => SEED_FROM + i)));
      const times = seen.map((d) => Date.parse(d.receivedAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    it('filters by status, bot, task and time', async () => {
      const { seen } = await allPages(`${window}&status=failed`, 20);
      expect(seen).toHaveLength(SEEDED / 4);
      expect(seen.every((d) => d.status === 'failed')).toBe(true);
      const narrow = await auditor()
        .get(`/admin/deliveries?receivedFrom=2001-03-01T00:00:10Z&receivedTo=2001-03-01T00:00:20Z&bot=auto-reply`)
        .expect(200);
      expect(narrow.body.items).toHaveLength(30);
      const one = await auditor()
        .get(`/admin/deliveries?taskId=${SEED_FROM + 7}`)
        .expect(200);
      expect(one.body.items.map((d: { taskId: number }) => d.taskId)).toEqual([SEED_FROM + 7]);
      expect(
        (
          await auditor()
            .get(`/admin/deliveries?taskId=${SEED_FROM + 7}&bot=polite`)
            .expect(200)
        ).body.items,
      ).toEqual([]);
    });

    it('names the bad filter in a 400, refuses unknown ones and forged cursors', async () => {
      const bad = await auditor().get('/admin/deliveries?status=lost').expect(400);
      expect(bad.body).toMatchObject({
        statusCode: 400,
        error: 'INVALID_REQUEST',
        message: expect.stringContaining('status must be one of'),
        requestId: expect.any(String),
      });
      expect((await auditor().get('/admin/deliveries?receivedFrom=yesterday').expect(400)).body.message).toContain('receivedFrom');
      expect((await auditor().get('/admin/deliveries?limit=100000').expect(400)).body.message).toContain('limit');
      expect((await auditor().get('/admin/deliveries?stauts=failed').expect(400)).body.message).toContain(
        'property stauts should not exist',
      );
      const forged = Buffer.from(JSON.stringify(["2001-01-01'; DROP TABLE deliveries; --", 'x'])).toString('base64url');
      expect((await auditor().get(`/admin/deliveries?cursor=${forged}`).expect(400)).body.error).toBe('INVALID_CURSOR');
      expect((await auditor().get('/admin/deliveries/not-a-uuid').expect(400)).body.statusCode).toBe(400);
      expect((await auditor().get('/admin/deliveries/00000000-0000-4000-8000-000000000000').expect(404)).body.error).toBe('NOT_FOUND');
    });
  });

  describe('payments: list, totals, CSV', () => {
    const FIRST = FIRST_TASK + 1000;
    const COUNT = 240;
    const supplier = (i: number) => `tax:89${String(i % 4).padStart(8, '0')}`;

    beforeAll(async () => {
      // 240 payments decided in 2001, 20 a month, over four suppliers; amounts 100.01 … so sums are checkable.
      await db.query(
        `INSERT INTO payments (bot, task_id, supplier_key, supplier_name, invoice_number, invoice_number_norm, invoice_date,
                               amount, currency, status, decided_at)
         SELECT 'payments', $1 + g, 'tax:89' || lpad((g % 4)::text, 8, '0'),
                CASE WHEN g = 0 THEN '=HYPERLINK("http://evil")' ELSE 'Supplier ' || (g % 4) END,
                'INV-' || g, 'INV' || g, date '2001-01-01' + g, 100.01 + g, 'RUB',
                CASE WHEN g % 3 = 0 THEN 'rejected' ELSE 'approved' END,
                timestamptz '2001-01-01 00:00:00+00' + (g / 20) * interval '1 month' + (g % 20) * interval '1 hour'
           FROM generate_series(0, $2 - 1) g`,
        [FIRST, COUNT],
      );
    });

    const seeded = Array.from({ length: COUNT }, (_, g) => ({
      taskId: FIRST + g,
      supplierKey: supplier(g),
      amount: 100.01 + g,
      status: g % 3 === 0 ? 'rejected' : 'approved',
      month: Math.floor(g / 20) + 1,
    }));

    it("lists a supplier's approved payments of a quarter, across pages, with nothing missing or repeated", async () => {
      const expected = seeded.filter((p) => p.supplierKey === supplier(1) && p.status === 'approved' && p.month >= 7 && p.month <= 9);
      const seen: Array<{ taskId: number; status: string }> = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await auditor()
          .get(
            `/admin/payments?supplier=8900000001&status=approved&from=2001-07-01&to=2001-10-01&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
          )
          .expect(200);
        seen.push(...res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen.map((p) => p.taskId).sort()).toEqual(expected.map((p) => p.taskId).sort());
      expect(new Set(seen.map((p) => p.taskId)).size).toBe(seen.length);
    });

    it('finds an invoice by its number however it is written', async () => {
      const res = await auditor().get('/admin/payments?invoiceNumber=inv 17').expect(200);
      expect(res.body.items.map((p: { taskId: number }) => p.taskId)).toEqual([FIRST + 17]);
      expect((await auditor().get('/admin/payments?limit=501').expect(400)).body.message).toContain('limit must not be greater than 500');
      expect((await auditor().get('/admin/payments?status=maybe').expect(400)).body.message).toContain('status must be one of');
    });

    it('totals per supplier and quarter match the payments', async () => {
      const res = await auditor()
        .get('/admin/payments/totals?from=2001-01&to=2001-12&groupBy=quarter&status=approved&supplier=8900000002')
        .expect(200);
      const expected = new Map<string, { payments: number; amount: number }>();
      for (const p of seeded.filter((x) => x.supplierKey === supplier(2) && x.status === 'approved')) {
        const key = `2001-Q${Math.ceil(p.month / 3)}`;
        const t = expected.get(key) ?? { payments: 0, amount: 0 };
        expected.set(key, { payments: t.payments + 1, amount: t.amount + p.amount });
      }
      expect(res.body.items.map((t: Record<string, unknown>) => [t.period, t.supplierKey, t.payments, Number(t.amount)])).toEqual(
        [...expected].map(([period, t]) => [period, supplier(2), t.payments, Number(t.amount.toFixed(2))]),
      );
      expect((await auditor().get('/admin/payments/totals?from=2001-13&to=2001-12').expect(400)).body.message).toContain(
        'from must be a month',
      );
    });

    it('totals of part-periods count only the months asked for, and page through with the cursor to the one-page answer', async () => {
      const range = 'from=2001-02&to=2001-11';
      const res = await auditor().get(`/admin/payments/totals?${range}&groupBy=quarter&status=approved&supplier=8900000001`).expect(200);
      const expected = new Map<string, { payments: number; amount: number }>();
      for (const p of seeded.filter((x) => x.supplierKey === supplier(1) && x.status === 'approved' && x.month >= 2 && x.month <= 11)) {
        const key = `2001-Q${Math.ceil(p.month / 3)}`;
        const t = expected.get(key) ?? { payments: 0, amount: 0 };
        expected.set(key, { payments: t.payments + 1, amount: t.amount + p.amount });
      }
      expect(res.body.items.map((t: Record<string, unknown>) => [t.period, t.payments, Number(t.amount)])).toEqual(
        [...expected].map(([period, t]) => [period, t.payments, Number(t.amount.toFixed(2))]),
      );

      for (const groupBy of ['month', 'quarter', 'year']) {
        const path = `/admin/payments/totals?${range}&groupBy=${groupBy}`;
        const whole = (await auditor().get(`${path}&limit=500`).expect(200)).body;
        expect(whole.nextCursor).toBeNull();
        expect(whole.items.length).toBeGreaterThan(3);
        const paged: unknown[] = [];
        let cursor: string | null = null;
        do {
          const page: request.Response = await auditor()
            .get(`${path}&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
            .expect(200);
          paged.push(...page.body.items);
          cursor = page.body.nextCursor;
        } while (cursor);
        expect(paged).toEqual(whole.items);
      }
    });

    it('totals follow a payment whose status changes (the trigger keeps them)', async () => {
      const path = '/admin/payments/totals?from=2001-01&to=2001-01&supplier=8900000003';
      const before = (await auditor().get(path).expect(200)).body.items;
      const approvedBefore = before.find((t: { status: string }) => t.status === 'approved');
      await db.query(`UPDATE payments SET status = 'paid' WHERE task_id = $1`, [FIRST + 7]);
      const after = (await auditor().get(path).expect(200)).body.items;
      const approvedAfter = after.find((t: { status: string }) => t.status === 'approved');
      expect(approvedAfter.payments).toBe(approvedBefore.payments - 1);
      expect(Number(approvedAfter.amount)).toBeCloseTo(Number(approvedBefore.amount) - 107.01, 2);
      expect(after.find((t: { status: string }) => t.status === 'paid')).toMatchObject({ payments: 1, amount: '107.01' });
    });

    it('exports CSV with a header, every matching row, and formulas defused', async () => {
      const res = await auditor().get('/admin/payments/export.csv?from=2001-01-01&to=2001-02-01').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const lines = res.text.trim().split('\n');
      expect(lines[0]).toBe(
        'id,bot,taskId,supplierKey,supplierName,invoiceNumber,invoiceDate,amount,currency,costCentre,status,decisionReason,decidedAt,erpDocumentId,source',
      );
      expect(lines).toHaveLength(1 + 20);
      expect(res.text).toContain(`"'=HYPERLINK(""http://evil"")"`);
      expect(res.text).not.toMatch(/,=HYPERLINK/);
    });
  });

  describe('budget limits', () => {
    it('an operator creates, changes and deletes a limit; every change is in the audit log', async () => {
      const key = `admin-e2e:${Date.now()}`;
      const created = await operator()
        .post('/admin/budget-limits', { scope: 'supplier', scopeKey: key, period: 'month', currency: 'rub', amount: 1000 })
        .expect(201);
      expect(created.body).toMatchObject({ scopeKey: key, currency: 'RUB', amount: '1000.00' });
      const again = await operator()
        .post('/admin/budget-limits', { scope: 'supplier', scopeKey: key, period: 'month', currency: 'RUB', amount: '5' })
        .expect(409);
      expect(again.body.error).toBe('CONFLICT');
      const changed = await operator().patch(`/admin/budget-limits/${created.body.id}`, { amount: '2500.50' }).expect(200);
      expect(changed.body.amount).toBe('2500.50');
      expect((await db.query('SELECT amount::text FROM budget_limits WHERE id = $1', [created.body.id])).rows[0].amount).toBe('2500.50');
      await auditor().patch(`/admin/budget-limits/${created.body.id}`, { amount: '1' }).expect(403);
      const bad = await operator()
        .post('/admin/budget-limits', { scope: 'team', scopeKey: key, period: 'week', currency: 'rubles', amount: -1 })
        .expect(400);
      for (const field of ['scope', 'period', 'currency', 'amount']) expect(bad.body.message).toContain(field);
      await operator().delete(`/admin/budget-limits/${created.body.id}`).expect(204);
      await operator().delete(`/admin/budget-limits/${created.body.id}`).expect(404);

      const log = await auditor().get('/admin/audit-log?limit=20').expect(200);
      const mine = log.body.items.filter(
        (e: { target: string | null; details: any }) => e.target === created.body.id || e.details?.body?.scopeKey === key,
      );
      expect(mine.map((e: Record<string, unknown>) => [e.action, e.actor, e.outcome, e.status])).toEqual([
        ['delete-budget-limit', 'olga', 'failed', 404],
        ['delete-budget-limit', 'olga', 'succeeded', 204],
        ['create-budget-limit', 'olga', 'failed', 400],
        ['update-budget-limit', 'alice', 'denied', 403],
        ['update-budget-limit', 'olga', 'succeeded', 200],
        ['create-budget-limit', 'olga', 'failed', 409],
        ['create-budget-limit', 'olga', 'succeeded', 201],
      ]);
      expect(mine.every((e: { clientIp: string; requestId: string }) => e.clientIp && e.requestId)).toBe(true);
    });

    it('the audit log cannot be edited, not even from a database console', async () => {
      await expect(db.query(`UPDATE admin_audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
      await expect(db.query(`DELETE FROM admin_audit_log`)).rejects.toThrow(/append-only/);
      await expect(db.query(`TRUNCATE admin_audit_log`)).rejects.toThrow(/append-only/);
    });
  });

  describe('through the pipeline', () => {
    let nextTask = FIRST_TASK + 5000;

    function invoiceTask(amount: number): PyrusTask {
      const id = nextTask++;
      const inn = `66${String(Date.now() % 1e8).padStart(8, '0')}`;
      const task = makeInvoiceTask(id, {
        supplier: 'Admin Test Supplier',
        inn,
        invoiceNo: `ADM-${id}`,
        date: '2026-01-15',
        amount,
        currency: 'RUB',
      });
      pyrus.addTask(structuredClone(task));
      return task;
    }

    const deliver = (task: PyrusTask) =>
      sendSigned(
        api,
        'payments',
        JSON.stringify({
          event: 'comment',
          access_token: pyrus.issueToken('payments'),
          task_id: task.id,
          user_id: PAYMENTS_BOT_USER_ID,
          task,
        }),
        'payments-key',
      ).expect(200);
    const botComments = (taskId: number) => pyrus.comments.filter((c) => c.taskId === taskId && c.bot === 'payments');
    const deliveryOf = async (taskId: number) => (await db.query('SELECT id, status FROM deliveries WHERE task_id = $1', [taskId])).rows[0];

    it('shows the timeline of a task the pipeline processed through the emulator', async () => {
      const task = invoiceTask(1234.5);
      await deliver(task);
      await waitFor('the decision', () => botComments(task.id).length === 1);
      await waitFor('the delivery to be processed', async () => (await deliveryOf(task.id))?.status === 'processed');
      // The worker's call log is written in batches: wait for the comment call to be in it.
      await waitFor(
        'the call log',
        async () =>
          (await db.query(`SELECT 1 FROM outbound_calls WHERE task_id = $1 AND operation = 'POST /tasks/{id}/comments'`, [task.id]))
            .rowCount,
      );
      await waitFor('the job attempt', async () => (await db.query('SELECT 1 FROM job_attempts WHERE task_id = $1', [task.id])).rowCount);
      const res = await auditor().get(`/admin/tasks/${task.id}/timeline`).expect(200);
      const kinds = res.body.events.map((e: { kind: string }) => e.kind);
      expect(kinds).toEqual(expect.arrayContaining(['delivery', 'job-attempt', 'decision', 'pyrus-call', 'payment', 'comment-posted']));
      expect(
        res.body.events.find(
          (e: { kind: string; operation?: string }) => e.kind === 'pyrus-call' && e.operation === 'POST /tasks/{id}/comments',
        ),
      ).toMatchObject({
        status: 200,
        outcome: 'ok',
        durationMs: expect.any(Number),
      });
      expect(res.body.events.find((e: { kind: string }) => e.kind === 'job-attempt')).toMatchObject({
        queue: 'deliveries',
        outcome: 'completed',
        attempt: 1,
      });
      expect(kinds.indexOf('delivery')).toBeLessThan(kinds.indexOf('comment-posted'));
      const decision = res.body.events.find((e: { kind: string }) => e.kind === 'decision');
      expect(decision).toMatchObject({
        bot: 'payments',
        outcome: 'posted',
        reason: expect.any(String),
        comment: expect.objectContaining({ approval_choice: 'approved' }),
      });
      expect(res.body.events.find((e: { kind: string }) => e.kind === 'payment')).toMatchObject({
        status: 'approved',
        amount: '1234.50',
        currency: 'RUB',
      });
      const times = res.body.events.map((e: { at: string }) => Date.parse(e.at));
      expect(times).toEqual([...times].sort((a, b) => a - b));

      const { id } = await deliveryOf(task.id);
      const detail = await auditor().get(`/admin/deliveries/${id}`).expect(200);
      expect(detail.body).toMatchObject({ id, status: 'processed', headers: { 'x-pyrus-retry': '1/3', 'user-agent': 'Pyrus-Bot-4' } });
      expect(detail.body.payload.access_token).toBe('[REDACTED]');
      expect(detail.body.decision).toMatchObject({ outcome: 'posted', pyrusStatus: 200 });
      expect(detail.body.attempts).toEqual([expect.objectContaining({ queue: 'deliveries', outcome: 'completed' })]);
      expect(detail.body.calls).toEqual(
        expect.arrayContaining([expect.objectContaining({ target: 'pyrus', operation: 'POST /tasks/{id}/comments', status: 200 })]),
      );
      expect((await auditor().get('/admin/tasks/899998/timeline').expect(404)).body.error).toBe('NOT_FOUND');
    });

    it('a dry-run replay returns the decision and writes nothing to Pyrus, the history or the queue', async () => {
      const task = invoiceTask(777);
      await deliver(task);
      await waitFor('the decision', () => botComments(task.id).length === 1);
      await waitFor('the delivery to be processed', async () => (await deliveryOf(task.id))?.status === 'processed');
      const { id } = await deliveryOf(task.id);
      const jobsOfDelivery = async (deliveryId: string) => {
        const jobs = await deliveriesQueue(api).getJobs(['waiting', 'active', 'delayed', 'paused', 'completed', 'failed']);
        return Promise.all(jobs.filter((j) => j?.data?.deliveryId === deliveryId).map(async (j) => `${j.id}:${await j.getState()}`));
      };
      const snapshot = async () => ({
        payment: (await db.query('SELECT status, decision_reason, decided_at, updated_at FROM payments WHERE task_id = $1', [task.id]))
          .rows,
        processed: (await db.query('SELECT outcome, reason, attempts, finished_at FROM processed_tasks WHERE task_id = $1', [task.id]))
          .rows,
        delivery: (await db.query('SELECT status, last_error FROM deliveries WHERE task_id = $1', [task.id])).rows,
        // Only this delivery's jobs: other files' retries may move through the shared queue meanwhile.
        jobs: await jobsOfDelivery(id),
      });
      // The job completes in Bull a moment after the delivery is marked processed.
      await waitFor('the job to complete', async () => (await jobsOfDelivery(id)).every((j) => j.endsWith(':completed')));
      const before = await snapshot();
      expect(before.jobs).toHaveLength(1);
      const commentsBefore = pyrus.comments.length;

      const res = await operator().post(`/admin/deliveries/${id}/replay?dryRun=true`).expect(202);
      expect(res.body).toMatchObject({ dryRun: true, deliveryId: id, decision: { kind: 'comment', reason: expect.any(String) } });
      // Deciding again sees its own earlier payment: the decision is shown, whatever it is, and nothing changes.
      expect(res.body.decision.comment).toBeDefined();
      expect(await snapshot()).toEqual(before);
      expect(pyrus.comments.length).toBe(commentsBefore);
      expect(pyrus.calls.filter((c) => c.method === 'POST' && c.path.includes(`/tasks/${task.id}/comments`))).toHaveLength(1);

      const real = await operator().post(`/admin/deliveries/${id}/replay`).expect(409);
      expect(real.body.error).toBe('ALREADY_POSTED');
    });

    it('a failed delivery: listed with its reason, retried once the emulator recovers, and a replay recorded in the audit log', async () => {
      const first = invoiceTask(50);
      const second = invoiceTask(60);
      const faults = [first, second].map((t) =>
        pyrus.addFault({ kind: 'error', method: 'POST', path: `*/tasks/${t.id}/comments`, status: 400 }),
      );
      await deliver(first);
      await deliver(second);
      await waitFor(
        'both deliveries to fail',
        async () => (await deliveryOf(first.id))?.status === 'failed' && (await deliveryOf(second.id))?.status === 'failed',
      );
      expect((await db.query('SELECT status FROM payments WHERE task_id = $1', [first.id])).rows[0].status).toBe('pending');

      const failedJobs = await auditor().get('/admin/queues/deliveries/failed?limit=500').expect(200);
      const firstId = (await deliveryOf(first.id)).id;
      const listed = failedJobs.body.items.find((j: { data: { deliveryId: string } }) => j.data.deliveryId === firstId);
      expect(listed).toMatchObject({ name: 'process-delivery', failedReason: expect.stringContaining('400') });
      expect(listed.data.accessToken).toBeUndefined();
      expect(
        (await auditor().get('/admin/queues').expect(200)).body.find((q: { name: string }) => q.name === 'deliveries').counts.failed,
      ).toBeGreaterThanOrEqual(2);

      faults.forEach((f) => pyrus.removeFault(f.id));
      await operator().post(`/admin/queues/deliveries/failed/${listed.id}/retry`).expect(202);
      await waitFor('the retried delivery to be processed', async () => (await deliveryOf(first.id))?.status === 'processed');
      expect(botComments(first.id)).toHaveLength(1);
      expect((await db.query('SELECT status FROM payments WHERE task_id = $1', [first.id])).rows[0].status).toBe('approved');

      const secondId = (await deliveryOf(second.id)).id;
      const replay = await operator().post(`/admin/deliveries/${secondId}/replay`).expect(202);
      expect(replay.body).toMatchObject({ dryRun: false, deliveryId: secondId, previousStatus: 'failed' });
      await waitFor('the replayed delivery to be processed', async () => (await deliveryOf(second.id))?.status === 'processed');
      expect(botComments(second.id)).toHaveLength(1);

      const log = await auditor().get('/admin/audit-log?action=replay-delivery&actor=olga&limit=5').expect(200);
      expect(log.body.items[0]).toMatchObject({
        action: 'replay-delivery',
        actor: 'olga',
        role: 'operator',
        target: secondId,
        outcome: 'succeeded',
        status: 202,
        method: 'POST',
      });
      const retried = await auditor().get('/admin/audit-log?action=retry-failed-job&limit=5').expect(200);
      expect(retried.body.items[0]).toMatchObject({ actor: 'olga', target: `deliveries/${listed.id}`, outcome: 'succeeded' });
    });
  });

  it('the OpenAPI document lists every admin route', async () => {
    const doc = await request(api.getHttpServer()).get('/docs-json').expect(200);
    const documented = new Set(
      Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const router = api.getHttpAdapter().getInstance().router;
    const routes: string[] = router.stack
      .filter((layer: any) => layer.route?.path?.startsWith('/admin'))
      .flatMap((layer: any) =>
        Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`),
      );
    expect(routes.length).toBeGreaterThanOrEqual(14);
    for (const route of routes) expect(documented).toContain(route);
  });
});

/** Rate limit and client address, on two api replicas of their own (a low limit, and a proxy trusted). */
describe('admin API behind a load balancer', () => {
  let api: INestApplication;
  let replica: INestApplication;
  let db: Client;

  beforeAll(async () => {
    const env = testEnv({ ADMIN_TOKENS, ADMIN_RATE_LIMIT: '5', TRUST_PROXY: 'loopback' });
    api = await startApi(env);
    replica = await startApi(env);
    db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await api?.close();
    await replica?.close();
    await db?.end();
  });

  it('limits each client address, as X-Forwarded-For gives it, over all replicas, and answers 429 over the limit', async () => {
    const from = (ip: string, app = api) =>
      request(app.getHttpServer()).get('/admin/queues').set('Authorization', `Bearer ${AUDITOR}`).set('X-Forwarded-For', ip);
    const client = '203.0.113.9';
    // The load balancer spreads one client's requests over both replicas: they share one count.
    for (let i = 0; i < 5; i++) await from(client, i % 2 ? replica : api).expect(200);
    const limited = await from(client, replica).expect(429);
    expect(limited.body).toMatchObject({ statusCode: 429, requestId: expect.any(String) });
    await from(client, api).expect(429);
    await from('198.51.100.7').expect(200);
  });

  it('records the forwarded client address in the audit log', async () => {
    const ip = '192.0.2.44';
    await request(api.getHttpServer())
      .post('/admin/queues/deliveries/failed/retry')
      .set('Authorization', `Bearer ${AUDITOR}`)
      .set('X-Forwarded-For', ip)
      .expect(403);
    const { rows } = await db.query(`SELECT actor, client_ip, outcome FROM admin_audit_log WHERE client_ip = $1 ORDER BY id DESC LIMIT 1`, [
      ip,
    ]);
    expect(rows[0]).toEqual({ actor: 'alice', client_ip: ip, outcome: 'denied' });
  });
});

/** A stopped PostgreSQL or Redis: a 503 to retry, never a 500 or a hang; and back to normal once it returns. */
describe('admin API when a dependency is down', () => {
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let api: INestApplication;

  beforeAll(async () => {
    pgProxy = await new TcpProxy(5432).start();
    redisProxy = await new TcpProxy(6379).start();
    const env = testEnv({ ADMIN_TOKENS });
    api = await startApi({
      ...env,
      DATABASE_URL: pgProxy.url('postgres', new URL(env.DATABASE_URL).pathname).replace('://', '://postgres@'),
      REDIS_URL: redisProxy.url('redis', new URL(env.REDIS_URL).pathname),
    });
  });

  afterAll(async () => {
    await pgProxy.restore();
    await redisProxy.restore();
    await api?.close();
    await pgProxy.cut();
    await redisProxy.cut();
  });

  const get = (path: string) => request(api.getHttpServer()).get(path).set('Authorization', `Bearer ${AUDITOR}`);

  it('PostgreSQL down: 503, then 200 once it is back', async () => {
    await pgProxy.cut();
    const down = await get('/admin/deliveries?limit=1');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ statusCode: 503, error: 'DEPENDENCY_UNAVAILABLE', requestId: expect.any(String) });
    await pgProxy.restore();
    await waitFor('the lists to answer again', async () => (await get('/admin/deliveries?limit=1')).status === 200);
  });

  it('Redis down: the rate limit cannot count, so 503, then 200 once it is back', async () => {
    await redisProxy.cut();
    const down = await get('/admin/budget-limits');
    expect(down.status).toBe(503);
    expect(down.body.error).toBe('RATE_LIMIT_UNAVAILABLE');
    await redisProxy.restore();
    await waitFor('the admin API to answer again', async () => (await get('/admin/budget-limits')).status === 200, 15000);
  });
});
