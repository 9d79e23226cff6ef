import { createHash, randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { AdmissionError, DeliveryJourney } from '@app/deliveries';
import { MetricsService } from '@app/observability';
import { toStorablePayload } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { BACKFILL_RECENT_CLAIMS } from '../libs/database/src/migrations/1796500000000-DecisionClaims';
import { DeliveryReconciler } from '../apps/worker/src/deliveries/delivery.reconciler';
import { InboxSweeper, syntheticPayload } from '../apps/worker/src/inbox/inbox.sweeper';
import { PrivateRedis } from './support/private-redis';
import {
  clearTaskRange,
  deliveriesQueue,
  fixtureEvent,
  sendSigned,
  sleep,
  startApi,
  startWorker,
  testDb,
  testEnv,
  waitFor,
} from './support/stack';
import { FIXTURE_BOT_USER_ID, MANAGER_USER_ID, startTestEmulator } from './support/test-emulator';
import { TEST_BOT_KEY } from './support/test-env';

/** This file's task ids; other files share the database, so it touches only these. */
const FIRST_TASK_ID = 940000;
const LAST_TASK_ID = 949999;

/**
 * The promise of the service, under faults caused for real: a webhook answered 200 is decided, and decided once
 * (one comment on the task in the emulator). Api and worker run on a Redis of this file's own, which it flushes and
 * kills.
 */
describe('Acknowledged means decided exactly once (real Postgres, a private Redis and the Pyrus emulator)', () => {
  let pyrus: PyrusEmulator;
  let redis: PrivateRedis;
  let env: Record<string, string>;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let nextTaskId = FIRST_TASK_ID;

  /** A fresh task waiting on the bot's vote on its only step, known to the emulator, and its signed webhook body. */
  function newEvent(options: { comments?: boolean } = {}) {
    const event = fixtureEvent();
    event.task_id = event.task.id = nextTaskId++;
    event.access_token = pyrus.issueToken('auto-reply');
    event.task.current_step = 1;
    event.task.approvals = event.task.approvals.slice(0, 1);
    for (const step of event.task.approvals) for (const a of step) a.approval_choice = 'waiting';
    // In Pyrus ids are unique: the fixture's human author has the bot's id, which the inbox sweep would take for the bot.
    for (const c of event.task.comments) if (c.author?.id === FIXTURE_BOT_USER_ID) c.author.id = MANAGER_USER_ID;
    if (options.comments === false) event.task.comments = [];
    pyrus.addTask(structuredClone(event.task));
    return event;
  }

  const commentsFor = (taskId: number) => pyrus.comments.filter((c) => c.taskId === taskId);
  const processedOf = async (taskId: number) =>
    (await db.query('SELECT outcome, reason, claim_key FROM processed_tasks WHERE task_id = $1 ORDER BY started_at', [taskId])).rows;
  const deliveriesOf = async (taskId: number) =>
    (await db.query('SELECT * FROM deliveries WHERE task_id = $1 ORDER BY received_at', [taskId])).rows;

  /** Waits until every task has a comment, then a little longer, and says how many comments each got. */
  async function commentCounts(taskIds: number[], timeoutMs = 30000): Promise<number[]> {
    await waitFor(`a comment on each of ${taskIds.length} tasks`, () => taskIds.every((id) => commentsFor(id).length > 0), timeoutMs);
    await sleep(1500);
    return taskIds.map((id) => commentsFor(id).length);
  }

  beforeAll(async () => {
    redis = await new PrivateRedis().start();
    pyrus = await startTestEmulator();
    env = testEnv({
      PYRUS_AUTH_URL: pyrus.authUrl,
      PYRUS_API_URL: pyrus.apiUrl,
      REDIS_URL: redis.url,
      RECONCILE_INTERVAL_MS: '300',
      RECONCILE_MIN_AGE_MS: '1000',
    });
    db = await testDb();
    await clearTaskRange(db, FIRST_TASK_ID, LAST_TASK_ID);
    api = await startApi(env);
    worker = await startWorker(env);
  });

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await db?.end();
    await pyrus?.stop();
    await redis?.stop();
  });

  beforeEach(() => {
    pyrus.clearFaults();
    pyrus.calls.length = 0;
  });

  describe('Redis loses its data while acknowledged deliveries are queued or in progress', () => {
    it('FLUSHALL: every acknowledged task is still decided, once', async () => {
      // Slow comments keep most jobs waiting or active when the data goes.
      pyrus.addFault({ kind: 'slow', method: 'POST', path: '/v4/tasks/*/comments', delayMs: 150 });
      const events = Array.from({ length: 30 }, () => newEvent());
      const answers = await Promise.all(events.map((e) => sendSigned(api, 'auto-reply', JSON.stringify(e), TEST_BOT_KEY)));
      expect(answers.map((a) => a.status)).toEqual(events.map(() => 200));
      await waitFor('the first comment', () => pyrus.comments.some((c) => c.taskId >= events[0].task_id));
      await redis.flushAll();
      const taskIds = events.map((e) => e.task_id);
      expect(await commentCounts(taskIds)).toEqual(taskIds.map(() => 1));
      const undecided = await db.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE task_id = ANY($1::bigint[]) AND status <> 'processed'`,
        [taskIds],
      );
      expect(undecided.rows[0].n).toBe(0);
    });

    it('a restart without persistence while the worker is busy: every acknowledged task is decided, once', async () => {
      pyrus.addFault({ kind: 'slow', method: 'POST', path: '/v4/tasks/*/comments', delayMs: 150 });
      const events = Array.from({ length: 30 }, () => newEvent());
      const answers = await Promise.all(events.map((e) => sendSigned(api, 'auto-reply', JSON.stringify(e), TEST_BOT_KEY)));
      expect(answers.map((a) => a.status)).toEqual(events.map(() => 200));
      await waitFor('the first comment', () => pyrus.comments.some((c) => c.taskId >= events[0].task_id));
      await redis.restart();
      const taskIds = events.map((e) => e.task_id);
      expect(await commentCounts(taskIds, 45000)).toEqual(taskIds.map(() => 1));
    });

    it('the reconciliation leaves alone a delivery whose job is still waiting, and counts what it queued again', async () => {
      const queue = deliveriesQueue(worker);
      await queue.pause(true);
      try {
        const event = newEvent();
        expect((await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY)).status).toBe(200);
        const [delivery] = await deliveriesOf(event.task_id);
        const queued = (await queue.getJob(delivery.id))!;
        // Past RECONCILE_MIN_AGE_MS, with the worker's own runs every 300 ms and one of ours.
        await sleep(1500);
        await waitFor('a reconciliation run', () => worker.get(DeliveryReconciler).reconcile());
        expect((await queue.getJob(delivery.id))?.timestamp).toBe(queued.timestamp);
        const requeuedBefore = await requeuedCount(worker);
        await queued.remove();
        const again = await waitFor('the job to be queued again', () => queue.getJob(delivery.id), 5000);
        expect(again.timestamp).toBeGreaterThan(queued.timestamp);
        expect(again.data).toMatchObject({ deliveryId: delivery.id, bot: 'auto-reply', taskId: event.task_id });
        // Counted once the run that added it finishes, a moment after the job is in Redis.
        await waitFor('the re-queue to be counted', async () => (await requeuedCount(worker)) > requeuedBefore, 5000);
        await queue.resume(true);
        expect(await commentCounts([event.task_id])).toEqual([1]);
      } finally {
        await queue.resume(true);
      }
    });
    it('pages through more unfinished deliveries than a page holds, stored in one microsecond, and ends', async () => {
      const events = Array.from({ length: 12 }, () => newEvent());
      // The worker's own reconciliation runs every 300 ms too: with its queue paused, none of the twelve is decided
      // before ours has paged through them all.
      const queue = deliveriesQueue(worker);
      await queue.pause(true);
      try {
        // One statement, one received_at with microseconds, as a group commit stores them; no job in Redis.
        await db.query(
          `INSERT INTO deliveries (bot, task_id, event, dedupe_key, request_id, received_at, status, body_bytes, payload)
           SELECT 'auto-reply', (e->>'task_id')::bigint, 'comment', 'page:' || (e->>'task_id'), 'page-test',
                  timestamptz '2026-01-01 00:00:00.123456+00', 'received', 1, e
             FROM jsonb_array_elements($1::jsonb) e`,
          [JSON.stringify(events)],
        );
        const result = await api.get(DeliveryJourney).reconcile(1000, undefined, 5);
        expect(result.checked).toBeGreaterThanOrEqual(12);
      } finally {
        await queue.resume(true);
      }
      const taskIds = events.map((e) => e.task_id);
      expect(await commentCounts(taskIds)).toEqual(taskIds.map(() => 1));
    });
  });

  describe('the inbox sweep and a webhook on the same task', () => {
    const sweep = () =>
      waitFor('an inbox sweep run', async () => {
        const result = await worker.get(InboxSweeper).sweep();
        return result.ran ? result : undefined;
      });

    /** Both deliveries stored and queued while the worker holds its jobs, then released together. */
    it('the sweep stores the task first, then the webhook comes under another key: one comment', async () => {
      const event = newEvent({ comments: false }); // no comments: the two are stored under different keys
      const queue = deliveriesQueue(worker);
      await queue.pause(true);
      try {
        expect((await sweep()).bots.find((b) => b.bot === 'auto-reply')).toMatchObject({ queued: 1 });
        expect((await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY)).status).toBe(200);
        expect(await deliveriesOf(event.task_id)).toHaveLength(2);
      } finally {
        await queue.resume(true);
      }
      expect(await commentCounts([event.task_id])).toEqual([1]);
      const records = await processedOf(event.task_id);
      expect(records.map((r) => r.outcome).sort()).toEqual(['posted', 'skipped']);
      expect(records.find((r) => r.outcome === 'posted').claim_key).toBe('step:1:round:0');
      expect(records.find((r) => r.outcome === 'skipped').reason).toMatch(/already voted on this step in this round/);
    });

    it('the webhook is in flight when the sweep comes: the sweep leaves the task to it', async () => {
      const event = newEvent({ comments: false });
      const queue = deliveriesQueue(worker);
      await queue.pause(true);
      try {
        expect((await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY)).status).toBe(200);
        await sweep();
        expect(await deliveriesOf(event.task_id)).toHaveLength(1);
      } finally {
        await queue.resume(true);
      }
      expect(await commentCounts([event.task_id])).toEqual([1]);
    });

    it('the sweep read the task before the webhook was decided and stores it after: one comment', async () => {
      const event = newEvent({ comments: false });
      const staleRead = pyrus.getTask(event.task_id)!;
      expect((await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY)).status).toBe(200);
      expect(await commentCounts([event.task_id])).toEqual([1]);
      // What the sweep's catch-up does with the task it read: a delivery stored as if Pyrus had sent it.
      const admitted = await api.get(DeliveryJourney).admit(
        {
          bot: 'auto-reply',
          storable: toStorablePayload(syntheticPayload(staleRead, FIXTURE_BOT_USER_ID)),
          retryHeader: null,
          userAgent: 'inbox-sweep',
          requestId: 'stale-sweep',
          bodyBytes: 0,
        },
        { countRepeats: false },
      );
      expect(admitted.inserted).toBe(true);
      await waitFor('the stale delivery to settle', async () => (await deliveriesOf(event.task_id)).every((d) => d.status !== 'received'));
      await sleep(500);
      expect(commentsFor(event.task_id)).toHaveLength(1);
      expect((await processedOf(event.task_id)).map((r) => r.outcome).sort()).toEqual(['posted', 'skipped']);
    });

    it('a version decided before claims existed (the upgrade) still counts as decided', async () => {
      const event = newEvent({ comments: false });
      const staleRead = pyrus.getTask(event.task_id)!;
      expect((await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY)).status).toBe(200);
      expect(await commentCounts([event.task_id])).toEqual([1]);
      // As the row was before migration 1796500000000, which then fills in the claim.
      await db.query('UPDATE processed_tasks SET claim_key = NULL WHERE task_id = $1', [event.task_id]);
      await db.query(BACKFILL_RECENT_CLAIMS);
      expect((await processedOf(event.task_id))[0].claim_key).toBe('step:1:round:0');
      await api.get(DeliveryJourney).admit(
        {
          bot: 'auto-reply',
          storable: toStorablePayload(syntheticPayload(staleRead, FIXTURE_BOT_USER_ID)),
          retryHeader: null,
          userAgent: 'inbox-sweep',
          requestId: 'stale-after-upgrade',
          bodyBytes: 0,
        },
        { countRepeats: false },
      );
      await waitFor('the stale delivery to settle', async () => (await deliveriesOf(event.task_id)).every((d) => d.status !== 'received'));
      await sleep(500);
      expect(commentsFor(event.task_id)).toHaveLength(1);
    });

    it('a replay of the skipped delivery does not post a second time', async () => {
      const event = newEvent({ comments: false });
      const queue = deliveriesQueue(worker);
      await queue.pause(true);
      await sweep();
      expect((await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY)).status).toBe(200);
      await queue.resume(true);
      await commentCounts([event.task_id]);
      const skipped = (await deliveriesOf(event.task_id)).find((d) => d.status === 'skipped');
      expect(skipped).toBeDefined();
      const journey = api.get(DeliveryJourney);
      expect(
        await journey.reopen(
          { deliveryId: skipped.id, requestId: skipped.request_id, bot: skipped.bot, taskId: Number(skipped.task_id) },
          'skipped',
        ),
      ).toBe(true);
      await waitFor('the replay to settle', async () => (await deliveriesOf(event.task_id)).every((d) => d.status !== 'received'));
      await sleep(500);
      expect(commentsFor(event.task_id)).toHaveLength(1);
    });
  });

  describe('one delivery PostgreSQL refuses, inside a busy batch', () => {
    it('only that delivery fails; the others in its batch are stored and decided', async () => {
      const journey = api.get(DeliveryJourney);
      const events = Array.from({ length: 40 }, () => newEvent());
      const poisoned = events[20];
      // Not made storable: a NUL PostgreSQL's jsonb refuses, as if the intake's check had missed it.
      poisoned.task.text = 'before\u0000after';
      const admit = (e: Record<string, any>, i: number) =>
        journey.admit({
          bot: 'auto-reply',
          storable: e === poisoned ? { payload: e as any, replacedChars: 0 } : toStorablePayload(e as any),
          retryHeader: null,
          userAgent: 'test',
          requestId: `poison-${i}`,
          bodyBytes: 1,
        });
      // Submitted in one tick: the first flush takes the first, the next flush the other 39 together.
      const results = await Promise.allSettled(events.map(admit));
      const refused = results[20];
      expect(refused.status).toBe('rejected');
      expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(AdmissionError);
      expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 'PAYLOAD_REFUSED', retryable: false });
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(39);
      const clean = events.filter((e) => e !== poisoned).map((e) => e.task_id);
      expect(await commentCounts(clean)).toEqual(clean.map(() => 1));
      expect(await deliveriesOf(poisoned.task_id)).toHaveLength(0);
    });

    it('over HTTP: 160 clean deliveries, repaired ones and one PostgreSQL refuses, at once: only that one gets an error', async () => {
      const events = Array.from({ length: 160 }, () => newEvent());
      const repaired = [newEvent(), newEvent()];
      repaired[0].task.text = 'NUL \u0000 here';
      const refused = newEvent();
      // An event name longer than a btree index entry may be (its natural key is indexed): PostgreSQL refuses the row.
      refused.event = randomBytes(9000).toString('base64');
      const bodies = [
        ...events.map((e) => JSON.stringify(e)),
        JSON.stringify(repaired[0]),
        JSON.stringify(repaired[1]).replace('"text":"', '"text":"\\ud800'),
        JSON.stringify(refused),
      ];
      const answers = await Promise.all(bodies.map((b) => sendSigned(api, 'auto-reply', b, TEST_BOT_KEY)));
      const refusedAnswer = answers.pop()!;
      expect(refusedAnswer.status).toBe(400);
      expect(refusedAnswer.body).toMatchObject({ error: 'PAYLOAD_REFUSED' });
      expect(answers.filter((a) => a.status !== 200).map((a) => [a.status, a.body])).toEqual([]);
      const all = [...events, ...repaired].map((e) => e.task_id);
      expect(await commentCounts(all, 60000)).toEqual(all.map(() => 1));
      expect(await deliveriesOf(refused.task_id)).toHaveLength(0);
    });
  });

  describe('payloads that can be verified but not stored as they are', () => {
    it('a NUL character: stored with U+FFFD, the raw body’s SHA-256 kept, the task decided once', async () => {
      const event = newEvent();
      event.task.comments[0].text = 'a\u0000b';
      const body = JSON.stringify(event);
      expect(body).toContain('\\u0000');
      const repairedBefore = await repairedCount();
      const res = await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY);
      expect(res.status).toBe(200);
      const [delivery] = await deliveriesOf(event.task_id);
      expect(delivery.payload.task.comments[0].text).toBe('a\uFFFDb');
      expect(delivery.replaced_chars).toBe(1);
      expect(delivery.body_sha256).toBe(createHash('sha256').update(body).digest('hex'));
      expect(await commentCounts([event.task_id])).toEqual([1]);
      expect((await repairedCount()) - repairedBefore).toBe(1);
    });

    it('a lone surrogate, in a value and in a key: stored with U+FFFD, the task decided once', async () => {
      const event = newEvent();
      const body = JSON.stringify(event).replace('"text":"', '"text":"\\ud800 ').replace('"task":{', '"task":{"\\udc00key":1,');
      const res = await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY);
      expect(res.status).toBe(200);
      const [delivery] = await deliveriesOf(event.task_id);
      expect(delivery.replaced_chars).toBe(2);
      expect(delivery.payload.task['\uFFFDkey']).toBe(1);
      expect(JSON.stringify(delivery.payload)).toContain('\uFFFD ');
      expect(await commentCounts([event.task_id])).toEqual([1]);
    });

    it('JSON nested 10,000 deep: 400 with a clear message, counted, nothing stored', async () => {
      const event = newEvent();
      const deep = '['.repeat(10000) + ']'.repeat(10000);
      const body = JSON.stringify({ ...event, task: { ...event.task, deep: '__DEEP__' } }).replace('"__DEEP__"', deep);
      const refusedBefore = await webhookOutcomeCount('refused');
      const res = await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'PAYLOAD_TOO_DEEP', message: expect.stringMatching(/nested deeper than 100 levels/) });
      expect(await deliveriesOf(event.task_id)).toHaveLength(0);
      expect((await webhookOutcomeCount('refused')) - refusedBefore).toBe(1);
      // The same bytes again (Pyrus's retry) get the same answer: nothing a retry could fix was called a 503.
      expect((await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY, { 'X-Pyrus-Retry': '2/3' })).status).toBe(400);
    });

    it('the inbox sweep records a task it cannot store, goes on with the rest, and leaves it at the next pass', async () => {
      const bad = newEvent();
      const good = newEvent();
      let nested: unknown = 'bottom';
      for (let i = 0; i < 150; i++) nested = [nested];
      pyrus.addTask({ ...structuredClone(bad.task), deep_field: nested });
      const sweeper = worker.get(InboxSweeper);
      const run = async () =>
        waitFor('an inbox sweep run', async () => {
          const result = await sweeper.sweep();
          return result.ran ? result.bots.find((b) => b.bot === 'auto-reply') : undefined;
        });
      const first = await run();
      expect(first).toMatchObject({ failed: 0 });
      expect(await commentCounts([good.task_id])).toEqual([1]);
      const [recorded] = await deliveriesOf(bad.task_id);
      expect(recorded).toMatchObject({ status: 'failed', user_agent: 'inbox-sweep', last_error: expect.stringMatching(/nested deeper/) });
      pyrus.calls.length = 0;
      await run();
      expect(pyrus.calls.filter((c) => c.method === 'GET' && c.path === `/v4/tasks/${bad.task_id}`)).toHaveLength(0);
      expect(await deliveriesOf(bad.task_id)).toHaveLength(1);
    });
  });

  async function metricValue(app: INestApplication, name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await app.get(MetricsService).registry.getSingleMetric(name)?.get();
    const matching = metric?.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)) ?? [];
    return matching.reduce((sum, v) => sum + v.value, 0);
  }
  const requeuedCount = (app: INestApplication) => metricValue(app, 'pyrus_bots_deliveries_requeued_total');
  const repairedCount = () => metricValue(api, 'pyrus_bots_webhook_payloads_repaired_total', { bot: 'auto-reply' });
  const webhookOutcomeCount = (outcome: string) => metricValue(api, 'pyrus_bots_webhook_deliveries_total', { bot: 'auto-reply', outcome });
});
