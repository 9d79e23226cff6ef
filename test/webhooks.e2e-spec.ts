import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { signPyrusBody } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import {
  deliveriesQueue,
  fixtureEvent,
  sendSigned,
  ServiceUnderTest,
  sleep,
  startApi,
  startServiceWithEmulator,
  waitFor,
} from './support/stack';
import { TcpProxy } from './support/tcp-proxy';
import { TEST_BOT_KEY } from './support/test-env';

const APPROVAL_TEXT = 'Hello, ivanov@example.org. This task approved by bot.';

describe('POST /bots/:bot/webhook (real Postgres, Redis and the Pyrus emulator)', () => {
  let pyrus: PyrusEmulator;
  let env: Record<string, string>;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let service: ServiceUnderTest;
  let nextTaskId = 700000;

  /**
   * The fixture delivery for a fresh task id (so tests never see each other's jobs), known to the emulator and
   * carrying a webhook token the emulator issued.
   */
  function newEvent(bot = 'auto-reply') {
    const event = fixtureEvent();
    event.task_id = event.task.id = nextTaskId++;
    event.access_token = pyrus.issueToken(bot);
    pyrus.addTask(structuredClone(event.task));
    return event;
  }
  const commentPath = (taskId: number) => `/v4/tasks/${taskId}/comments`;
  const signIns = () => pyrus.calls.filter((c) => c.path === '/auth').length;

  const deliveriesOf = async (taskId: number) =>
    (await db.query('SELECT * FROM deliveries WHERE task_id = $1 ORDER BY received_at', [taskId])).rows;
  const processedOf = async (taskId: number) => (await db.query('SELECT * FROM processed_tasks WHERE task_id = $1', [taskId])).rows;
  const commentsFor = (taskId: number) => pyrus.comments.filter((c) => c.taskId === taskId);
  const callsFor = (taskId: number) =>
    pyrus.calls.filter((c) => c.path.startsWith(`/v4/tasks/${taskId}`)).map((c) => `${c.method} ${c.status}`);

  beforeAll(async () => {
    // The reconciliation queues what the api stored while Redis was down.
    service = await startServiceWithEmulator([700000, 799999], { RECONCILE_INTERVAL_MS: '300' });
    ({ pyrus, env, db, api, worker } = service);
  });

  afterAll(() => service?.close());

  beforeEach(() => {
    pyrus.calls.length = 0;
    pyrus.clearFaults();
  });

  it('stores a signed delivery, answers 200 {} and posts the approval with the delivery token', async () => {
    const event = newEvent();
    const body = JSON.stringify(event);
    const res = await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});

    const [delivery] = await deliveriesOf(event.task_id);
    expect(delivery).toMatchObject({ bot: 'auto-reply', event: 'comment', retry_header: '1/3', user_agent: 'Pyrus-Bot-4' });
    expect(delivery.payload.access_token).toBe('[REDACTED]');
    expect(JSON.stringify(delivery.payload)).not.toContain(event.access_token);

    await waitFor('the comment', () => commentsFor(event.task_id).length === 1);
    const [comment] = commentsFor(event.task_id);
    expect(comment.request).toEqual({ text: APPROVAL_TEXT, approval_choice: 'approved' });
    expect(signIns()).toBe(0); // the delivery's own token did the work
    const approvals = pyrus.getTask(event.task_id)?.approvals?.[event.task.current_step - 1];
    expect(approvals?.find((a) => a.person.id === event.user_id)?.approval_choice).toBe('approved');

    const [processed] = await waitFor('the processed record', async () => {
      const rows = await processedOf(event.task_id);
      return rows[0]?.outcome === 'posted' ? rows : undefined;
    });
    expect(processed).toMatchObject({ bot: 'auto-reply', handler: 'auto-reply', pyrus_status: 200, attempts: 1 });
    expect(processed.comment).toEqual({ text: APPROVAL_TEXT, approval_choice: 'approved' });
    expect(Number(processed.pyrus_comment_id)).toBeGreaterThan(0);
    expect(processed.received_at.getTime()).toBeLessThanOrEqual(processed.started_at.getTime());
    expect(processed.started_at.getTime()).toBeLessThanOrEqual(processed.posted_at.getTime());
    const [done] = await deliveriesOf(event.task_id);
    expect(done.status).toBe('processed');
    // Recorded after the answer, so the unqueued-delivery sweep leaves it alone.
    expect(done.queued_at).toBeInstanceOf(Date);
  });

  it('records when each of many concurrent deliveries was queued', async () => {
    const events = Array.from({ length: 30 }, () => newEvent());
    const answers = await Promise.all(events.map((e) => sendSigned(api, 'auto-reply', JSON.stringify(e), TEST_BOT_KEY)));
    expect(answers.map((r) => r.status)).toEqual(events.map(() => 200));
    const ids = events.map((e) => e.task_id);
    await waitFor('every queued_at', async () => {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM deliveries WHERE task_id = ANY($1) AND queued_at IS NOT NULL', [ids]);
      return rows[0].n === ids.length;
    });
  });

  it('answers a repeated delivery (X-Pyrus-Retry: 2/3) with 200 and posts nothing more', async () => {
    const body = JSON.stringify(newEvent());
    const taskId = JSON.parse(body).task_id;
    expect((await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY)).status).toBe(200);
    await waitFor('the first comment', () => commentsFor(taskId).length === 1);

    const again = await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY, { 'X-Pyrus-Retry': '2/3' });
    expect(again.status).toBe(200);
    await sleep(500);
    expect(commentsFor(taskId)).toHaveLength(1);
    const rows = await deliveriesOf(taskId);
    expect(rows).toHaveLength(1);
    expect(rows[0].repeat_count).toBe(1);
  });

  it('treats a new comment on the task as a new delivery', async () => {
    const event = newEvent();
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    event.task.comments.push({ id: 555001, text: 'one more thing', author: { id: 1 } });
    await waitFor('the first comment', () => commentsFor(event.task_id).length === 1);
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    expect(await deliveriesOf(event.task_id)).toHaveLength(2);
  });

  it('accepts a signature in upper case, and one made with the previous key', async () => {
    const body = JSON.stringify(newEvent());
    const upper = signPyrusBody(body, TEST_BOT_KEY).toUpperCase();
    await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY, { 'X-Pyrus-Sig': upper }).expect(200);
    await sendSigned(api, 'auto-reply', JSON.stringify(newEvent()), 'previous-key-still-accepted').expect(200);
  });

  it('rejects a wrong or missing signature with 401 and stores nothing', async () => {
    const event = newEvent();
    const body = JSON.stringify(event);
    const wrong = await sendSigned(api, 'auto-reply', body, 'not-the-key');
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('Invalid signature');
    const missing = await request(api.getHttpServer()).post('/bots/auto-reply/webhook').send(body);
    expect(missing.status).toBe(401);
    const tampered = await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY, {}).send(body.replace('Иван', 'Пётр'));
    expect([wrong.status, tampered.status]).toEqual([401, 401]);
    expect(await deliveriesOf(event.task_id)).toHaveLength(0);
  });

  it('answers 404 for a bot it does not host', async () => {
    const res = await sendSigned(api, 'nobody', '{}', 'x');
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('BOT_UNKNOWN');
  });

  it('answers 400 naming the problem for a signed body that is not JSON or lacks task_id / task', async () => {
    const notJson = await sendSigned(api, 'auto-reply', '{"task_id": 1, ', TEST_BOT_KEY);
    expect(notJson.status).toBe(400);
    expect(notJson.body.message).toMatch(/not valid JSON/);
    const noTaskId = await sendSigned(api, 'auto-reply', JSON.stringify({ task: {} }), TEST_BOT_KEY);
    expect(noTaskId.status).toBe(400);
    expect(noTaskId.body.message).toMatch(/task_id/);
    const noTask = await sendSigned(api, 'auto-reply', JSON.stringify({ task_id: 5 }), TEST_BOT_KEY);
    expect(noTask.status).toBe(400);
    expect(noTask.body.message).toMatch(/"task"/);
  });

  it('accepts any content type and answers with the bot ackText', async () => {
    const body2 = JSON.stringify(newEvent('polite'));
    const res = await sendSigned(api, 'polite', body2, 'polite-key', { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ text: 'Received, working on it' });
  });

  it('accepts a 3 MB delivery and refuses one over 16 MB with 413', async () => {
    const event = newEvent();
    event.task.comments[0].text = 'Счёт '.repeat(350_000); // 3.15 MB of UTF-8
    const body = JSON.stringify(event);
    expect(Buffer.byteLength(body)).toBeGreaterThan(3_000_000);
    await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY).expect(200);
    expect(await deliveriesOf(event.task_id)).toHaveLength(1);

    const huge = Buffer.alloc(17 * 1024 * 1024, 0x20);
    const res = await sendSigned(api, 'auto-reply', huge, TEST_BOT_KEY);
    expect(res.status).toBe(413);
  });

  it('ends in exactly one comment when Pyrus fails twice with 500', async () => {
    const event = newEvent();
    pyrus.addFault({ kind: 'burst', method: 'POST', path: commentPath(event.task_id), count: 2, status: 500 });
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    const [processed] = await waitFor('the posted record', async () => {
      const rows = await processedOf(event.task_id);
      return rows[0]?.outcome === 'posted' ? rows : undefined;
    });
    expect(processed.pyrus_status).toBe(200);
    expect(commentsFor(event.task_id)).toHaveLength(1);
    // A 500 leaves the outcome uncertain, so the task is read before each new post.
    expect(callsFor(event.task_id)).toEqual(['POST 500', 'GET 200', 'POST 500', 'GET 200', 'POST 200']);
  });

  it('does not post twice when Pyrus applied the comment but the answer was a 502', async () => {
    const event = newEvent();
    pyrus.addFault({ kind: 'html', method: 'POST', path: commentPath(event.task_id), count: 1, phase: 'after' });
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    await waitFor('the posted record', async () => (await processedOf(event.task_id))[0]?.outcome === 'posted');
    await sleep(300);
    expect(commentsFor(event.task_id)).toHaveLength(1);
    expect(callsFor(event.task_id)).toEqual(['POST 502', 'GET 200']);
  });

  it('does not retry a 4xx from Pyrus blindly: the delivery fails with the reason', async () => {
    const event = newEvent();
    pyrus.addFault({ kind: 'error', method: 'POST', path: commentPath(event.task_id), count: 5, status: 400 });
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    const [delivery] = await waitFor('the failed delivery', async () => {
      const rows = await deliveriesOf(event.task_id);
      return rows[0]?.status === 'failed' ? rows : undefined;
    });
    expect(delivery.last_error).toMatch(/answered 400/);
    expect((await processedOf(event.task_id))[0].outcome).toBe('failed');
    await sleep(300);
    expect(callsFor(event.task_id)).toEqual(['POST 400']);
    const failedJob = await deliveriesQueue(worker).getJob(delivery.id);
    expect(failedJob?.data.accessToken).toBeUndefined();
  });

  it("signs in as the bot when the webhook's own token has expired", async () => {
    const event = newEvent();
    pyrus.expireTokens('auto-reply');
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    await waitFor('the comment', () => commentsFor(event.task_id).length === 1);
    expect(callsFor(event.task_id)).toEqual(['POST 401', 'POST 200']);
    expect(signIns()).toBe(1);
  });

  it('decides a version of a task once, even when it arrives under two natural keys', async () => {
    // No comments: the natural key is a hash of the body, so another body of the same task version (as the inbox
    // sweep builds it) is a second delivery. It must not be a second decision.
    const event = newEvent();
    event.task.comments = [];
    pyrus.addTask(structuredClone(event.task));
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    await waitFor('the first comment', () => commentsFor(event.task_id).length === 1);
    const sameVersion = { ...event, bot_settings: 'another body, the same task' };
    await sendSigned(api, 'auto-reply', JSON.stringify(sameVersion), TEST_BOT_KEY).expect(200);
    const [, second] = await waitFor('the second delivery handled', async () => {
      const rows = await deliveriesOf(event.task_id);
      return rows.length === 2 && rows[1].status !== 'received' ? rows : undefined;
    });
    expect(second.status).toBe('skipped');
    expect((await processedOf(event.task_id)).map((p) => p.outcome).sort()).toEqual(['posted', 'skipped']);
    expect(commentsFor(event.task_id)).toHaveLength(1);
  });

  it('skips a task on which the bot has already voted', async () => {
    const event = newEvent();
    event.task.approvals[event.task.current_step - 1][0].approval_choice = 'approved';
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    await waitFor('the skip', async () => (await deliveriesOf(event.task_id))[0]?.status === 'skipped');
    expect(commentsFor(event.task_id)).toHaveLength(0);
    expect((await processedOf(event.task_id))[0].reason).toMatch(/already "approved"/);
  });

  describe('when a dependency of the api is down', () => {
    let pgProxy: TcpProxy;
    let redisProxy: TcpProxy;
    let flakyApi: INestApplication;

    beforeAll(async () => {
      pgProxy = await new TcpProxy(5432).start();
      redisProxy = await new TcpProxy(6379).start();
      const db = new URL(env.DATABASE_URL);
      const redis = new URL(env.REDIS_URL);
      flakyApi = await startApi({
        ...env,
        DATABASE_URL: pgProxy.url('postgres', `${db.pathname}`).replace('://', '://postgres@'),
        REDIS_URL: redisProxy.url('redis', redis.pathname),
      });
    });

    afterAll(async () => {
      await pgProxy.restore();
      await redisProxy.restore();
      await flakyApi?.close();
      await pgProxy.cut();
      await redisProxy.cut();
    });

    it('answers 503 while Postgres is down, and the retry after it is back is processed once', async () => {
      const body = JSON.stringify(newEvent());
      const taskId = JSON.parse(body).task_id;
      await pgProxy.cut();
      const down = await sendSigned(flakyApi, 'auto-reply', body, TEST_BOT_KEY);
      expect(down.status).toBe(503);
      expect(down.body.error).toBe('DATABASE_UNAVAILABLE');
      expect(await deliveriesOf(taskId)).toHaveLength(0);

      await pgProxy.restore();
      const retry = await sendSigned(flakyApi, 'auto-reply', body, TEST_BOT_KEY, { 'X-Pyrus-Retry': '2/3' });
      expect(retry.status).toBe(200);
      await waitFor('the comment', () => commentsFor(taskId).length === 1);
      await sleep(300);
      expect(commentsFor(taskId)).toHaveLength(1);
    });

    it('answers 503 while Redis is down, keeps the delivery, and the sweeper queues it once Redis is back', async () => {
      const body = JSON.stringify(newEvent());
      const taskId = JSON.parse(body).task_id;
      await redisProxy.cut();
      const down = await sendSigned(flakyApi, 'auto-reply', body, TEST_BOT_KEY);
      expect(down.status).toBe(503);
      expect(down.body.error).toBe('QUEUE_UNAVAILABLE');
      const [stored] = await deliveriesOf(taskId);
      expect(stored.queued_at).toBeNull();

      // Pyrus gave up on us; the worker's sweeper finds the stored delivery and signs in as the bot.
      await redisProxy.restore();
      pyrus.calls.length = 0;
      await deliveriesQueue(worker).client.del(`${env.QUEUE_PREFIX}:pyrus:token:bot@test-auto-reply`); // no cached sign-in
      await waitFor('the swept comment', () => commentsFor(taskId).length === 1, 15000);
      expect(signIns()).toBe(1); // a swept job has no webhook token: the worker signed in as the bot
      await sleep(500);
      expect(commentsFor(taskId)).toHaveLength(1);
      expect((await deliveriesOf(taskId))[0].status).toBe('processed');
    });

    it('a Pyrus retry after Redis is back queues the stored delivery with its own token', async () => {
      const body = JSON.stringify(newEvent());
      const taskId = JSON.parse(body).task_id;
      await redisProxy.cut();
      expect((await sendSigned(flakyApi, 'auto-reply', body, TEST_BOT_KEY)).status).toBe(503);
      await redisProxy.restore();
      await waitFor('redis to reconnect', () => deliveriesQueue(flakyApi).client.status === 'ready');
      expect((await sendSigned(flakyApi, 'auto-reply', body, TEST_BOT_KEY, { 'X-Pyrus-Retry': '2/3' })).status).toBe(200);
      pyrus.calls.length = 0;
      await waitFor('the comment', () => commentsFor(taskId).length === 1);
      expect(signIns()).toBe(0); // the retry's own token
      await sleep(1500);
      expect(commentsFor(taskId)).toHaveLength(1);
    });
  });
});
