import { mkdtempSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { clearTaskRange, fixtureEvent, startApi, startWorker, testDb, testEnv, waitFor } from './support/stack';

const FIRST_TASK = 194_000_000;
const AUTO_USER_ID = 194_001;
const API_USER_ID = 194_002;

/** Two auto-reply bots that differ only in how they answer: in the webhook's answer (auto) or through the API. */
const BOTS = [
  { name: 'inline-auto', reply: 'auto', inlineBudgetMs: 3000, userId: AUTO_USER_ID },
  { name: 'inline-api', reply: 'api', userId: API_USER_ID },
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
  let nextTask = FIRST_TASK;

  beforeAll(async () => {
    db = await testDb();
    await clearTaskRange(db, FIRST_TASK, FIRST_TASK + 999);
    pyrus = new PyrusEmulator({ autoDeliver: false, log: () => undefined });
    await pyrus.start();
    const env = testEnv({ PYRUS_AUTH_URL: pyrus.authUrl, PYRUS_API_URL: pyrus.apiUrl, BOTS_FILE: botsFile() });
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
    pyrus.timeScale = 0.001;
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
  });

  it('a bot with reply api still answers {} at once and posts through the API', async () => {
    const taskId = taskFor(API_USER_ID);
    const delivery = await pyrus.sendDelivery({ bot: 'inline-api', taskId });
    expect(delivery.attempts[0].responseBody).toBe('{}');
    await waitFor('the comment to be posted', () => commentCalls(taskId).length === 1);
    await waitFor('the record', async () => (await record(taskId))[0]?.status === 'processed');
    expect(await record(taskId)).toEqual([{ outcome: 'posted', delivered_via: 'api', status: 'processed' }]);
    expect(botComments(taskId).map((c) => Boolean(c.viaWebhookAnswer))).toEqual([false]);
  });
});
