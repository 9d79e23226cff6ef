import { mkdtempSync, writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusApproval, PyrusTask } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { fixtureEvent, ServiceUnderTest, sleep, startServiceWithEmulator, startWorker, waitFor } from './support/stack';

/** This file's task ids; other files share the database, so it touches only these. */
const FIRST_TASK = 191_900_000;
const LAST_TASK = 191_900_999;

/** Two of the service's bots, each approving on its own (the auto-reply handler), on adjacent steps of one route. */
const STAGE_A = { name: 'stage-a', login: 'bot@test-stage-a', securityKey: 'stage-a-key', userId: 191_001 };
const STAGE_B = { name: 'stage-b', login: 'bot@test-stage-b', securityKey: 'stage-b-key', userId: 191_002 };
/** A person: approves step 1 through the emulator's API, and is the approver of step 4. */
const REVIEWER = { name: 'reviewer', login: 'reviewer@example.org', securityKey: 'reviewer-key', userId: 191_003, type: 'user' as const };

/** The service's bots file with only the two stage bots, so the inbox sweep reads only their inboxes. */
function stageBotsFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'adjacent-bot-stages-')), 'bots.json');
  const bots = [STAGE_A, STAGE_B].map((bot) => ({
    name: bot.name,
    login: bot.login,
    securityKeys: [bot.securityKey],
    handler: 'auto-reply',
    settings: {},
  }));
  writeFileSync(file, JSON.stringify({ bots }, null, 2));
  return file;
}

/**
 * Issue 19: a company may put two bot stages next to each other, and whether Pyrus calls the second bot after the first
 * bot's vote is not confirmed. The emulator plays both: with `botToBotWebhooks` on, bot B gets its webhook; off, it gets
 * none and the worker's inbox sweep picks the task up. Either way the task walks person → A → B → person, each bot
 * votes once, and no task goes back to an earlier step.
 */
describe('two bot stages side by side (real Postgres, Redis, HTTP from the emulator)', () => {
  let service: ServiceUnderTest;
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let db: Client;
  let env: Record<string, string>;
  let nextTask = FIRST_TASK;

  beforeAll(async () => {
    service = await startServiceWithEmulator([FIRST_TASK, LAST_TASK], { BOTS_FILE: stageBotsFile() });
    ({ pyrus, api, db, env } = service);
    await new Promise<void>((resolve) => api.getHttpServer().listen(0, '127.0.0.1', resolve));
    const port = (api.getHttpServer().address() as AddressInfo).port;
    for (const bot of [STAGE_A, STAGE_B]) pyrus.addBot({ ...bot, webhookUrl: `http://127.0.0.1:${port}/bots/${bot.name}/webhook` });
    pyrus.addBot(REVIEWER);
    pyrus.autoDeliver = true;
    // A webhook timeout of 3 s and retries 3 s / 6 s later: a slow answer on this shared machine is not sent twice.
    pyrus.timeScale = 0.05;
  });

  afterAll(() => service?.close());

  /** A task on step 1 waiting for the reviewer, then stage A, stage B and the reviewer again. */
  function routedTask(): PyrusTask {
    const task = fixtureEvent().task as PyrusTask;
    task.id = nextTask++;
    task.current_step = 1;
    const reviewer = pyrus.getBot(REVIEWER.name).person;
    const waitingFor = (name: string): PyrusApproval[] => [{ person: pyrus.getBot(name).person, approval_choice: 'waiting' }];
    task.approvals = [waitingFor(REVIEWER.name), waitingFor(STAGE_A.name), waitingFor(STAGE_B.name), waitingFor(REVIEWER.name)];
    task.author = reviewer;
    task.comments = [{ id: task.id * 10, create_date: task.create_date, author: reviewer, text: 'Please check' }];
    pyrus.addTask(task);
    return task;
  }

  async function reviewerApprovesStep1(taskId: number): Promise<void> {
    const res = await fetch(`${pyrus.apiUrl}tasks/${taskId}/comments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pyrus.issueToken(REVIEWER.name)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'Looks right', approval_choice: 'approved' }),
    });
    expect(res.status).toBe(200);
  }

  const commentsBy = (taskId: number, bot: string) => pyrus.comments.filter((c) => c.taskId === taskId && c.bot === bot);
  const webhooksTo = (taskId: number, bot: string) => pyrus.deliveries.filter((d) => d.taskId === taskId && d.bot === bot);
  const rowsOf = async (taskId: number, bot: string) =>
    (await db.query('SELECT * FROM deliveries WHERE task_id = $1 AND bot = $2 ORDER BY received_at', [taskId, bot])).rows;

  /** Waits until the task is on step 4, open and waiting for the reviewer; records every step it was seen on. */
  async function reachesTheReviewer(taskId: number, seenSteps: number[]): Promise<PyrusTask> {
    return waitFor(
      'the task to reach step 4',
      () => {
        const task = pyrus.getTask(taskId)!;
        if (seenSteps.at(-1) !== task.current_step) seenSteps.push(task.current_step!);
        const onStep4 = task.current_step === 4 && !task.close_date;
        return onStep4 && task.approvals![3][0].approval_choice === 'waiting' ? task : undefined;
      },
      20_000,
    );
  }

  /** What a user reading the task sees: each bot voted once, and the step only ever went forward, to step 4. */
  function expectWalkedForwardOnce(task: PyrusTask, seenSteps: number[]): void {
    expect(commentsBy(task.id, STAGE_A.name)).toHaveLength(1);
    expect(commentsBy(task.id, STAGE_B.name)).toHaveLength(1);
    const moves = task.comments!.filter((c) => c.changed_step !== undefined);
    expect(moves.map((c) => [c.author?.id, c.changed_step])).toEqual([
      [REVIEWER.userId, 2],
      [STAGE_A.userId, 3],
      [STAGE_B.userId, 4],
    ]);
    expect(task.comments!.filter((c) => (c as { reset_to_step?: number }).reset_to_step !== undefined)).toEqual([]);
    expect(seenSteps).toEqual([...seenSteps].sort((a, b) => a - b));
    expect(task.approvals!.map((step) => step[0].approval_choice)).toEqual(['approved', 'approved', 'approved', 'waiting']);
  }

  it("botToBotWebhooks on: stage A's vote brings stage B its webhook, and the task ends with the reviewer", async () => {
    pyrus.botToBotWebhooks = true;
    const task = routedTask();
    const seenSteps: number[] = [];
    await reviewerApprovesStep1(task.id);
    await reachesTheReviewer(task.id, seenSteps);

    // Nothing more happens later: no second vote, no step back.
    await sleep(1500);
    await pyrus.waitForDeliveries();
    const settled = pyrus.getTask(task.id)!;
    expect(settled.current_step).toBe(4);
    expectWalkedForwardOnce(settled, seenSteps);

    for (const bot of [STAGE_A.name, STAGE_B.name]) {
      expect(webhooksTo(task.id, bot).map((d) => [d.outcome, d.attempts.map((a) => a.status)])).toEqual([['delivered', [200]]]);
      const rows = await rowsOf(task.id, bot);
      expect(rows.map((r) => [r.user_agent, r.status])).toEqual([['Pyrus-Bot-4', 'processed']]);
    }
  });

  it("botToBotWebhooks off: stage B gets no webhook, the worker's inbox sweep decides it within its interval", async () => {
    pyrus.botToBotWebhooks = false;
    // The service's own worker sweeps only when asked (the test env's 0); this one sweeps at start and every second.
    const sweeping = await startWorker({ ...env, INBOX_SWEEP_INTERVAL_MS: '1000' });
    try {
      const task = routedTask();
      const seenSteps: number[] = [];
      await reviewerApprovesStep1(task.id);
      await reachesTheReviewer(task.id, seenSteps);

      // Two more sweeps find nothing to do: the task waits for the reviewer, and neither bot votes again.
      await sleep(2500);
      await pyrus.waitForDeliveries();
      const settled = pyrus.getTask(task.id)!;
      expect(settled.current_step).toBe(4);
      expectWalkedForwardOnce(settled, seenSteps);

      // The reviewer's vote called stage A; stage A's vote called nobody.
      expect(webhooksTo(task.id, STAGE_A.name).map((d) => d.outcome)).toEqual(['delivered']);
      expect(webhooksTo(task.id, STAGE_B.name)).toEqual([]);
      const [rowOfB, ...moreOfB] = await rowsOf(task.id, STAGE_B.name);
      expect(moreOfB).toEqual([]);
      expect(rowOfB).toMatchObject({ user_agent: 'inbox-sweep', retry_header: null, status: 'processed' });
      // Stage A's decision came from its webhook, or from a sweep that got there first: one row either way.
      expect((await rowsOf(task.id, STAGE_A.name)).map((r) => r.status)).toEqual(['processed']);
    } finally {
      await sweeping.close();
    }
  });
});
