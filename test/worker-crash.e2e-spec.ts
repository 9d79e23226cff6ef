import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { AppProcess, buildAppsOnce } from './support/app-process';
import { freePort } from './support/child-processes';
import { clearTaskRange, fixtureEvent, sendSigned, sleep, startApi, testDb, testEnv, waitFor } from './support/stack';
import { startTestEmulator } from './support/test-emulator';
import { TEST_BOT_KEY } from './support/test-env';

const TASK_ID = 893001;
const LOCK_DURATION_MS = 2000;
const STALLED_INTERVAL_MS = 1000;
/** The second worker's boot (a couple of seconds, more on a loaded machine) and the job's own run. */
const MARGIN_MS = 15000;

/**
 * A worker killed with SIGKILL in the middle of a job: Bull's lock on the job runs out, a stalled check puts it back,
 * and a second worker decides the task, exactly once, within QUEUE_LOCK_DURATION_MS + QUEUE_STALLED_INTERVAL_MS
 * (short here, so that the test takes seconds) plus the second worker's boot.
 */
describe('worker crash', () => {
  let pyrus: PyrusEmulator;
  let db: Client;
  let api: INestApplication;
  let build: string;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    build = buildAppsOnce();
    pyrus = await startTestEmulator();
    db = await testDb();
    await clearTaskRange(db, 893000, 893999);
  }, 180000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await api?.close();
    await db?.end();
    await pyrus?.stop();
  });

  it('a job whose worker is killed runs again on another worker and posts one comment', async () => {
    const env = testEnv({
      PYRUS_AUTH_URL: pyrus.authUrl,
      PYRUS_API_URL: pyrus.apiUrl,
      QUEUE_LOCK_DURATION_MS: String(LOCK_DURATION_MS),
      QUEUE_STALLED_INTERVAL_MS: String(STALLED_INTERVAL_MS),
      // Longer than the test: the first worker's call must still be waiting when it is killed.
      PYRUS_TIMEOUT_MS: '60000',
    });
    api = await startApi(env);
    const startWorker = async () => {
      const worker = new AppProcess(build, 'worker', { ...env, LOG_LEVEL: 'info', WORKER_PORT: String(await freePort()) });
      workers.push(worker);
      await worker.waitForLog(/^worker running/);
      return worker;
    };
    const first = await startWorker();

    const event = fixtureEvent();
    event.task_id = event.task.id = TASK_ID;
    event.access_token = pyrus.issueToken('auto-reply');
    pyrus.addTask(structuredClone(event.task));
    // Pyrus takes the first comment and never answers: the job stays active, its decision recorded, the call open.
    pyrus.addFault({ kind: 'timeout', method: 'POST', path: `/v4/tasks/${TASK_ID}/comments`, count: 1 });
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    const commentCalls = () => pyrus.calls.filter((c) => c.method === 'POST' && c.path === `/v4/tasks/${TASK_ID}/comments`);
    await waitFor('the first worker to post the comment', () => commentCalls().length === 1, 20000);

    await first.kill();
    const killedAt = Date.now();
    const second = await startWorker();
    const bootMs = Date.now() - killedAt;
    await waitFor(
      'the comment on the task',
      () => pyrus.comments.some((c) => c.taskId === TASK_ID),
      LOCK_DURATION_MS + STALLED_INTERVAL_MS + MARGIN_MS,
    );
    const recoveredMs = Date.now() - killedAt;
    // Whatever else would still come (a second post) has had the time to.
    await sleep(3000);

    process.stdout.write(`worker crash: the job ran again ${recoveredMs} ms after the SIGKILL (second worker booted in ${bootMs} ms)\n`);
    expect(pyrus.comments.filter((c) => c.taskId === TASK_ID)).toHaveLength(1);
    expect(commentCalls()).toHaveLength(2);
    const { rows } = await db.query(
      'SELECT d.status, p.outcome, p.attempts FROM deliveries d JOIN processed_tasks p ON p.delivery_id = d.id WHERE d.task_id = $1',
      [TASK_ID],
    );
    expect(rows).toEqual([{ status: 'processed', outcome: 'posted', attempts: 2 }]);
    expect(second.logLines().filter((l) => l.msg === 'Decision posted to Pyrus')).toHaveLength(1);
    expect(second.stderr).toBe('');
  }, 120000);
});
