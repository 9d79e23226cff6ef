import { request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { signPyrusBody } from '@app/pyrus';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { startTestEmulator } from './support/test-emulator';
import { clearTaskRange, fixtureEvent, sendSigned, startApi, startWorker, testDb, testEnv, waitFor } from './support/stack';
import { TEST_BOT_KEY } from './support/test-env';

/** What SIGTERM does (Nest's shutdown hooks run app.close()): work in flight finishes, nothing is dropped. */
describe('graceful shutdown', () => {
  let pyrus: PyrusEmulator;
  let env: Record<string, string>;
  let db: Client;

  beforeAll(async () => {
    pyrus = await startTestEmulator();
    env = testEnv({ PYRUS_AUTH_URL: pyrus.authUrl, PYRUS_API_URL: pyrus.apiUrl });
    db = await testDb();
    await clearTaskRange(db, 810000, 819999);
  });

  afterAll(async () => {
    await db?.end();
    await pyrus?.stop();
  });

  it('the api finishes a webhook request that is in flight when it is asked to stop', async () => {
    const api = await startApi(env);
    await new Promise<void>((resolve) => api.getHttpServer().listen(0, '127.0.0.1', resolve));
    const port = (api.getHttpServer().address() as AddressInfo).port;
    const event = fixtureEvent();
    event.task_id = event.task.id = 810001;
    const body = Buffer.from(JSON.stringify(event));

    // Send the headers and half the body, ask the app to stop, then send the rest.
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/bots/auto-reply/webhook',
          headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-pyrus-sig': signPyrusBody(body, TEST_BOT_KEY) },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 1000));
      setTimeout(() => req.end(body.subarray(1000)), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    const closing = api.close();

    const result = await answer;
    expect(result).toEqual({ status: 200, body: '{}' });
    await closing;
    const { rows } = await db.query('SELECT queued_at FROM deliveries WHERE task_id = $1', [810001]);
    expect(rows).toHaveLength(1);
    expect(rows[0].queued_at).not.toBeNull();
  });

  it('the worker finishes its active job before it stops', async () => {
    const api = await startApi(env);
    const worker = await startWorker(env);
    const event = fixtureEvent();
    event.task_id = event.task.id = 810002;
    event.access_token = pyrus.issueToken('auto-reply');
    pyrus.addTask(structuredClone(event.task));
    pyrus.addFault({ kind: 'slow', method: 'POST', path: '/v4/tasks/810002/comments', delayMs: 700 });
    await sendSigned(api, 'auto-reply', JSON.stringify(event), TEST_BOT_KEY).expect(200);
    await waitFor('the job to start', async () => (await db.query('SELECT 1 FROM processed_tasks WHERE task_id = $1', [810002])).rowCount);

    await worker.close();
    await api.close();
    expect(pyrus.comments.filter((c) => c.taskId === 810002)).toHaveLength(1);
    const { rows } = await db.query(
      'SELECT d.status, p.outcome FROM deliveries d JOIN processed_tasks p ON p.delivery_id = d.id WHERE d.task_id = $1',
      [810002],
    );
    expect(rows).toEqual([{ status: 'processed', outcome: 'posted' }]);
  });
});
