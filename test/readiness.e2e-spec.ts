import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { PyrusEmulator } from '../apps/pyrus-emulator/src';
import { fixtureEvent, sendSigned, ServiceUnderTest, startServiceWithEmulator, waitFor } from './support/stack';

describe('readiness', () => {
  let pyrus: PyrusEmulator;
  let api: INestApplication;
  let worker: INestApplication;
  let db: Client;
  let service: ServiceUnderTest;

  beforeAll(async () => {
    service = await startServiceWithEmulator([820000, 829999]);
    ({ pyrus, api, worker, db } = service);
  });

  afterAll(() => service?.close());

  it('is ready when Postgres and Redis answer', async () => {
    const res = await request(api.getHttpServer()).get('/health/ready').expect(200);
    expect(res.body.details).toMatchObject({ postgres: { status: 'up' }, redis: { status: 'up' } });
    await request(worker.getHttpServer()).get('/health/ready').expect(200);
    await request(api.getHttpServer()).get('/health/live').expect(200);
  });

  it("says which bot Pyrus refuses to sign in, on the worker, and fails that bot's job without a retry", async () => {
    const event = fixtureEvent();
    event.task_id = event.task.id = 820001;
    delete event.access_token; // no webhook token: the worker must sign in with the bot's (wrong) key
    pyrus.addTask(structuredClone(event.task));
    await sendSigned(api, 'refused', JSON.stringify(event), 'a-key-pyrus-does-not-know').expect(200);

    const [delivery] = await waitFor('the failed delivery', async () => {
      const { rows } = await db.query(`SELECT status, last_error FROM deliveries WHERE task_id = 820001`);
      return rows[0]?.status === 'failed' ? rows : undefined;
    });
    expect(delivery.last_error).toMatch(/invalid_credentials/);
    expect(pyrus.calls.filter((c) => c.path === '/auth')).toHaveLength(1);

    const res = await request(worker.getHttpServer()).get('/health/ready').expect(503);
    expect(res.body.error.pyrusSignIn.refused).toEqual({ refused: expect.stringMatching(/invalid_credentials/) });
    // The api keeps taking every bot's webhooks.
    await request(api.getHttpServer()).get('/health/ready').expect(200);
  });
});
