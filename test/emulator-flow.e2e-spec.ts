import { AddressInfo } from 'node:net';
import { INestApplication } from '@nestjs/common';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { clearTaskRange, fixtureEvent, startApi, startWorker, testDb, testEnv, waitFor } from './support/stack';
import { FIXTURE_BOT_USER_ID, MANAGER_USER_ID, startTestEmulator } from './support/test-emulator';

/** Pyrus's side played by the emulator end to end: its signed deliveries over HTTP into the running service. */
describe('the emulator driving the service', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let worker: INestApplication;

  beforeAll(async () => {
    pyrus = await startTestEmulator();
    const db = await testDb();
    await clearTaskRange(db, 830000, 839999);
    await db.end();
    const env = testEnv({ PYRUS_AUTH_URL: pyrus.authUrl, PYRUS_API_URL: pyrus.apiUrl });
    api = await startApi(env);
    await new Promise<void>((resolve) => api.getHttpServer().listen(0, '127.0.0.1', resolve));
    const port = (api.getHttpServer().address() as AddressInfo).port;
    pyrus.addBot({ ...pyrus.getBot('auto-reply'), webhookUrl: `http://127.0.0.1:${port}/bots/auto-reply/webhook` });
    pyrus.timeScale = 0.001;
    pyrus.autoDeliver = true;
    worker = await startWorker(env);
  });

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await pyrus?.stop();
  });

  const botVote = (taskId: number, step: number) =>
    pyrus.getTask(taskId)?.approvals?.[step - 1]?.find((a) => a.person.id === FIXTURE_BOT_USER_ID)?.approval_choice;

  it('a signed delivery from the emulator is verified, queued and answered with the approval', async () => {
    const task = fixtureEvent().task;
    task.id = 830001;
    pyrus.addTask(task);
    const record = await pyrus.sendDelivery({ bot: 'auto-reply', taskId: 830001 });
    expect(record.attempts.map((a) => [a.retryHeader, a.status])).toEqual([['1/3', 200]]);
    await waitFor('the bot to approve', () => botVote(830001, task.current_step) === 'approved');
  });

  it('when a manager approves step 1, the task reaches the bot, which approves step 2', async () => {
    const task = fixtureEvent().task;
    task.id = 830002;
    task.current_step = 1;
    task.approvals = [
      [{ person: { id: MANAGER_USER_ID, type: 'user' }, approval_choice: 'waiting' }],
      [{ person: { id: FIXTURE_BOT_USER_ID, type: 'bot' }, approval_choice: 'waiting' }],
    ];
    pyrus.addTask(task);
    const manager = pyrus.issueToken('manager');
    const res = await fetch(`${pyrus.apiUrl}tasks/830002/comments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${manager}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'OK from me', approval_choice: 'approved' }),
    });
    expect(res.status).toBe(200);
    await waitFor('the bot to approve step 2', () => botVote(830002, 2) === 'approved');
    const botComments = pyrus.comments.filter((c) => c.taskId === 830002 && c.bot === 'auto-reply');
    expect(botComments).toHaveLength(1);
  });
});
