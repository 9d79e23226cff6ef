import { readFileSync } from 'node:fs';
import { Server } from 'node:http';
import { resolve } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bull';
import { Queue } from 'bull';
import { Client } from 'pg';
import request from 'supertest';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { signPyrusBody } from '@app/pyrus';
import { DELIVERIES_QUEUE } from '@app/queue';
import { PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { startTestEmulator } from './test-emulator';
import { TEST_DATABASE_URL, testEnv } from './test-env';

export const FIXTURES_DIR = resolve(__dirname, '../fixtures/pyrus');

/** The webhook fixture as the JSON it is: tests change any part of it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EventJson = Record<string, any>;

/** The fixture webhook body (test/fixtures/pyrus/event.json), parsed, for tests to vary. */
export function fixtureEvent(): EventJson {
  return JSON.parse(readFileSync(resolve(FIXTURES_DIR, 'event.json'), 'utf8')) as EventJson;
}

export async function startApi(env: Record<string, string>): Promise<INestApplication> {
  const app = await createApiApp(env);
  await app.init();
  return app;
}

/** The worker without its health port: init starts the Bull processors and the sweeper. */
export async function startWorker(env: Record<string, string>): Promise<INestApplication> {
  const app = await createWorkerApp(env);
  await app.init();
  return app;
}

export function deliveriesQueue(app: INestApplication): Queue {
  return app.get<Queue>(getQueueToken(DELIVERIES_QUEUE));
}

/** POSTs a body to a bot's webhook signed with `key`, as Pyrus would. */
export function sendSigned(app: INestApplication, bot: string, body: string | Buffer, key: string, headers: Record<string, string> = {}) {
  return request(app.getHttpServer() as Server)
    .post(`/bots/${bot}/webhook`)
    .set('Content-Type', 'application/json')
    .set('X-Pyrus-Sig', signPyrusBody(body, key))
    .set('X-Pyrus-Retry', '1/3')
    .set('User-Agent', 'Pyrus-Bot-4')
    .set(headers)
    .send(body);
}

/** A plain pg client on the test database, for assertions and clean-up. */
export async function testDb(): Promise<Client> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  return client;
}

/**
 * Deletes what earlier runs left for a spec's own range of task ids. Each spec keeps to its range, so specs (and
 * engineers) sharing the test database do not disturb each other, and a rerun's deliveries are not taken for repeats.
 */
export async function clearTaskRange(db: Client, from: number, to: number): Promise<void> {
  await db.query('DELETE FROM job_attempts WHERE task_id BETWEEN $1 AND $2', [from, to]);
  await db.query('DELETE FROM outbound_calls WHERE task_id BETWEEN $1 AND $2', [from, to]);
  await db.query('DELETE FROM processed_tasks WHERE task_id BETWEEN $1 AND $2', [from, to]);
  await db.query('DELETE FROM notifications WHERE payment_id IN (SELECT id FROM payments WHERE task_id BETWEEN $1 AND $2)', [from, to]);
  await db.query('DELETE FROM payments WHERE task_id BETWEEN $1 AND $2', [from, to]);
  await db.query('DELETE FROM deliveries WHERE task_id BETWEEN $1 AND $2', [from, to]);
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { testEnv };

/** The service under test: api and worker in this process, the Pyrus emulator, and a client on the test database. */
export interface ServiceUnderTest {
  pyrus: PyrusEmulator;
  env: Record<string, string>;
  db: Client;
  api: INestApplication;
  worker: INestApplication;
  close(): Promise<void>;
}

/**
 * Boots the emulator, then api and worker pointed at it, after clearing what earlier runs left in the spec's own
 * range of task ids.
 */
export async function startServiceWithEmulator(taskRange: [number, number], env: Record<string, string> = {}): Promise<ServiceUnderTest> {
  const pyrus = await startTestEmulator();
  const fullEnv = testEnv({ PYRUS_AUTH_URL: pyrus.authUrl, PYRUS_API_URL: pyrus.apiUrl, ...env });
  const db = await testDb();
  await clearTaskRange(db, ...taskRange);
  const api = await startApi(fullEnv);
  const worker = await startWorker(fullEnv);
  return {
    pyrus,
    env: fullEnv,
    db,
    api,
    worker,
    async close() {
      await api.close();
      await worker.close();
      await db.end();
      await pyrus.stop();
    },
  };
}
