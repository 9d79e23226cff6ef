import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { InboxSweeper, InboxSweepResult } from '../apps/worker/src/inbox/inbox.sweeper';
import { fixtureEvent, sendSigned, ServiceUnderTest, sleep, startServiceWithEmulator, startWorker, waitFor } from './support/stack';
import { FIXTURE_BOT_USER_ID, MANAGER_USER_ID } from './support/test-emulator';
import { TEST_BOT_KEY } from './support/test-env';

/** This file's task ids; other files share the database, so it touches only these. */
const FIRST_TASK_ID = 840000;
const LAST_TASK_ID = 849999;

describe('Inbox sweep: tasks whose webhook never arrived (real Postgres, Redis and the Pyrus emulator)', () => {
  let pyrus: PyrusEmulator;
  let env: Record<string, string>;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let service: ServiceUnderTest;
  let nextTaskId = FIRST_TASK_ID;

  /**
   * The fixture event for a fresh task that waits on the bot (user 123456) on its only step, so the bot's vote closes
   * it and it leaves the inbox; the emulator holds the task, so its inbox lists it.
   */
  function newEvent(options: { steps?: 1 | 2 } = {}) {
    const event = fixtureEvent();
    event.task_id = event.task.id = nextTaskId++;
    event.access_token = pyrus.issueToken('auto-reply');
    event.task.current_step = 1;
    event.task.approvals = event.task.approvals.slice(0, options.steps ?? 1);
    for (const step of event.task.approvals) for (const a of step) a.approval_choice = 'waiting';
    // The fixture gives its human author the bot's id (123456); in Pyrus ids are unique, and the sweep tells the
    // bot's own comments by author.
    for (const c of event.task.comments) if (c.author?.id === FIXTURE_BOT_USER_ID) c.author.id = MANAGER_USER_ID;
    expect(event.task.approvals[0][0].person.id).toBe(FIXTURE_BOT_USER_ID);
    pyrus.addTask(structuredClone(event.task));
    return event;
  }

  const sweeperOf = (app: INestApplication) => app.get(InboxSweeper);
  const autoReply = (result: InboxSweepResult) => result.bots.find((b) => b.bot === 'auto-reply');
  const deliveriesOf = async (taskId: number) =>
    (await db.query('SELECT * FROM deliveries WHERE task_id = $1 ORDER BY received_at', [taskId])).rows;
  const processedOf = async (taskId: number) =>
    (await db.query('SELECT * FROM processed_tasks WHERE task_id = $1 ORDER BY started_at', [taskId])).rows;
  const commentsFor = (taskId: number) => pyrus.comments.filter((c) => c.taskId === taskId);
  const readsOf = (taskId: number) => pyrus.calls.filter((c) => c.method === 'GET' && c.path === `/v4/tasks/${taskId}`).length;
  const inboxCalls = () => pyrus.calls.filter((c) => c.path === '/v4/inbox').length;
  const settled = (taskId: number) =>
    waitFor('the delivery to be settled', async () => {
      const rows = await deliveriesOf(taskId);
      return rows.length > 0 && rows.every((r) => r.status !== 'received') ? rows : undefined;
    });

  beforeAll(async () => {
    service = await startServiceWithEmulator([FIRST_TASK_ID, LAST_TASK_ID], {
      INBOX_SWEEP_INTERVAL_MS: '0',
    });
    ({ pyrus, env, db, api, worker } = service);
  });

  afterAll(() => service?.close());

  beforeEach(() => {
    pyrus.calls.length = 0;
    pyrus.clearFaults();
  });

  it('finds a task waiting on the bot whose webhook never arrived and posts the decision once', async () => {
    const event = newEvent();
    const result = await sweeperOf(worker).sweep();
    expect(result.ran).toBe(true);
    expect(autoReply(result)).toMatchObject({ found: 1, read: 1, queued: 1, failed: 0 });
    // One bot's failure (Pyrus refuses this one's key) does not stop the others.
    expect(result.bots.find((b) => b.bot === 'refused')?.error).toEqual(expect.any(String));
    expect(result.bots.find((b) => b.bot === 'polite')).toMatchObject({ found: 0, queued: 0 });

    await waitFor('the comment', () => commentsFor(event.task_id).length === 1);
    const [delivery] = await settled(event.task_id);
    expect(delivery).toMatchObject({
      bot: 'auto-reply',
      event: 'comment',
      retry_header: null,
      user_agent: 'inbox-sweep',
      status: 'processed',
    });
    expect(delivery.dedupe_key).toBe(`comment:c${event.task.comments.at(-1).id}`);
    expect(delivery.payload).toMatchObject({ event: 'comment', task_id: event.task_id, user_id: FIXTURE_BOT_USER_ID });
    expect(delivery.payload.access_token).toBeUndefined();
    expect(delivery.queued_at).not.toBeNull();
    expect(commentsFor(event.task_id)[0].request).toEqual({ text: expect.stringMatching(/approved by bot/), approval_choice: 'approved' });
    expect((await processedOf(event.task_id))[0]).toMatchObject({ outcome: 'posted', attempts: 1 });

    // Pyrus's webhook for the same event, late: the same row, counted as a repeat, and no second comment.
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    await sleep(500);
    const rows = await deliveriesOf(event.task_id);
    expect(rows).toHaveLength(1);
    expect(rows[0].repeat_count).toBe(1);
    expect(commentsFor(event.task_id)).toHaveLength(1);

    // Decided and closed: the next sweep finds nothing to do.
    expect(autoReply(await sweeperOf(worker).sweep())).toMatchObject({ found: 0, queued: 0 });
  });

  it('goes on past a task it cannot read, and catches that one up at the next sweep', async () => {
    const unreadable = newEvent();
    const fine = newEvent();
    pyrus.addFault({ kind: 'error', method: 'GET', path: `/v4/tasks/${unreadable.task_id}`, count: 1, status: 403 });
    expect(autoReply(await sweeperOf(worker).sweep())).toMatchObject({ read: 2, queued: 1, failed: 1 });
    await waitFor('the comment on the readable task', () => commentsFor(fine.task_id).length === 1);
    expect(await deliveriesOf(unreadable.task_id)).toHaveLength(0);

    expect(autoReply(await sweeperOf(worker).sweep())).toMatchObject({ queued: 1, failed: 0 });
    await waitFor('the comment on the other task', () => commentsFor(unreadable.task_id).length === 1);
  });

  it('does not queue again a task already decided through its webhook', async () => {
    const event = newEvent();
    // Three copies at once go through the api's shared insert in one batch or several: one row, two repeats.
    const body = JSON.stringify(event);
    await Promise.all([1, 2, 3].map(() => sendSigned(api, 'auto-reply', body, TEST_BOT_KEY).expect(200)));
    await waitFor('the comment', () => commentsFor(event.task_id).length === 1);
    const [stored] = await settled(event.task_id);
    expect(stored).toMatchObject({ user_agent: 'Pyrus-Bot-4', repeat_count: 2, status: 'processed' });
    pyrus.calls.length = 0;

    expect(autoReply(await sweeperOf(worker).sweep())).toMatchObject({ queued: 0, failed: 0 });
    await sleep(300);
    expect(await deliveriesOf(event.task_id)).toHaveLength(1);
    expect(commentsFor(event.task_id)).toHaveLength(1);
    expect(readsOf(event.task_id)).toBe(0);
  });

  it('leaves a task whose webhook was stored and failed, and which has not changed since, without reading it', async () => {
    const event = newEvent();
    pyrus.addFault({ kind: 'error', method: 'POST', path: `/v4/tasks/${event.task_id}/comments`, count: 1, status: 400 });
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    const [failed] = await settled(event.task_id);
    expect(failed.status).toBe('failed');
    pyrus.calls.length = 0;

    const result = autoReply(await sweeperOf(worker).sweep());
    expect(result).toMatchObject({ found: 1, read: 0, queued: 0 });
    expect(readsOf(event.task_id)).toBe(0);
    expect(await deliveriesOf(event.task_id)).toHaveLength(1);
  });

  it('decides again a task that, after the bot’s vote, waits on the bot on its next step', async () => {
    const event = newEvent({ steps: 2 });
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    await waitFor('the first comment', () => commentsFor(event.task_id).length === 1);
    await settled(event.task_id);
    expect(pyrus.getTask(event.task_id)?.current_step).toBe(2);

    expect(autoReply(await sweeperOf(worker).sweep())).toMatchObject({ queued: 1 });
    await waitFor('the second comment', () => commentsFor(event.task_id).length === 2);
    const rows = await settled(event.task_id);
    expect(rows.map((r) => [r.user_agent, r.status])).toEqual([
      ['Pyrus-Bot-4', 'processed'],
      ['inbox-sweep', 'processed'],
    ]);
    expect(pyrus.getTask(event.task_id)?.close_date).toBeDefined();
  });

  it('queues a task once when two workers sweep at the same time', async () => {
    const second = await startWorker(env);
    try {
      const event = newEvent();
      const results = await Promise.all([sweeperOf(worker).sweep(), sweeperOf(second).sweep(), sweeperOf(worker).sweep()]);
      const queued = results.reduce((sum, r) => sum + (autoReply(r)?.queued ?? 0), 0);
      expect(queued).toBe(1);
      // The advisory lock turned the others away while one swept (the natural key would have merged them anyway).
      expect(results.filter((r) => r.ran)).toHaveLength(1);
      await waitFor('the comment', () => commentsFor(event.task_id).length === 1);
      await settled(event.task_id);
      await sleep(300);
      expect(await deliveriesOf(event.task_id)).toHaveLength(1);
      expect(commentsFor(event.task_id)).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('sweeps at start and then every INBOX_SWEEP_INTERVAL_MS; 0 turns the timer off', async () => {
    // The main worker runs with 0: no inbox is read unless a test calls sweep().
    await sleep(1200);
    expect(inboxCalls()).toBe(0);

    const atStart = newEvent();
    const timed = await startWorker({ ...env, INBOX_SWEEP_INTERVAL_MS: '1000' });
    try {
      await waitFor('the comment of the sweep at start', () => commentsFor(atStart.task_id).length === 1);
      const later = newEvent();
      await waitFor('the comment of a timed sweep', () => commentsFor(later.task_id).length === 1, 5000);
      expect((await deliveriesOf(later.task_id))[0].user_agent).toBe('inbox-sweep');
    } finally {
      await timed.close();
    }
    expect(inboxCalls()).toBeGreaterThanOrEqual(2);
  });
});
