import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { PyrusTask } from '@app/pyrus';
import { PyrusEmulator } from './pyrus-emulator';
import { COMPANY_QUOTA } from './quota-meter.service';
import { DEFAULT_SEED_DIR } from './seed-loader';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'pyrus');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const PAYMENTS_LOGIN = 'bot@11111111-1111-1111-1111-111111111111';
const PAYMENTS_KEY = 'payments-demo-key-change-me';
const AUTO_LOGIN = 'bot@00000000-0000-0000-0000-000000000000';
const AUTO_KEY = 'demo-security-key-change-me';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(
  emulator: PyrusEmulator,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(emulator.url + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    signal: opts.signal,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

async function login(emulator: PyrusEmulator, loginName = AUTO_LOGIN, key = AUTO_KEY): Promise<string> {
  const res = await call(emulator, 'POST', '/auth', { body: { login: loginName, security_key: key } });
  expect(res.status).toBe(200);
  return res.json.access_token as string;
}

describe('PyrusEmulator API', () => {
  let emulator: PyrusEmulator;

  beforeEach(async () => {
    // autoDeliver off: the seed bots point at a local API that is not running here.
    emulator = new PyrusEmulator({ seedDir: DEFAULT_SEED_DIR, autoDeliver: false });
    await emulator.start();
  });

  afterEach(async () => {
    await emulator.stop();
  });

  describe('auth', () => {
    it('issues a token with api_url pointing at the emulator, and the token opens the API', async () => {
      const res = await call(emulator, 'POST', '/auth', { body: { login: AUTO_LOGIN, security_key: AUTO_KEY } });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ access_token: expect.any(String), api_url: `${emulator.url}/v4/`, files_url: `${emulator.url}/files/` });
      const task = await call(emulator, 'GET', '/v4/tasks/1001', { token: res.json.access_token });
      expect(task.status).toBe(200);
      expect(task.json.task.id).toBe(1001);
      expect(task.json.task.comments.length).toBeGreaterThan(0);
    });

    it('answers 401 invalid_credentials as in the fixture for a wrong key', async () => {
      const res = await call(emulator, 'POST', '/auth', { body: { login: AUTO_LOGIN, security_key: 'nope' } });
      expect(res.status).toBe(401);
      expect(res.json).toEqual(fixture('error_invalid_credentials.json'));
    });

    it('answers token_not_specified and invalid_token with the fixture bodies', async () => {
      const none = await call(emulator, 'GET', '/v4/tasks/1001');
      expect(none.status).toBe(401);
      expect(none.json).toEqual(fixture('error_token_not_specified.json'));
      const bad = await call(emulator, 'GET', '/v4/tasks/1001', { token: 'garbage' });
      expect(bad.status).toBe(401);
      expect(bad.json).toEqual(fixture('error_invalid_token.json'));
    });

    it('expires tokens after the configured lifetime', async () => {
      const shortLived = new PyrusEmulator({ seedDir: DEFAULT_SEED_DIR, tokenTtlMs: 150, autoDeliver: false });
      await shortLived.start();
      try {
        const token = await login(shortLived);
        expect((await call(shortLived, 'GET', '/v4/inbox', { token })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 200));
        const res = await call(shortLived, 'GET', '/v4/inbox', { token });
        expect(res.status).toBe(401);
        expect(res.json.error_code).toBe('expired_token');
        const fresh = await login(shortLived);
        expect((await call(shortLived, 'GET', '/v4/inbox', { token: fresh })).status).toBe(200);
      } finally {
        await shortLived.stop();
      }
    });

    it('expires tokens on demand and revokes the oldest past maxTokensPerBot', async () => {
      const token = await login(emulator);
      emulator.expireTokens('auto-reply');
      expect((await call(emulator, 'GET', '/v4/inbox', { token })).json.error_code).toBe('expired_token');

      const limited = new PyrusEmulator({ seedDir: DEFAULT_SEED_DIR, maxTokensPerBot: 2, autoDeliver: false });
      await limited.start();
      try {
        const first = await login(limited);
        const second = await login(limited);
        const third = await login(limited);
        expect((await call(limited, 'GET', '/v4/inbox', { token: first })).json.error_code).toBe('revoked_token');
        expect((await call(limited, 'GET', '/v4/inbox', { token: second })).status).toBe(200);
        expect((await call(limited, 'GET', '/v4/inbox', { token: third })).status).toBe(200);
      } finally {
        await limited.stop();
      }
    });
  });

  describe('comments', () => {
    it('appends the comment by the bot, applies approval_choice and moves the step when it is complete', async () => {
      const token = await login(emulator);
      const before = emulator.getTask(1001)!;
      expect(before.current_step).toBe(1);
      const res = await call(emulator, 'POST', '/v4/tasks/1001/comments', {
        token,
        body: { text: 'Проверено ботом', approval_choice: 'approved' },
      });
      expect(res.status).toBe(200);
      const task = res.json.task;
      const last = task.comments[task.comments.length - 1];
      expect(last).toMatchObject({ text: 'Проверено ботом', approval_choice: 'approved', approval_step: 1, changed_step: 2 });
      expect(last.author).toMatchObject({ id: 100001, type: 'bot', email: AUTO_LOGIN });
      expect(last.id).toBeGreaterThan(Math.max(...before.comments!.map((c) => c.id)));
      expect(Date.now() - Date.parse(last.create_date)).toBeLessThan(5000);
      expect(task.current_step).toBe(2);
      expect(task.approvals[0][0].approval_choice).toBe('approved');
      expect(emulator.comments).toHaveLength(1);
      expect(emulator.comments[0]).toMatchObject({ taskId: 1001, bot: 'auto-reply', request: { text: 'Проверено ботом' } });
      expect((await call(emulator, 'GET', '/v4/tasks/1001', { token })).json.task.comments).toHaveLength(before.comments!.length + 1);
    });

    it('does not move the step while another approver of the step still waits, nor for a non-approver', async () => {
      const task = emulator.getTask(1001)!;
      task.approvals![0].push({ person: { id: 42, type: 'user' }, approval_choice: 'waiting' });
      emulator.addTask(task);
      const token = await login(emulator);
      const res = await call(emulator, 'POST', '/v4/tasks/1001/comments', { token, body: { approval_choice: 'approved' } });
      expect(res.json.task.current_step).toBe(1);
      expect(res.json.task.approvals[0][0].approval_choice).toBe('approved');

      const payments = await login(emulator, PAYMENTS_LOGIN, PAYMENTS_KEY);
      const other = await call(emulator, 'POST', '/v4/tasks/1002/comments', { token: payments, body: { approval_choice: 'approved' } });
      expect(other.status).toBe(200);
      expect(other.json.task.current_step).toBe(1);
    });

    it('closes the task when the last step is approved, and re-requesting an earlier step moves back', async () => {
      const token = await login(emulator);
      emulator.addTask({ ...emulator.getTask(1001)!, approvals: [emulator.getTask(1001)!.approvals![0]] });
      const closed = await call(emulator, 'POST', '/v4/tasks/1001/comments', { token, body: { approval_choice: 'approved' } });
      expect(closed.json.task.close_date).toEqual(expect.any(String));

      const t = emulator.getTask(1002)!;
      t.current_step = 2;
      t.approvals![0][0].approval_choice = 'approved';
      emulator.addTask(t);
      const payments = await login(emulator, PAYMENTS_LOGIN, PAYMENTS_KEY);
      const back = await call(emulator, 'POST', '/v4/tasks/1002/comments', {
        token: payments,
        body: { text: 'Лимит превышен', approvals_rerequested: [[{ id: t.approvals![0][0].person.id }]] },
      });
      expect(back.json.task.current_step).toBe(1);
      const last = back.json.task.comments.at(-1);
      expect(last).toMatchObject({ changed_step: 1, reset_to_step: 1 });
    });

    it('applies field_updates by id, code and name (including a field inside a title) and records them', async () => {
      const token = await login(emulator);
      const res = await call(emulator, 'POST', '/v4/tasks/1001/comments', {
        token,
        body: {
          field_updates: [
            { id: 6, value: 4200 },
            { code: 'amount', value: 1365.27 },
            { name: 'Дата', value: '2026-11-23' },
            { id: 21, value: '7700000000' },
            { id: 15, value: [{ guid: 'abc' }] },
          ],
        },
      });
      expect(res.status).toBe(200);
      const fields = res.json.task.fields;
      const byId = (id: number) => fields.find((f: { id: number }) => f.id === id);
      expect(byId(6).value).toBe(4200);
      expect(byId(8).value).toBe(1365.27);
      expect(byId(9).value).toBe('2026-11-23');
      expect(byId(16).value.fields.find((f: { id: number }) => f.id === 21).value).toBe('7700000000');
      expect(byId(15).value).toEqual([{ guid: 'abc' }]);
      expect(fields.filter((f: { id: number }) => f.id === 8)).toHaveLength(1);
      const last = res.json.task.comments.at(-1);
      expect(last.field_updates).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: 8, type: 'money', value: 1365.27 }),
          expect.objectContaining({ id: 6, value: 4200 }),
        ]),
      );
    });

    it('answers 400 with Pyrus error codes for unknown fields and bad bodies', async () => {
      const token = await login(emulator);
      const post = (body: unknown) => call(emulator, 'POST', '/v4/tasks/1001/comments', { token, body });
      expect((await post({ field_updates: [{ id: 999, value: 1 }] })).json.error_code).toBe('invalid_field_id');
      expect((await post({ field_updates: [{ code: 'nope', value: 1 }] })).json.error_code).toBe('invalid_field_code');
      expect((await post({ field_updates: [{ name: 'nope', value: 1 }] })).json.error_code).toBe('invalid_field_name');
      expect((await post({ field_updates: [{ id: 35, value: 1 }] })).json.error_code).toBe('field_editing_is_not_allowed');
      const bad = await post('{not json');
      expect(bad.status).toBe(400);
      expect(bad.json.error_code).toBe('invalid_json');
      expect((await call(emulator, 'GET', '/v4/tasks/777', { token })).status).toBe(403);
      expect(emulator.getTask(1001)!.comments!.length).toBe(1);
    });
  });

  describe('forms, register, catalogs, inbox', () => {
    let token: string;
    beforeEach(async () => {
      token = await login(emulator);
      const base = emulator.getTask(1002)!;
      const amounts = [100, 500, 1000, 5000];
      amounts.forEach((amount, i) =>
        emulator.addTask({
          ...base,
          id: 1100 + i,
          comments: [],
          fields: [
            { id: 1, type: 'text', name: 'Текст', value: i % 2 ? 'Счёт поставщика' : 'Аванс' },
            { id: 8, type: 'money', name: 'Деньги', value: amount },
            ...(i === 3 ? [] : [{ id: 9, type: 'date', name: 'Дата', value: `2026-0${i + 1}-10` }]),
            { id: 4, type: 'catalog', name: 'Справочник', value: { item_ids: [78122345 + (i % 2)] } },
          ],
        }),
      );
    });

    const ids = async (query: string) => {
      const res = await call(emulator, 'GET', `/v4/forms/2001/register${query}`, { token });
      expect(res.status).toBe(200);
      return (res.json.tasks as { id: number }[]).map((t) => t.id).filter((id) => id >= 1100);
    };

    it('filters the register with fld filters', async () => {
      expect(await ids('?fld8=500')).toEqual([1101]);
      expect(await ids('?fld8=gt500')).toEqual([1102, 1103]);
      expect(await ids('?fld8=lt1000')).toEqual([1100, 1101]);
      expect(await ids('?fld8=gt100,lt5000')).toEqual([1101, 1102]);
      expect(await ids('?fld8=100,5000')).toEqual([1100, 1103]);
      expect(await ids('?fld9=empty')).toEqual([1103]);
      expect(await ids('?fld9=*')).toEqual([1100, 1101, 1102]);
      expect(await ids('?fld9=gt2026-01-31')).toEqual([1101, 1102]);
      expect(await ids('?fld1=Счёт')).toEqual([1101, 1103]);
      expect(await ids('?fld4=78122346')).toEqual([1101, 1103]);
      expect(await ids('?fld8=gt100&fld1=Аванс')).toEqual([1102]);
    });

    it('finds a task by the value a comment gave its field, and not by the old one', async () => {
      expect(await ids('?fld8=500')).toEqual([1101]);
      const res = await call(emulator, 'POST', '/v4/tasks/1100/comments', { token, body: { field_updates: [{ id: 8, value: 500 }] } });
      expect(res.status).toBe(200);
      expect(await ids('?fld8=500')).toEqual([1100, 1101]);
      expect(await ids('?fld8=100')).toEqual([]);
    });

    it('lists a task replaced with another form_id under its new form only', async () => {
      emulator.addTask({ ...emulator.getTask(1101)!, form_id: 2002 });
      expect(await ids('')).toEqual([1100, 1102, 1103]);
    });

    it('lists only the tasks changed after modified_after (a comment or a replaced task is a change), before modified_before', async () => {
      await new Promise((r) => setTimeout(r, 5));
      const before = new Date().toISOString();
      expect(await ids(`?modified_after=${before}`)).toEqual([]);
      await new Promise((r) => setTimeout(r, 5));
      const res = await call(emulator, 'POST', '/v4/tasks/1102/comments', { token, body: { text: 'changed' } });
      expect(res.status).toBe(200);
      emulator.addTask({ ...emulator.getTask(1100)!, comments: [] });
      expect(await ids(`?modified_after=${before}`)).toEqual([1100, 1102]);
      expect(await ids(`?modified_before=${before}`)).toEqual([1101, 1103]);
      const post = await call(emulator, 'POST', '/v4/forms/2001/register', { token, body: { modified_after: before, fld8: 'gt500' } });
      expect(post.json.tasks.map((t: { id: number }) => t.id)).toEqual([1102]);
      const bad = await call(emulator, 'GET', '/v4/forms/2001/register?modified_after=yesterday', { token });
      expect(bad.status).toBe(400);
    });

    it('supports item_count, task_ids and POST bodies, and leaves comments out', async () => {
      const res = await call(emulator, 'GET', '/v4/forms/2001/register?item_count=2', { token });
      expect(res.json.tasks).toHaveLength(2);
      expect(res.json.tasks[0].comments).toBeUndefined();
      expect(await ids('?task_ids=1101,1103')).toEqual([1101, 1103]);
      const post = await call(emulator, 'POST', '/v4/forms/2001/register', {
        token,
        body: { fld8: 'gt400', task_ids: [1100, 1101, 1102], item_count: 1 },
      });
      expect(post.json.tasks.map((t: { id: number }) => t.id)).toEqual([1101]);
      // The call log names each register call's parameters (not their values), from the query and the body alike.
      expect(emulator.calls.filter((c) => c.path === '/v4/forms/2001/register').map((c) => c.registerParams)).toEqual([
        ['item_count'],
        ['task_ids'],
        ['fld8', 'item_count', 'task_ids'],
      ]);
    });

    it('serves the form definition, catalogs (without deleted items by default) and the inbox', async () => {
      const form = await call(emulator, 'GET', '/v4/forms/2001', { token });
      expect(form.json).toMatchObject({ id: 2001, steps: { '1': 'Бот' } });
      expect((await call(emulator, 'GET', '/v4/forms/9', { token })).json.error_code).toBe('access_denied_form');
      const catalog = await call(emulator, 'GET', '/v4/catalogs/3001', { token });
      expect(catalog.json.items).toHaveLength(2);
      const all = await call(emulator, 'GET', '/v4/catalogs/3001?include_deleted=true', { token });
      expect(all.json.items).toHaveLength(3);
      const inbox = await call(emulator, 'GET', '/v4/inbox', { token });
      expect(inbox.json.tasks.map((t: { id: number }) => t.id)).toEqual([1001]);
      const paymentsInbox = await call(emulator, 'GET', '/v4/inbox', { token: await login(emulator, PAYMENTS_LOGIN, PAYMENTS_KEY) });
      expect(paymentsInbox.json.tasks).toEqual([]);
    });
  });

  describe('quota', () => {
    it('sends the X-RateLimit headers, answers 429 past the limit, and opens a new window after it', async () => {
      emulator.setQuota({ limit: 3, windowMs: 400 });
      const token = await login(emulator);
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await call(emulator, 'GET', '/v4/tasks/1001', { token }));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
      expect(answers.map((a) => a.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
      expect(answers[0].headers.get('x-ratelimit-limit')).toBe('3');
      expect(Number(answers[0].headers.get('x-ratelimit-reset'))).toBe(1);
      expect(answers[3].json.error_code).toBe('too_many_requests');
      expect(emulator.quota('auto-reply')).toMatchObject({ used: 3, remaining: 0, rejected: 1, limit: 3 });

      // another bot has its own quota
      const payments = await login(emulator, PAYMENTS_LOGIN, PAYMENTS_KEY);
      expect((await call(emulator, 'GET', '/v4/inbox', { token: payments })).status).toBe(200);

      await new Promise((r) => setTimeout(r, 450));
      const after = await call(emulator, 'GET', '/v4/tasks/1001', { token });
      expect(after.status).toBe(200);
      expect(after.headers.get('x-ratelimit-remaining')).toBe('2');
    });

    it("with quotaScope 'company', every bot account draws on one window and a 'user' account keeps its own", async () => {
      const company = new PyrusEmulator({ seedDir: DEFAULT_SEED_DIR, autoDeliver: false, quotaScope: 'company', quotaLimit: 3 });
      await company.start();
      try {
        company.addBot({ name: 'head', login: 'head@example.org', securityKey: 'head-key', userId: 990001, type: 'user' });
        const auto = await login(company);
        const payments = await login(company, PAYMENTS_LOGIN, PAYMENTS_KEY);
        const head = await login(company, 'head@example.org', 'head-key');
        const statuses = [];
        for (const token of [auto, payments, auto, payments]) statuses.push((await call(company, 'GET', '/v4/inbox', { token })).status);
        expect(statuses).toEqual([200, 200, 200, 429]);
        expect(company.quota(COMPANY_QUOTA)).toMatchObject({ used: 3, remaining: 0, rejected: 1 });
        expect(company.quota('auto-reply')).toMatchObject({ used: 0, rejected: 0 });
        expect((await call(company, 'GET', '/v4/inbox', { token: head })).status).toBe(200);
        // An unmetered account (a benchmark's people) calls past any limit and leaves the windows as they were.
        company.addBot({ name: 'cfo', login: 'cfo@example.org', securityKey: 'cfo-key', userId: 990002, type: 'user', unmetered: true });
        const cfo = await login(company, 'cfo@example.org', 'cfo-key');
        for (let i = 0; i < 5; i++) expect((await call(company, 'GET', '/v4/inbox', { token: cfo })).status).toBe(200);
        expect(company.quota('cfo')).toMatchObject({ used: 0, rejected: 0 });
        expect(company.quota(COMPANY_QUOTA)).toMatchObject({ used: 3, rejected: 1 });
      } finally {
        await company.stop();
      }
    });

    it('reports seconds to the end of the window in X-RateLimit-Reset (default 5000 per 600 s)', async () => {
      const token = await login(emulator);
      const res = await call(emulator, 'GET', '/v4/inbox', { token });
      expect(res.headers.get('x-ratelimit-limit')).toBe('5000');
      expect(res.headers.get('x-ratelimit-remaining')).toBe('4999');
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBe(600);
      expect(emulator.calls.filter((c) => c.path === '/auth')).toHaveLength(1);
      expect(emulator.callsOf('auto-reply').map((c) => [c.method, c.path, c.status])).toEqual([
        ['POST', '/auth', 200],
        ['GET', '/v4/inbox', 200],
      ]);
    });
  });

  describe('admin routes', () => {
    it('seed tasks and bots, change the quota and expire tokens over HTTP', async () => {
      const token = await login(emulator);
      const task = { ...emulator.getTask(1002)!, id: 4242 };
      expect((await call(emulator, 'POST', '/_emulator/tasks', { body: { task } })).status).toBe(200);
      expect((await call(emulator, 'GET', '/v4/tasks/4242', { token })).json.task.id).toBe(4242);
      expect((await call(emulator, 'GET', '/_emulator/tasks/4242')).json.task.id).toBe(4242);

      const bot = await call(emulator, 'POST', '/_emulator/bots', { body: { name: 'payments', webhookUrl: 'http://127.0.0.1:9/hook' } });
      expect(bot.json).toEqual({ name: 'payments', userId: 100002, webhookUrl: 'http://127.0.0.1:9/hook' });
      expect(emulator.getBot('payments').securityKey).toBe(PAYMENTS_KEY);

      await call(emulator, 'POST', '/_emulator/quota', { body: { limit: 1, windowMs: 60_000 } });
      expect((await call(emulator, 'GET', '/v4/inbox', { token })).status).toBe(200);
      expect((await call(emulator, 'GET', '/v4/inbox', { token })).status).toBe(429);

      await call(emulator, 'POST', '/_emulator/tokens/expire', { body: {} });
      expect((await call(emulator, 'GET', '/v4/inbox', { token })).json.error_code).toBe('expired_token');

      await call(emulator, 'POST', '/_emulator/reset');
      const state = (await call(emulator, 'GET', '/_emulator/state')).json;
      expect(state.calls).toEqual([]);
      expect(state.tasks.map((t: { id: number }) => t.id)).toContain(4242);
      expect(JSON.stringify(state)).not.toContain(PAYMENTS_KEY);
    });
  });

  describe('faults', () => {
    let token: string;
    beforeEach(async () => {
      token = await login(emulator);
    });

    it('error rate: fails about the given share of matching calls', async () => {
      let n = 0;
      const seeded = new PyrusEmulator({ seedDir: DEFAULT_SEED_DIR, autoDeliver: false, random: () => [0.1, 0.9][n++ % 2] });
      await seeded.start();
      try {
        const t = await login(seeded);
        seeded.addFault({ kind: 'error', rate: 0.5, path: '/v4/tasks/*' });
        const statuses = [];
        for (let i = 0; i < 6; i++) statuses.push((await call(seeded, 'GET', '/v4/tasks/1001', { token: t })).status);
        expect(statuses).toEqual([500, 200, 500, 200, 500, 200]);
        expect((await call(seeded, 'GET', '/v4/inbox', { token: t })).status).toBe(200);
      } finally {
        await seeded.stop();
      }
    });

    it('burst: exactly N 5xx answers, then normal ones; scoped by method and path', async () => {
      emulator.addFault({ kind: 'burst', count: 2, status: 503, method: 'POST', path: '/v4/tasks/*/comments' });
      expect((await call(emulator, 'GET', '/v4/tasks/1001', { token })).status).toBe(200);
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await call(emulator, 'POST', '/v4/tasks/1001/comments', { token, body: { text: `try ${i}` } })).status);
      expect(statuses).toEqual([503, 503, 200]);
      expect(emulator.comments.map((c) => c.request.text)).toEqual(['try 2']);
      expect(emulator.calls.filter((c) => c.fault === 'burst')).toHaveLength(2);
    });

    it('slow: answers after the delay', async () => {
      emulator.addFault({ kind: 'slow', delayMs: 250, count: 1 });
      const started = Date.now();
      const res = await call(emulator, 'GET', '/v4/tasks/1001', { token });
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    });

    it('timeout: never answers, so the client gives up; with delayMs the socket is closed', async () => {
      emulator.addFault({ kind: 'timeout', count: 1 });
      await expect(call(emulator, 'GET', '/v4/tasks/1001', { token, signal: AbortSignal.timeout(200) })).rejects.toThrow();
      emulator.addFault({ kind: 'timeout', count: 1, delayMs: 100 });
      await expect(call(emulator, 'GET', '/v4/tasks/1001', { token })).rejects.toThrow();
      expect((await call(emulator, 'GET', '/v4/tasks/1001', { token })).status).toBe(200);
      expect(emulator.calls.filter((c) => c.fault === 'timeout').map((c) => c.status)).toEqual([0, 0]);
    });

    it('phase "after": the comment is stored but the answer is lost (an uncertain outcome)', async () => {
      emulator.addFault({ kind: 'timeout', phase: 'after', count: 1, delayMs: 50, method: 'POST' });
      await expect(call(emulator, 'POST', '/v4/tasks/1001/comments', { token, body: { text: 'once' } })).rejects.toThrow();
      const task = (await call(emulator, 'GET', '/v4/tasks/1001', { token })).json.task;
      expect(task.comments.filter((c: { text?: string }) => c.text === 'once')).toHaveLength(1);
    });

    it('html: a proxy 502 with a non-JSON body; reset: the connection is dropped', async () => {
      emulator.addFault({ kind: 'html', count: 1 });
      const res = await call(emulator, 'GET', '/v4/tasks/1001', { token });
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.text).toContain('<html>');
      expect(res.json).toBeUndefined();
      emulator.addFault({ kind: 'reset', count: 1 });
      await expect(call(emulator, 'GET', '/v4/tasks/1001', { token })).rejects.toThrow();
    });

    it('is driven over HTTP through /_emulator/faults and visible in /_emulator/state', async () => {
      const added = await call(emulator, 'POST', '/_emulator/faults', {
        body: [{ kind: 'error', count: 1, status: 500, path: '/v4/inbox' }],
      });
      expect(added.status).toBe(201);
      expect(added.json.faults[0]).toMatchObject({ id: expect.any(String), kind: 'error' });
      expect((await call(emulator, 'GET', '/v4/inbox', { token })).json).toEqual({ error: expect.any(String), error_code: 'server_error' });
      expect((await call(emulator, 'GET', '/v4/inbox', { token })).status).toBe(200);
      expect((await call(emulator, 'POST', '/_emulator/faults', { body: { kind: 'nonsense' } })).status).toBe(400);
      const state = (await call(emulator, 'GET', '/_emulator/state')).json;
      expect(state.faults).toHaveLength(1);
      expect(state.calls.map((c: { path: string; status: number }) => [c.path, c.status])).toEqual([
        ['/auth', 200],
        ['/v4/inbox', 500],
        ['/v4/inbox', 200],
      ]);
      expect(state.quota.find((q: { bot: string }) => q.bot === 'auto-reply')).toMatchObject({ used: 1 });
      expect((await call(emulator, 'DELETE', '/_emulator/faults')).json.faults).toEqual([]);
    });
  });

  describe('botToBotWebhooks', () => {
    const MANAGER = { name: 'manager', login: 'manager@example.org', securityKey: 'manager-key', userId: 4242, type: 'user' as const };
    const CLERK = { name: 'clerk', login: 'bot@clerk', securityKey: 'clerk-key', userId: 4343 };
    let hooks: Server;
    let hooksUrl: string;
    let received: string[];

    /** The bots' webhooks: each records its bot's name; the clerk's answer is its approval (a comment, as Pyrus applies). */
    beforeEach(async () => {
      received = [];
      hooks = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const bot = (req.url ?? '').split('/')[2];
          received.push(bot);
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(bot === 'clerk' ? JSON.stringify({ text: 'Checked', approval_choice: 'approved' }) : '');
        });
      });
      await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
      hooksUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      await new Promise<void>((resolve) => {
        hooks.close(() => resolve());
        hooks.closeAllConnections();
      });
    });

    /** An emulator whose seed bots and the clerk have webhooks here, and a person (the manager) with a token. */
    async function emulatorWith(botToBotWebhooks?: boolean): Promise<PyrusEmulator> {
      const started = new PyrusEmulator({ seedDir: DEFAULT_SEED_DIR, botToBotWebhooks, timeScale: 0.01 });
      for (const name of ['auto-reply', 'payments']) started.addBot({ ...started.getBot(name), webhookUrl: `${hooksUrl}/bots/${name}` });
      started.addBot(MANAGER);
      started.addBot({ ...CLERK, webhookUrl: `${hooksUrl}/bots/clerk` });
      await started.start();
      return started;
    }

    /** Task 7001: each step waits on one account, in this order. */
    function addRoute(target: PyrusEmulator, ...accounts: string[]): void {
      const task = { ...target.getTask(1002)!, id: 7001, current_step: 1, comments: [] } as PyrusTask;
      task.approvals = accounts.map((name) => [{ person: target.getBot(name).person, approval_choice: 'waiting' as const }]);
      target.addTask(task);
    }

    async function approve(target: PyrusEmulator, account: string): Promise<void> {
      const res = await call(target, 'POST', '/v4/tasks/7001/comments', {
        token: target.issueToken(account),
        body: { approval_choice: 'approved' },
      });
      expect(res.status).toBe(200);
      await target.waitForDeliveries();
    }

    it("is on by default: a bot's vote, by API call or webhook answer, brings the next step's bot its webhook", async () => {
      const on = await emulatorWith();
      try {
        expect(on.botToBotWebhooks).toBe(true);
        addRoute(on, 'manager', 'clerk', 'auto-reply', 'payments');
        await approve(on, 'manager');
        // The manager's vote calls the clerk, whose answer moves the task to auto-reply's step, which is called too.
        expect(received).toEqual(['clerk', 'auto-reply']);
        await approve(on, 'auto-reply');
        expect(received).toEqual(['clerk', 'auto-reply', 'payments']);
        expect(on.getTask(7001)!.current_step).toBe(4);
      } finally {
        await on.stop();
      }
    });

    it("off: a bot's vote calls no bot, and the task waits in the next bot's inbox; a person's vote still calls", async () => {
      const off = await emulatorWith(false);
      try {
        addRoute(off, 'manager', 'clerk', 'auto-reply', 'payments');
        await approve(off, 'manager');
        // The clerk's webhook answer is a bot's vote: auto-reply is not called, and finds the task in its inbox.
        expect(received).toEqual(['clerk']);
        expect(off.getTask(7001)!.current_step).toBe(3);
        const inbox = await call(off, 'GET', '/v4/inbox', { token: off.issueToken('auto-reply') });
        expect(inbox.json.tasks.map((t: { id: number }) => t.id)).toContain(7001);

        // A bot's vote through the API alike.
        await approve(off, 'auto-reply');
        expect(off.getTask(7001)!.current_step).toBe(4);
        expect(received).toEqual(['clerk']);
        expect(off.deliveries.map((d) => d.bot)).toEqual(['clerk']);
        expect(off.getTask(7001)!.comments!.map((c) => [c.author?.type, c.changed_step])).toEqual([
          ['user', 2],
          ['bot', 3],
          ['bot', 4],
        ]);
      } finally {
        await off.stop();
      }
    });

    it('is read and changed through /_emulator/settings and shown in /_emulator/state', async () => {
      const live = await emulatorWith();
      try {
        expect((await call(live, 'GET', '/_emulator/settings')).json.settings).toEqual({
          autoDeliver: true,
          botToBotWebhooks: true,
          applyWebhookAnswers: true,
          timeScale: 0.01,
        });
        const changed = await call(live, 'POST', '/_emulator/settings', { body: { botToBotWebhooks: false } });
        expect(changed.status).toBe(200);
        expect(changed.json.settings).toMatchObject({ autoDeliver: true, botToBotWebhooks: false });
        expect(live.botToBotWebhooks).toBe(false);
        expect((await call(live, 'POST', '/_emulator/settings', { body: { botToBotWebhooks: 'no' } })).status).toBe(400);
        expect((await call(live, 'POST', '/_emulator/settings', { body: { timeScale: 0 } })).status).toBe(400);
        expect(live.botToBotWebhooks).toBe(false);
        const state = (await call(live, 'GET', '/_emulator/state')).json;
        expect(state.settings.botToBotWebhooks).toBe(false);
        expect(state.bots.find((b: { name: string }) => b.name === 'manager').type).toBe('user');

        addRoute(live, 'clerk', 'auto-reply');
        await approve(live, 'clerk');
        expect(received).toEqual([]);
        expect(live.getTask(7001)!.current_step).toBe(2);
      } finally {
        await live.stop();
      }
    });
  });
});
