import { mkdtempSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { TaskTimelineService } from '../apps/api/src/admin/tasks/task-timeline.service';
import { DeliveryService } from '../apps/worker/src/deliveries/delivery.service';
import { InboxSweeper } from '../apps/worker/src/inbox/inbox.sweeper';
import { DeliveryJourney } from '@app/deliveries';
import {
  clearTaskRange,
  deliveriesQueue,
  fixtureEvent,
  sendSigned,
  startApi,
  startWorker,
  testDb,
  testEnv,
  waitFor,
} from './support/stack';

const FIRST_TASK = 194_000_000;
const AUTO_USER_ID = 194_001;
const API_USER_ID = 194_002;
const SLOW_USER_ID = 194_003;

/** Auto-reply bots that differ only in how they answer: in the webhook's answer (auto, or inline with a long budget) or through the API. */
const BOTS = [
  { name: 'inline-auto', reply: 'auto', inlineBudgetMs: 3000, userId: AUTO_USER_ID },
  { name: 'inline-api', reply: 'api', userId: API_USER_ID },
  { name: 'inline-long', reply: 'inline', inlineBudgetMs: 8000, userId: SLOW_USER_ID },
] as const;

function botsFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'inline-reply-')), 'bots.json');
  const bots = BOTS.map(({ userId: _userId, ...bot }) => ({
    ...bot,
    login: `bot@test-${bot.name}`,
    securityKeys: [`${bot.name}-key`],
    handler: 'auto-reply',
    settings: {},
  }));
  writeFileSync(file, JSON.stringify({ bots }));
  return file;
}

/** The webhook's answer carrying the decision: no API call for it, and exactly one comment either way. */
describe('decisions in the webhook answer (reply: auto)', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let env: Record<string, string>;
  let nextTask = FIRST_TASK;

  beforeAll(async () => {
    db = await testDb();
    await clearTaskRange(db, FIRST_TASK, FIRST_TASK + 999);
    pyrus = new PyrusEmulator({ autoDeliver: false, log: () => undefined });
    await pyrus.start();
    // The sweep runs when a test calls it, and checks inline answers at once (Pyrus's retries are not played here).
    env = testEnv({ PYRUS_AUTH_URL: pyrus.authUrl, PYRUS_API_URL: pyrus.apiUrl, BOTS_FILE: botsFile(), INLINE_ANSWER_GRACE_MS: '0' });
    api = await startApi(env);
    await new Promise<void>((resolve) => api.getHttpServer().listen(0, '127.0.0.1', resolve));
    const port = (api.getHttpServer().address() as AddressInfo).port;
    for (const bot of BOTS) {
      pyrus.addBot({
        name: bot.name,
        login: `bot@test-${bot.name}`,
        securityKey: `${bot.name}-key`,
        userId: bot.userId,
        webhookUrl: `http://127.0.0.1:${port}/bots/${bot.name}/webhook`,
      });
    }
    // Pyrus's 60 s for an answer become 6 s: room for the budget on a loaded machine, while a retry comes in 6 s.
    pyrus.timeScale = 0.1;
    worker = await startWorker(env);
  });

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await db?.end();
    await pyrus?.stop();
  });

  /** A task waiting on the bot's vote at step 1. */
  function taskFor(userId: number): number {
    const task = fixtureEvent().task;
    task.id = nextTask++;
    task.current_step = 1;
    task.approvals = [[{ person: { id: userId, type: 'bot' }, approval_choice: 'waiting' }]];
    pyrus.addTask(task);
    return task.id;
  }

  const commentCalls = (taskId: number) => pyrus.calls.filter((c) => c.method === 'POST' && c.path === `/v4/tasks/${taskId}/comments`);
  const botComments = (taskId: number) => pyrus.comments.filter((c) => c.taskId === taskId);
  const record = async (taskId: number) =>
    (
      await db.query<{ outcome: string; delivered_via: string | null; status: string }>(
        `SELECT p.outcome, p.delivered_via, d.status FROM processed_tasks p JOIN deliveries d ON d.id = p.delivery_id
          WHERE p.task_id = $1`,
        [taskId],
      )
    ).rows;

  const DECIDED = { text: 'Approved', approval_choice: 'approved' };
  /** A delivery of the task still 'received', with its decision recorded (posting) and handed over as `via` says. */
  async function recordedDecision(taskId: number, via: 'inline' | null): Promise<string> {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO deliveries (bot, task_id, event, dedupe_key, request_id, status, body_bytes, payload)
       VALUES ('inline-auto', $1, 'comment', 'comment:c1', 'r-1', 'received', 2, '{}') RETURNING id`,
      [taskId],
    );
    await db.query(
      `INSERT INTO processed_tasks (delivery_id, bot, task_id, handler, outcome, comment, received_at, started_at, attempts, claim_key, delivered_via)
       VALUES ($1, 'inline-auto', $2, 'auto-reply', 'posting', $3, now(), now(), 1, 'step:1:round:0', $4)`,
      [rows[0].id, taskId, JSON.stringify(DECIDED), via],
    );
    return rows[0].id;
  }

  it('answers the webhook with the decision: the vote lands with no API call, and the record says inline', async () => {
    const taskId = taskFor(AUTO_USER_ID);
    const delivery = await pyrus.sendDelivery({ bot: 'inline-auto', taskId });
    expect(delivery.attempts.map((a) => a.status)).toEqual([200]);
    const answer = JSON.parse(delivery.attempts[0].responseBody ?? '{}') as { approval_choice?: string; text?: string };
    expect(answer.approval_choice).toBe('approved');
    expect(botComments(taskId).map((c) => Boolean(c.viaWebhookAnswer))).toEqual([true]);
    expect(pyrus.getTask(taskId)?.approvals?.[0]?.[0]?.approval_choice).toBe('approved');
    await waitFor('the delivery to be finished', async () => (await record(taskId))[0]?.status === 'processed');
    expect(await record(taskId)).toEqual([{ outcome: 'posted', delivered_via: 'inline', status: 'processed' }]);
    expect(commentCalls(taskId)).toHaveLength(0);
    // The audit: the timeline's decision and the call log say how it reached Pyrus.
    const timeline = await waitFor('the call log row', async () => {
      const { events } = await api.get(TaskTimelineService).timeline(taskId);
      return events.some((e) => e.kind === 'pyrus-call') ? events : undefined;
    });
    expect(timeline.filter((e) => e.kind === 'decision')).toEqual([expect.objectContaining({ deliveredVia: 'inline' })]);
    expect(timeline.filter((e) => e.kind === 'pyrus-call')).toEqual([
      expect.objectContaining({ operation: 'answer to POST /bots/{bot}/webhook', status: 200 }),
    ]);
  });

  it('a bot with reply api still answers {} at once and posts through the API', async () => {
    const taskId = taskFor(API_USER_ID);
    const delivery = await pyrus.sendDelivery({ bot: 'inline-api', taskId });
    expect(delivery.attempts[0].responseBody).toBe('{}');
    await waitFor('the comment to be posted', () => commentCalls(taskId).length === 1);
    await waitFor('the record', async () => (await record(taskId))[0]?.status === 'processed');
    expect(await record(taskId)).toEqual([{ outcome: 'posted', delivered_via: 'api', status: 'processed' }]);
    expect(botComments(taskId).map((c) => Boolean(c.viaWebhookAnswer))).toEqual([false]);
    const { events } = await api.get(TaskTimelineService).timeline(taskId);
    expect(events.filter((e) => e.kind === 'decision')).toEqual([expect.objectContaining({ deliveredVia: 'api' })]);
  });

  describe('the inbox sweep and an inline answer', () => {
    afterEach(() => pyrus.changeSettings({ applyWebhookAnswers: true }));

    it('sends again through the API a decision answered inline that Pyrus never applied', async () => {
      const taskId = taskFor(AUTO_USER_ID);
      // Pyrus takes the answer (200) but the comment never lands: as when every attempt's answer was lost.
      pyrus.changeSettings({ applyWebhookAnswers: false });
      const delivery = await pyrus.sendDelivery({ bot: 'inline-auto', taskId });
      expect(JSON.parse(delivery.attempts[0].responseBody ?? '{}')).toMatchObject({ approval_choice: 'approved' });
      await waitFor('the inline answer to be recorded', async () => (await record(taskId))[0]?.status === 'processed');
      expect(botComments(taskId)).toHaveLength(0);

      await worker.get(InboxSweeper).sweep();
      await waitFor('the decision to be posted through the API', () => commentCalls(taskId).length === 1);
      await waitFor('the delivery to be finished again', async () => (await record(taskId))[0]?.status === 'processed');
      expect(await record(taskId)).toEqual([{ outcome: 'posted', delivered_via: 'api', status: 'processed' }]);
      expect(pyrus.getTask(taskId)?.approvals?.[0]?.[0]?.approval_choice).toBe('approved');
      expect(botComments(taskId)).toHaveLength(1);

      // Nothing left to send: a later sweep posts nothing more.
      await worker.get(InboxSweeper).sweep();
      expect(commentCalls(taskId)).toHaveLength(1);
    });

    it('records the id of an applied inline answer the first time it sees it, and does not send it again', async () => {
      const taskId = taskFor(AUTO_USER_ID);
      // The bot approves a later step too, so the task stays in its inbox after the inline vote.
      const task = pyrus.getTask(taskId)!;
      task.approvals = [...(task.approvals ?? []), [{ person: { id: AUTO_USER_ID, type: 'bot' }, approval_choice: 'waiting' }]];
      pyrus.addTask(task);
      await pyrus.sendDelivery({ bot: 'inline-auto', taskId });
      await waitFor('the inline answer to be recorded', async () => (await record(taskId))[0]?.status === 'processed');
      const applied = botComments(taskId)[0];
      expect(applied.viaWebhookAnswer).toBe(true);

      await worker.get(InboxSweeper).sweep();
      const { rows } = await db.query<{ pyrus_comment_id: string | null }>(
        'SELECT pyrus_comment_id FROM processed_tasks WHERE task_id = $1',
        [taskId],
      );
      expect(rows.map((r) => Number(r.pyrus_comment_id))).toContain(applied.comment.id as number);
      // The sweep catches up step 2 (its webhook was not sent here) through the API; step 1 is not voted again.
      await waitFor('step 2 to be approved', () => pyrus.getTask(taskId)?.approvals?.[1]?.[0]?.approval_choice === 'approved');
      expect(botComments(taskId).map((c) => Boolean(c.viaWebhookAnswer))).toEqual([true, false]);
      expect(commentCalls(taskId)).toHaveLength(1);
    });
  });

  it('a job that fails for good after an api answered with its decision leaves it posted, so no replay posts it again', async () => {
    const taskId = taskFor(AUTO_USER_ID);
    // As the hand-over left it: an api took the decision for its answer, and the worker's job then kept failing.
    const deliveryId = await recordedDecision(taskId, 'inline');
    await worker.get(DeliveryService).markFailed(deliveryId, new Error('PostgreSQL went away for the last attempt'));
    expect(await record(taskId)).toEqual([{ outcome: 'posted', delivered_via: 'inline', status: 'processed' }]);
    // The claim stays held: a later delivery of the same step and round is skipped, not voted again.
    const held = await db.query(`SELECT claim_key FROM processed_tasks WHERE task_id = $1 AND outcome IN ('posting', 'posted')`, [taskId]);
    expect(held.rows).toEqual([{ claim_key: 'step:1:round:0' }]);
  });

  it('a job failing for good as an api takes its decision: the answer given inline stands, the delivery is not failed', async () => {
    const taskId = taskFor(AUTO_USER_ID);
    // Recorded while an api waits, not handed over yet (delivered_via NULL).
    const deliveryId = await recordedDecision(taskId, null);
    // The api's claim (claimInline's UPDATE) holds the row when the job's final failure is recorded: its commit comes
    // while markFailed waits on the row. A transaction only widens the instant between the two.
    const apiSide = await testDb();
    try {
      await apiSide.query('BEGIN');
      const claimed = await apiSide.query(
        `UPDATE processed_tasks SET delivered_via = 'inline'
          WHERE delivery_id = $1 AND comment IS NOT NULL
            AND ((outcome = 'posting' AND delivered_via IS NULL) OR (outcome IN ('posting', 'posted') AND delivered_via = 'inline'))
          RETURNING comment`,
        [deliveryId],
      );
      expect(claimed.rows).toEqual([{ comment: DECIDED }]);
      const failing = worker.get(DeliveryJourney).markFailed(deliveryId, 'the last attempt failed');
      await waitFor('markFailed to wait on the claimed row', async () => {
        const { rows: waiting } = await db.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE deliveries SET%'`,
        );
        return waiting.length > 0;
      });
      await apiSide.query('COMMIT');
      // The api answered Pyrus with the comment: the delivery must end as answered inline, not failed (which would run
      // onDecisionFailed and put a payment approval Pyrus did get back to pending).
      expect(await failing).toBe('answered-inline');
    } finally {
      await apiSide.end();
    }
    expect(await record(taskId)).toEqual([{ outcome: 'posted', delivered_via: 'inline', status: 'processed' }]);
  });

  it('an api shutting down answers its open webhooks at once without the decision, which the worker then posts', async () => {
    const taskId = taskFor(SLOW_USER_ID);
    const body = JSON.stringify({ event: 'comment', task_id: taskId, user_id: SLOW_USER_ID, task: pyrus.getTask(taskId) });
    // No decision comes while the webhook is open: the worker takes no job until the api is gone.
    await deliveriesQueue(worker).pause(true);
    const leaving = await startApi(env);
    let closedIn = 0;
    try {
      const answer = sendSigned(leaving, 'inline-long', body, 'inline-long-key').then((res) => res);
      await waitFor(
        'the delivery to be stored',
        async () => (await db.query('SELECT 1 FROM deliveries WHERE task_id = $1', [taskId])).rowCount,
      );
      const closing = Date.now();
      await leaving.close();
      closedIn = Date.now() - closing;
      const res = await answer;
      expect([res.status, res.body]).toEqual([200, {}]);
    } finally {
      await deliveriesQueue(worker).resume(true);
    }
    // Its budget is 8 s: the api did not hold its shutdown for it.
    expect(closedIn).toBeLessThan(4000);
    await waitFor('the decision to be posted through the API', () => commentCalls(taskId).length === 1, 30_000);
    await waitFor('the record', async () => (await record(taskId))[0]?.status === 'processed');
    expect(await record(taskId)).toEqual([{ outcome: 'posted', delivered_via: 'api', status: 'processed' }]);
  });
});
