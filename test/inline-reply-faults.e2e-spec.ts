import { mkdtempSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Client } from 'pg';
import { MetricsService } from '@app/observability';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { DeliveryAttempt, DeliveryRecord } from '../apps/pyrus-emulator/src/emulator.types';
import { AppProcess, buildAppsOnce } from './support/app-process';
import { freePort } from './support/child-processes';
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
import { TcpProxy } from './support/tcp-proxy';
import { TEST_REDIS_URL } from './support/test-env';

/** This file's task ids (shared database): 194_00N_xxx for case N. */
const FIRST_TASK = 194_001_000;
const LAST_TASK = 194_009_999;

/** A bot that answers inline, with a budget far above its decision time unless a fault gets in the way. */
const INLINE_BOT = { name: 'faults-inline', userId: 194_100, inlineBudgetMs: 3000 };
/**
 * Budgets around the decision time (storing, queueing, deciding: some 30-50 ms on a loaded machine), so that decisions
 * land as a budget ends; the shortest is always missed and the longest nearly always met.
 */
const EDGE_BUDGETS_MS = [5, 15, 25, 30, 35, 40, 50, 70, 100, 250];
const EDGE_BOTS = EDGE_BUDGETS_MS.map((ms, i) => ({ name: `faults-edge-${ms}`, userId: 194_110 + i, inlineBudgetMs: ms }));
const BOTS = [INLINE_BOT, ...EDGE_BOTS];
const keyOf = (bot: string) => `${bot}-key`;

function botsFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'inline-reply-faults-')), 'bots.json');
  const bots = BOTS.map((bot) => ({
    name: bot.name,
    login: `bot@test-${bot.name}`,
    securityKeys: [keyOf(bot.name)],
    handler: 'auto-reply',
    settings: {},
    reply: 'inline',
    inlineBudgetMs: bot.inlineBudgetMs,
  }));
  writeFileSync(file, JSON.stringify({ bots }));
  return file;
}

interface DeliveryFacts {
  outcome: string;
  delivered_via: string | null;
  status: string;
  attempts: number;
  repeat_count: number;
}

/**
 * The exactly-once edges of inline replies, each fault caused for real: an answer lost on its way to Pyrus, a decision
 * landing as the budget ends, the api or the worker killed mid-way, two apis holding the same delivery. Each case
 * checks what a user would: one bot comment on the task, arrived either in a webhook answer or by one API POST, and
 * a record (delivered_via) that says which.
 */
describe('inline replies under faults (real PostgreSQL, Redis, the Pyrus emulator, processes killed)', () => {
  let pyrus: PyrusEmulator;
  let db: Client;
  let bots: string;
  let build: string;

  beforeAll(async () => {
    build = buildAppsOnce();
    db = await testDb();
    await clearTaskRange(db, FIRST_TASK, LAST_TASK);
    pyrus = new PyrusEmulator({ autoDeliver: false, log: () => undefined });
    await pyrus.start();
    for (const bot of BOTS) {
      pyrus.addBot({ name: bot.name, login: `bot@test-${bot.name}`, securityKey: keyOf(bot.name), userId: bot.userId });
    }
    bots = botsFile();
  }, 180000);

  afterAll(async () => {
    await db?.end();
    await pyrus?.stop();
  });

  /** Api and worker of one case share a queue prefix (and so the inline-reply channels) no other case uses. */
  const caseEnv = (overrides: Record<string, string> = {}) =>
    testEnv({ PYRUS_AUTH_URL: pyrus.authUrl, PYRUS_API_URL: pyrus.apiUrl, BOTS_FILE: bots, ...overrides });

  /** A task waiting on the bot's vote at step 1, known to the emulator. */
  function newTask(taskId: number, userId: number) {
    const task = fixtureEvent().task;
    task.id = taskId;
    task.current_step = 1;
    task.approvals = [[{ person: { id: userId, type: 'bot' }, approval_choice: 'waiting' }]];
    pyrus.addTask(structuredClone(task));
    return task;
  }

  /** The body Pyrus signs for a delivery of `task` to `bot`. */
  function webhookBody(bot: { name: string; userId: number }, task: { id: number }): string {
    const access = pyrus.issueToken(bot.name);
    return JSON.stringify({ event: 'comment', access_token: access, task_id: task.id, user_id: bot.userId, bot_settings: '', task });
  }

  const webhookUrl = (port: number, bot: string) => `http://127.0.0.1:${port}/bots/${bot}/webhook`;
  const commentPosts = (taskId: number) => pyrus.calls.filter((c) => c.method === 'POST' && c.path === `/v4/tasks/${taskId}/comments`);
  const botComments = (taskId: number) => pyrus.comments.filter((c) => c.taskId === taskId);
  /** The comment a webhook answer carries, if any ({} or an ack carry none). */
  const commentIn = (answer: string | undefined): Record<string, unknown> | undefined => {
    const parsed = JSON.parse(answer || '{}') as Record<string, unknown>;
    return parsed.text !== undefined || parsed.approval_choice !== undefined ? parsed : undefined;
  };
  /** The attempt Pyrus took the answer of: the first 2xx (Pyrus stops there). */
  const takenAttempt = (delivery: DeliveryRecord): DeliveryAttempt | undefined => delivery.attempts.find((a) => a.ok);

  const facts = async (taskId: number): Promise<DeliveryFacts[]> =>
    (
      await db.query<DeliveryFacts>(
        `SELECT p.outcome, p.delivered_via, d.status, p.attempts, d.repeat_count
           FROM deliveries d LEFT JOIN processed_tasks p ON p.delivery_id = d.id
          WHERE d.task_id = $1`,
        [taskId],
      )
    ).rows;
  const processed = async (taskId: number) => (await facts(taskId))[0]?.status === 'processed';
  const allProcessed = async (taskIds: number[]) =>
    (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deliveries WHERE task_id = ANY($1::bigint[]) AND status = 'processed'`,
        [taskIds],
      )
    ).rows[0].n === taskIds.length;

  async function listen(app: INestApplication): Promise<number> {
    await new Promise<void>((resolve) => app.getHttpServer().listen(0, '127.0.0.1', resolve));
    return (app.getHttpServer() as { address(): AddressInfo }).address().port;
  }

  /** Results of the api's inline waits, from its own metrics: inline, timeout, taken_for_api, ... */
  async function waitResults(api: INestApplication): Promise<Record<string, number>> {
    const metric = await api.get(MetricsService).inlineWait.get();
    const counts: Record<string, number> = {};
    for (const v of metric.values) {
      if (v.metricName === 'pyrus_bots_inline_wait_seconds_count' && v.value > 0) {
        counts[String(v.labels.result)] = (counts[String(v.labels.result)] ?? 0) + v.value;
      }
    }
    return counts;
  }

  describe('with api and worker in this process', () => {
    let env: Record<string, string>;
    let api: INestApplication;
    let worker: INestApplication;
    let port: number;

    beforeAll(async () => {
      env = caseEnv();
      api = await startApi(env);
      port = await listen(api);
      worker = await startWorker(env);
    });

    afterAll(async () => {
      await api?.close();
      await worker?.close();
    });

    it('1. the answer is lost on its way to Pyrus: the retry gets the same comment, applied once, never posted', async () => {
      // Pyrus's 60 s timeout and 61 s retry, scaled to 1.8 s and 1.83 s.
      pyrus.timeScale = 0.03;
      const proxy = await new TcpProxy(port).start();
      try {
        const task = newTask(194_001_000, INLINE_BOT.userId);
        proxy.loseNextAnswers(1);
        const delivery = await pyrus.sendDelivery({
          bot: INLINE_BOT.name,
          taskId: task.id,
          url: proxy.url('http', `/bots/${INLINE_BOT.name}/webhook`),
        });

        // The first answer reached the relay, not Pyrus; Pyrus retried with the same signed body.
        expect(delivery.attempts.map((a) => [a.retryHeader, a.ok])).toEqual([
          ['1/3', false],
          ['2/3', true],
        ]);
        expect(proxy.lostAnswers).toHaveLength(1);
        const lostAnswer = commentIn(proxy.lostAnswers[0].split('\r\n\r\n')[1]);
        expect(lostAnswer).toMatchObject({ approval_choice: 'approved' });
        expect(commentIn(delivery.attempts[1].responseBody)).toEqual(lostAnswer);

        await waitFor('the delivery to be finished', () => processed(task.id));
        await sleep(500); // a post that should not come has had the time to
        expect(botComments(task.id).map((c) => [c.viaWebhookAnswer, c.request])).toEqual([[true, lostAnswer]]);
        expect(commentPosts(task.id)).toHaveLength(0);
        expect(await facts(task.id)).toEqual([
          { outcome: 'posted', delivered_via: 'inline', status: 'processed', attempts: 1, repeat_count: 1 },
        ]);

        // A copy later still (the delivery long finished): the same answer, and still nothing posted.
        const late = await sendSigned(api, INLINE_BOT.name, delivery.body, keyOf(INLINE_BOT.name)).expect(200);
        expect(commentIn(JSON.stringify(late.body))).toEqual(lostAnswer);
        await sleep(300);
        expect(commentPosts(task.id)).toHaveLength(0);
        expect(await facts(task.id)).toEqual([
          { outcome: 'posted', delivered_via: 'inline', status: 'processed', attempts: 1, repeat_count: 2 },
        ]);
      } finally {
        await proxy.cut();
      }
    });

    it('2. decisions landing as the budget ends: each is in the answer (inline) or posted once (api), never both, never neither', async () => {
      pyrus.timeScale = 0.05; // Pyrus waits 3 s for an answer: far above every budget here
      const perBot = 8;
      const resultsBefore = await waitResults(api);
      const sent: Array<{ taskId: number; budgetMs: number; delivery: Promise<DeliveryRecord> }> = [];
      let taskId = 194_002_000;
      // Waves of concurrent deliveries across every budget: the queue and the database vary the decision time.
      for (let round = 0; round < perBot; round++) {
        const wave = EDGE_BOTS.map((bot) => {
          const task = newTask(taskId++, bot.userId);
          const delivery = pyrus.sendDelivery({ bot: bot.name, taskId: task.id, url: webhookUrl(port, bot.name) });
          return { taskId: task.id, budgetMs: bot.inlineBudgetMs, delivery };
        });
        sent.push(...wave);
        await Promise.all(wave.map((w) => w.delivery));
      }
      const ids = sent.map((s) => s.taskId);
      await waitFor('every delivery to be finished', () => allProcessed(ids), 30000);
      await sleep(1000); // a second delivery of a decision (an answer and a post) would have come by now

      const byBudget = new Map<number, { inline: number; api: number }>();
      for (const s of sent) {
        const delivery = await s.delivery;
        const taken = takenAttempt(delivery);
        expect(taken).toBeDefined();
        const answered = commentIn(taken!.responseBody);
        const posts = commentPosts(s.taskId);
        const comments = botComments(s.taskId);
        const [record] = await facts(s.taskId);
        const tally = byBudget.get(s.budgetMs) ?? { inline: 0, api: 0 };
        byBudget.set(s.budgetMs, tally);
        const seen = { taskId: s.taskId, record, posts: posts.length, comments: comments.map((c) => Boolean(c.viaWebhookAnswer)) };
        if (answered) {
          tally.inline += 1;
          expect(seen).toEqual({
            ...seen,
            record: expect.objectContaining({ delivered_via: 'inline', outcome: 'posted' }),
            posts: 0,
            comments: [true],
          });
        } else {
          tally.api += 1;
          expect(seen).toEqual({
            ...seen,
            record: expect.objectContaining({ delivered_via: 'api', outcome: 'posted' }),
            posts: 1,
            comments: [false],
          });
        }
        expect(record.status).toBe('processed');
      }
      const inline = [...byBudget.values()].reduce((n, t) => n + t.inline, 0);
      const viaApi = sent.length - inline;
      const resultsAfter = await waitResults(api);
      const results = Object.fromEntries(
        Object.entries(resultsAfter)
          .map(([k, v]) => [k, v - (resultsBefore[k] ?? 0)])
          .filter(([, v]) => v),
      );
      process.stdout.write(
        `budget edge: ${sent.length} deliveries, ${inline} answered inline, ${viaApi} posted through the API; ` +
          `by budget ${[...byBudget].map(([ms, t]) => `${ms}ms ${t.inline}/${t.api}`).join(', ')}; api wait results ${JSON.stringify(results)}\n`,
      );
      expect(inline).toBeGreaterThan(0);
      expect(viaApi).toBeGreaterThan(0);
    }, 60000);

    it('5. two apis hold the same delivery (a retry while the first waits): one comment, every answer the same', async () => {
      const second = await startApi(env);
      try {
        const queue = deliveriesQueue(worker);
        const rounds: Array<{ taskId: number; answers: string[]; paused: boolean }> = [];
        let taskId = 194_005_000;
        // Three rounds with the worker held until both apis wait, then ten with the worker free (a true race).
        for (let round = 0; round < 13; round++) {
          const paused = round < 3;
          const task = newTask(taskId++, INLINE_BOT.userId);
          const body = webhookBody(INLINE_BOT, task);
          if (paused) await queue.pause(true);
          try {
            // then() sends each request now, not when awaited.
            const both = [api, second].map((app) => sendSigned(app, INLINE_BOT.name, body, keyOf(INLINE_BOT.name)).then((r) => r));
            if (paused) {
              await waitFor('the delivery stored', async () => (await facts(task.id))[0]?.repeat_count === 1);
              await sleep(200); // both apis are in their wait now
              await queue.resume(true);
            }
            const answers = await Promise.all(both);
            expect(answers.map((a) => a.status)).toEqual([200, 200]);
            rounds.push({ taskId: task.id, answers: answers.map((a) => JSON.stringify(a.body)), paused });
          } finally {
            await queue.resume(true);
          }
        }
        await waitFor('every delivery to be finished', () => allProcessed(rounds.map((r) => r.taskId)));
        await sleep(1000);

        let bothInline = 0;
        for (const round of rounds) {
          const carried = round.answers.map(commentIn).filter((c) => c !== undefined);
          const [record] = await facts(round.taskId);
          const posts = commentPosts(round.taskId).length;
          // Pyrus keeps the answer of the attempt it took; any answer that carries a comment carries this one.
          expect(new Set(carried.map((c) => JSON.stringify(c))).size).toBeLessThanOrEqual(1);
          expect({ taskId: round.taskId, delivered: (carried.length > 0 ? 1 : 0) + posts }).toEqual({ taskId: round.taskId, delivered: 1 });
          expect(record).toMatchObject({
            delivered_via: carried.length > 0 ? 'inline' : 'api',
            outcome: 'posted',
            status: 'processed',
            repeat_count: 1,
          });
          // The answers came to this test, not to the emulator: its comments are the API's posts.
          expect(botComments(round.taskId)).toHaveLength(posts);
          if (round.paused) expect(carried).toHaveLength(2);
          if (carried.length === 2) bothInline += 1;
        }
        process.stdout.write(
          `two apis: ${rounds.length} deliveries sent to both at once, ${bothInline} answered with the comment by both\n`,
        );
      } finally {
        await second.close();
      }
    }, 60000);
  });

  it('3. the api is killed while it waits: the worker posts once answerBy passes; the retry to a fresh api gets {}', async () => {
    const budgetMs = INLINE_BOT.inlineBudgetMs;
    // Pyrus's retry comes 6.1 s after the first attempt: well after the budget, when the worker has posted.
    pyrus.timeScale = 0.1;
    const env = caseEnv();
    const port = await freePort();
    const apiEnv = { ...env, PORT: String(port), LOG_LEVEL: 'info' };
    const apis: AppProcess[] = [];
    const worker = await startWorker(env);
    try {
      const first = new AppProcess(build, 'api', apiEnv);
      apis.push(first);
      await first.waitForLog(/^api listening/);
      const queue = deliveriesQueue(worker);
      // The worker holds its jobs until the api is gone, so the api is still waiting for the decision when it dies.
      await queue.pause(true);
      const task = newTask(194_003_000, INLINE_BOT.userId);
      const delivery = pyrus.sendDelivery({ bot: INLINE_BOT.name, taskId: task.id, url: webhookUrl(port, INLINE_BOT.name) });
      const deliveryId = await waitFor('the delivery stored', async () => {
        const { rows } = await db.query<{ id: string }>('SELECT id FROM deliveries WHERE task_id = $1', [task.id]);
        return rows[0]?.id;
      });
      const job = await waitFor('the job queued', () => queue.getJob(deliveryId));
      await first.kill();
      const killedAt = Date.now();
      await queue.resume(true);

      const fresh = new AppProcess(build, 'api', apiEnv);
      apis.push(fresh);
      await fresh.waitForLog(/^api listening/);
      const record = await delivery;
      await waitFor('the delivery to be finished', () => processed(task.id));
      await sleep(500);

      const answerBy = (job.data as { answerBy: number }).answerBy;
      expect(answerBy).toBeGreaterThan(killedAt);
      expect(record.attempts[0]).toMatchObject({ retryHeader: '1/3', ok: false });
      const taken = takenAttempt(record);
      expect(taken?.retryHeader).not.toBe('1/3');
      expect(taken?.responseBody).toBe('{}');
      // One comment, posted through the API, after the dead api's budget ran out.
      expect(botComments(task.id).map((c) => Boolean(c.viaWebhookAnswer))).toEqual([false]);
      expect(commentPosts(task.id)).toHaveLength(1);
      expect(Date.parse(commentPosts(task.id)[0].at)).toBeGreaterThanOrEqual(answerBy - 5);
      expect(await facts(task.id)).toEqual([
        { outcome: 'posted', delivered_via: 'api', status: 'processed', attempts: 1, repeat_count: 1 },
      ]);
      process.stdout.write(
        `api killed: the worker posted ${Date.parse(commentPosts(task.id)[0].at) - answerBy} ms after answerBy ` +
          `(${budgetMs} ms budget); Pyrus's retry ${taken?.retryHeader} reached the fresh api ${taken?.offsetMs} ms after the first attempt\n`,
      );
      expect(fresh.stderr).toBe('');
    } finally {
      await Promise.all(apis.map((a) => a.kill()));
      await worker.close();
    }
  }, 60000);

  it('4. the worker is killed right after it records the decision: the api answers inline, a second worker finishes with no post', async () => {
    pyrus.timeScale = 0.05;
    const env = caseEnv({ QUEUE_LOCK_DURATION_MS: '2000', QUEUE_STALLED_INTERVAL_MS: '1000' });
    const workerEnv = async () => ({ ...env, LOG_LEVEL: 'info', WORKER_PORT: String(await freePort()) });
    const api = await startApi(env);
    const port = await listen(api);
    const workers: AppProcess[] = [];
    const subscriber = new Redis(TEST_REDIS_URL);
    try {
      // The kill is sent as the 'decided' message arrives, and the worker's finish comes a few milliseconds later (the
      // api's claim, its word back, one UPDATE): a run where the worker finished first is not this case, and is tried
      // again with a fresh task, up to five times.
      await subscriber.subscribe(`${env.QUEUE_PREFIX}:inline:decisions`);
      let killedAt = 0;
      let onDecided: (key: string) => void = () => undefined;
      subscriber.on('message', (_channel: string, text: string) => {
        const message = JSON.parse(text) as { key: string; news: string };
        if (message.news === 'decided') onDecided(message.key);
      });
      let task!: ReturnType<typeof newTask>;
      let record!: DeliveryRecord;
      for (let run = 0; run < 5; run++) {
        task = newTask(194_004_000 + run, INLINE_BOT.userId);
        const first = new AppProcess(build, 'worker', await workerEnv());
        workers.push(first);
        await first.waitForLog(/^worker running/);
        killedAt = 0;
        onDecided = (key) => {
          if (key.startsWith(`${INLINE_BOT.name}:${task.id}:`) && !killedAt) {
            first.child.kill('SIGKILL');
            killedAt = Date.now();
          }
        };
        record = await pyrus.sendDelivery({ bot: INLINE_BOT.name, taskId: task.id, url: webhookUrl(port, INLINE_BOT.name) });
        await first.exited;
        expect(killedAt).toBeGreaterThan(0);
        if (!(await processed(task.id))) break;
        process.stdout.write(`worker killed after deciding: run ${run + 1} finished before the SIGKILL landed; again\n`);
      }
      // Killed with the decision recorded and taken by the api, the delivery not finished.
      expect(await facts(task.id)).toEqual([
        { outcome: 'posting', delivered_via: 'inline', status: 'received', attempts: 1, repeat_count: 0 },
      ]);
      expect(record.attempts.map((a) => [a.retryHeader, a.ok])).toEqual([['1/3', true]]);
      const answered = commentIn(record.attempts[0].responseBody);
      expect(answered).toMatchObject({ approval_choice: 'approved' });

      const second = new AppProcess(build, 'worker', await workerEnv());
      workers.push(second);
      await second.waitForLog(/^worker running/);
      await waitFor('the second worker to finish the delivery', () => processed(task.id), 20000);
      const recoveredMs = Date.now() - killedAt;
      await sleep(500);

      // Finished by the second worker's run of the job (attempt 2), or, when the machine is slow enough for Bull to count
      // the job stalled twice, by its failure for good, which leaves a decision answered inline posted (attempt 1).
      const [finished] = await facts(task.id);
      expect(finished).toEqual({
        outcome: 'posted',
        delivered_via: 'inline',
        status: 'processed',
        attempts: finished.attempts,
        repeat_count: 0,
      });
      expect([1, 2]).toContain(finished.attempts);
      expect(botComments(task.id).map((c) => [c.viaWebhookAnswer, c.request])).toEqual([[true, answered]]);
      expect(commentPosts(task.id)).toHaveLength(0);
      const finishedByTheJob = second.logLines().filter((l) => l.msg === "Decision answered in the webhook's answer; nothing to post");
      expect(finishedByTheJob).toHaveLength(finished.attempts === 2 ? 1 : 0);
      expect(second.stderr).toBe('');
      process.stdout.write(`worker killed after deciding: the second worker finished the delivery ${recoveredMs} ms after the SIGKILL\n`);
    } finally {
      subscriber.disconnect();
      await Promise.all(workers.map((w) => w.stop()));
      await api.close();
    }
  }, 60000);
});
