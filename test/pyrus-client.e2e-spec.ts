import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { BotCredentials, BotTokenStore, PyrusApiError, PyrusCaller, PyrusHttpClient, QuotaLimiter } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { FIXTURES_DIR } from './support/stack';
import { TEST_REDIS_URL } from './support/test-env';

const BOT = { name: 'payments', login: 'bot@client-test', securityKey: 'client-test-key', userId: 500001 };
const CREDENTIALS: BotCredentials = { login: BOT.login, securityKey: BOT.securityKey };
const caller: PyrusCaller = { bot: CREDENTIALS };

/** The client against the project's Pyrus emulator over real HTTP, with its state in the real Redis. */
describe('PyrusHttpClient against the emulator', () => {
  let emulator: PyrusEmulator;
  let redis: Redis;
  let prefix: string;
  let taskId: number;

  function newClient(options: { prefix?: string; timeoutMs?: number; quotaLimit?: number } = {}) {
    const keyOf = (...parts: string[]) => [options.prefix ?? prefix, ...parts].join(':');
    const quota = new QuotaLimiter(redis, keyOf, { limit: options.quotaLimit ?? 5000, windowMs: 600_000, decisionReserve: 0.1 });
    // The store signs in through the client made just below; it calls back only once a test asks for a token.
    const tokens = new BotTokenStore(redis, keyOf, (bot) => client.authenticate(bot));
    const client: PyrusHttpClient = new PyrusHttpClient(
      { authUrl: emulator.authUrl, apiUrl: emulator.apiUrl, timeoutMs: options.timeoutMs ?? 2000, retries: 3, retryBaseMs: 20 },
      tokens,
      quota,
    );
    return { client, tokens, quota };
  }

  const authCalls = () => emulator.calls.filter((c) => c.path === '/auth').length;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    await redis.quit();
  });

  beforeEach(async () => {
    prefix = `test-client-${randomUUID().slice(0, 8)}`;
    emulator = new PyrusEmulator({ bots: [BOT], autoDeliver: false, log: () => undefined });
    await emulator.start();
    const task = JSON.parse(readFileSync(resolve(FIXTURES_DIR, 'task.json'), 'utf8')).task;
    task.id = taskId = 7001;
    task.approvals = [[{ person: { id: BOT.userId, type: 'bot' }, approval_choice: 'waiting' }]];
    task.current_step = 1;
    emulator.addTask(task);
  });

  afterEach(async () => {
    await emulator.stop();
  });

  it('shares one token between two client instances (two processes)', async () => {
    const a = newClient();
    const b = newClient();
    await a.client.getTask(caller, taskId);
    await b.client.getTask(caller, taskId);
    await a.client.getTask(caller, taskId);
    expect(authCalls()).toBe(1);
  });

  it('signs in once for 20 concurrent calls of two instances (no refresh storm)', async () => {
    const a = newClient();
    const b = newClient();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).client.getTask(caller, taskId)));
    expect(results.every((t) => t.id === taskId)).toBe(true);
    expect(authCalls()).toBe(1);
  });

  it('signs in again, once, after the token expires', async () => {
    const { client } = newClient();
    await client.getTask(caller, taskId);
    emulator.expireTokens(BOT.name);
    await Promise.all(Array.from({ length: 10 }, () => client.getTask(caller, taskId)));
    expect(authCalls()).toBe(2);
    expect(emulator.calls.filter((c) => c.status === 401)).not.toHaveLength(0);
  });

  it('uses a webhook token while it works, then goes on as the bot', async () => {
    const { client } = newClient();
    const deliveryToken = emulator.issueToken(BOT.name);
    await client.getTask({ bot: CREDENTIALS, deliveryToken }, taskId);
    expect(authCalls()).toBe(0);
    emulator.expireTokens(BOT.name);
    await client.getTask({ bot: CREDENTIALS, deliveryToken }, taskId);
    expect(authCalls()).toBe(1);
  });

  it('stops on invalid credentials without calling /auth again, and says why', async () => {
    const { client, tokens } = newClient();
    const wrong: PyrusCaller = { bot: { login: BOT.login, securityKey: 'wrong-key' } };
    const err = await client.getTask(wrong, taskId).catch((e) => e);
    expect(err).toBeInstanceOf(PyrusApiError);
    expect(err).toMatchObject({ status: 401, errorCode: 'invalid_credentials', retryable: false });
    await expect(client.getTask(wrong, taskId)).rejects.toMatchObject({ errorCode: 'invalid_credentials' });
    expect(authCalls()).toBe(1);
    expect(await tokens.credentialFailure(BOT.login)).toMatch(/invalid_credentials/);
  });

  it('maps a 4xx to a PyrusApiError that is not retried', async () => {
    const { client } = newClient();
    const err = await client.getTask(caller, 999999).catch((e) => e);
    expect(err).toMatchObject({ status: 403, errorCode: 'access_denied_task', retryable: false });
    expect(emulator.calls.filter((c) => c.path === '/v4/tasks/999999')).toHaveLength(1);
  });

  it('retries a read after 5xx and a proxy HTML 502', async () => {
    const { client } = newClient();
    emulator.addFault({ kind: 'burst', method: 'GET', path: `/v4/tasks/${taskId}`, count: 1, status: 503 });
    emulator.addFault({ kind: 'html', method: 'GET', path: `/v4/tasks/${taskId}`, count: 1 });
    expect((await client.getTask(caller, taskId)).id).toBe(taskId);
    expect(emulator.calls.filter((c) => c.path === `/v4/tasks/${taskId}`).map((c) => c.status)).toEqual([503, 502, 200]);
  });

  it('waits out a 429 instead of failing, when another client spent the quota', async () => {
    emulator.setQuota({ limit: 4, windowMs: 3000 });
    // Someone else (another integration on the same bot account) spends the window.
    const foreignToken = emulator.issueToken(BOT.name);
    for (let i = 0; i < 4; i++) {
      await fetch(`${emulator.url}/v4/tasks/${taskId}`, { headers: { authorization: `Bearer ${foreignToken}` } });
    }
    const { client } = newClient();
    const started = Date.now();
    const task = await client.getTask(caller, taskId);
    expect(task.id).toBe(taskId);
    expect(emulator.quota(BOT.name).rejected).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('counts every bot in one window with scope company, each bot in its own by default', async () => {
    const limiter = (scope?: 'bot' | 'company') =>
      new QuotaLimiter(redis, (...parts: string[]) => [prefix, scope ?? 'default', ...parts].join(':'), {
        limit: 5000,
        windowMs: 600_000,
        decisionReserve: 0.1,
        ...(scope ? { scope } : {}),
      });
    for (const quota of [limiter(), limiter('company')]) {
      await quota.acquire('bot@a', 'decision');
      await quota.acquire('bot@a', 'read');
      await quota.acquire('bot@b', 'decision');
    }
    expect((await limiter().window('bot@b')).used).toBe(1);
    expect((await limiter('company').window('bot@b')).used).toBe(3);
    expect((await limiter('company').window('bot@c')).remaining).toBe(4997);
  });

  it('leaves part of each window to decisions: reads wait, a comment goes ahead', async () => {
    emulator.setQuota({ limit: 10, windowMs: 3000 });
    const { client } = newClient();
    await client.getTask(caller, taskId); // learns the limit: 10, so reads may take 9
    const reads = Promise.all(Array.from({ length: 9 }, () => client.getTask(caller, taskId)));
    await new Promise((r) => setTimeout(r, 300));
    const decided = Date.now();
    await client.createComment(caller, taskId, { text: 'decision first' }, { authorId: BOT.userId, since: new Date() });
    const commentTook = Date.now() - decided;
    await reads;
    expect(commentTook).toBeLessThan(1000);
    expect(emulator.quota(BOT.name).rejected).toBe(0);
  });

  it('keeps under a quota it learns from the headers: no 429 at all', async () => {
    emulator.setQuota({ limit: 5, windowMs: 1000 });
    const { client } = newClient();
    await client.getTask(caller, taskId); // the first answer's X-RateLimit-Limit teaches the client the limit
    const started = Date.now();
    await Promise.all(Array.from({ length: 12 }, () => client.getTask(caller, taskId)));
    expect(emulator.quota(BOT.name).rejected).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('reads the headers without a Redis round trip while they agree with the count, and adopts a higher count', async () => {
    emulator.setQuota({ limit: 100, windowMs: 600_000 });
    const { client, quota } = newClient();
    await client.getTask(caller, taskId); // signs in, opens the window, learns the limit
    const scripts = jest.spyOn(redis, 'eval');
    try {
      for (let i = 0; i < 3; i++) await client.getTask(caller, taskId);
      // One script per call (counting it): Pyrus's headers said nothing the counter did not know.
      expect(scripts).toHaveBeenCalledTimes(3);
      expect(await quota.used(BOT.login)).toBe(4);

      // Another client on the same account spends 5 calls: Pyrus now counts 10 with ours, we counted 5.
      const foreignToken = emulator.issueToken(BOT.name);
      for (let i = 0; i < 5; i++) {
        await fetch(`${emulator.url}/v4/tasks/${taskId}`, { headers: { authorization: `Bearer ${foreignToken}` } });
      }
      scripts.mockClear();
      await client.getTask(caller, taskId);
      expect(scripts).toHaveBeenCalledTimes(2);
      expect(await quota.used(BOT.login)).toBe(10);
    } finally {
      scripts.mockRestore();
    }
  });

  describe('posting a comment exactly once', () => {
    const request = { text: 'Approved by the client test', approval_choice: 'approved' as const };
    const commentsOnTask = () => emulator.comments.filter((c) => c.taskId === taskId);

    it.each([
      ['the answer times out', { kind: 'timeout' as const }],
      ['a 500 after the comment was applied', { kind: 'error' as const, status: 500 }],
      ['a proxy HTML 502 after the comment was applied', { kind: 'html' as const }],
    ])('does not post twice when %s', async (_, fault) => {
      const { client } = newClient({ timeoutMs: 500 });
      emulator.addFault({ ...fault, method: 'POST', path: `/v4/tasks/${taskId}/comments`, phase: 'after', count: 1 });
      const result = await client.createComment(caller, taskId, request, { authorId: BOT.userId, since: new Date() });
      expect(result.recovered).toBe(true);
      expect(result.comment?.text).toBe(request.text);
      expect(commentsOnTask()).toHaveLength(1);
    });

    it('posts again when a 5xx came before the comment was applied', async () => {
      const { client } = newClient();
      emulator.addFault({ kind: 'burst', method: 'POST', path: `/v4/tasks/${taskId}/comments`, count: 2, status: 500 });
      const result = await client.createComment(caller, taskId, request, { authorId: BOT.userId, since: new Date() });
      expect(result.recovered).toBe(false);
      expect(commentsOnTask()).toHaveLength(1);
      expect(emulator.getTask(taskId)?.approvals?.[0][0].approval_choice).toBe('approved');
    });
  });

  it('reads a catalog, syncs it (dry run, then applied) and applies a diff', async () => {
    const { client } = newClient();
    emulator.addCatalog({
      catalog_id: 3001,
      name: 'Suppliers',
      catalog_headers: [
        { name: 'Tax id', type: 'text' },
        { name: 'Name', type: 'text' },
      ],
      items: [
        { item_id: 1, values: ['7701', 'Acme'] },
        { item_id: 2, values: ['7702', 'Globex'] },
      ],
    });
    const items = async () => (await client.getCatalog(caller, 3001)).items?.map((i) => i.values.join('=')).sort();
    expect(await items()).toEqual(['7701=Acme', '7702=Globex']);

    const wanted = { catalog_headers: ['Tax id', 'Name'], items: [{ values: ['7701', 'Acme Ltd'] }, { values: ['7703', 'Initech'] }] };
    const dry = await client.syncCatalog(caller, 3001, { apply: false, ...wanted });
    expect(dry.added?.map((i) => i.values[0])).toEqual(['7703']);
    expect(dry.updated?.map((i) => i.values[1])).toEqual(['Acme Ltd']);
    expect(dry.deleted?.map((i) => i.values[0])).toEqual(['7702']);
    expect(await items()).toEqual(['7701=Acme', '7702=Globex']);

    await client.syncCatalog(caller, 3001, { apply: true, ...wanted });
    expect(await items()).toEqual(['7701=Acme Ltd', '7703=Initech']);

    const diff = await client.diffCatalog(caller, 3001, { upsert: [{ values: ['7704', 'Umbrella'] }], delete: ['7701'] });
    expect(diff.added?.map((i) => i.values[0])).toEqual(['7704']);
    expect(diff.deleted?.map((i) => i.values[0])).toEqual(['7701']);
    expect(await items()).toEqual(['7703=Initech', '7704=Umbrella']);
  });

  it('reads forms, the register with field filters, catalogs, the inbox and the profile', async () => {
    const { client } = newClient();
    emulator.addForm({
      id: 2001,
      name: 'Invoices',
      steps: { '1': 'Bot' },
      fields: [{ id: 8, type: 'money', name: 'Amount', code: 'amount' }],
    });
    for (const [id, amount] of [
      [8001, 500],
      [8002, 25000],
    ]) {
      emulator.addTask({ id, form_id: 2001, current_step: 1, fields: [{ id: 8, type: 'money', name: 'Amount', value: amount }] });
    }
    expect((await client.getForm(caller, 2001)).fields?.[0].code).toBe('amount');
    const register = await client.getFormRegister(caller, 2001, { fld8: 'gt1000' });
    expect(register.tasks.map((t) => t.id)).toEqual([8002]);
    expect((await client.getInbox(caller)).tasks.map((t) => t.id)).toContain(taskId);
    expect((await client.getProfile(caller)).person_id).toBe(BOT.userId);
  });
});
