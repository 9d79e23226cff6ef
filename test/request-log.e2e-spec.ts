import { INestApplication } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { Client } from 'pg';
import request from 'supertest';
import { signPyrusBody } from '@app/pyrus';
import { clearTaskRange, fixtureEvent, sendSigned, startApi, testDb } from './support/stack';
import { TEST_BOT_KEY, testEnv } from './support/test-env';

const FIRST_TASK = 905000;

/**
 * The webhook's request line, written by its own lean access log rather than pino-http. In a file of its own: the
 * api here logs at info, and nestjs-pino's root logger is one per module registry.
 */
describe('webhook request log line', () => {
  let api: INestApplication;
  let db: Client;
  let lines: string[];
  let write: jest.SpyInstance;

  beforeAll(async () => {
    db = await testDb();
    await clearTaskRange(db, FIRST_TASK, FIRST_TASK + 999);
    api = await startApi(testEnv({ LOG_LEVEL: 'info' }));
    // The lines as pino serialized them, at its own destination (and kept off the test output).
    const destination = (PinoLogger.root as unknown as Record<symbol, { write: (line: string) => boolean }>)[pino.symbols.streamSym];
    lines = [];
    write = jest.spyOn(destination, 'write').mockImplementation((line: string) => lines.push(line) > 0);
  });

  afterAll(async () => {
    write?.mockRestore();
    await api?.close();
    await db?.end();
  });

  const webhookLines = () => lines.filter((l) => l.includes('/bots/auto-reply/webhook')).map((l) => JSON.parse(l));

  it('has the request id, bot, task and delivery, and neither the signature nor the token', async () => {
    const event = fixtureEvent();
    event.task_id = event.task.id = FIRST_TASK + 1;
    event.access_token = 'webhook-token-that-must-not-be-logged';
    const body = JSON.stringify(event);
    const res = await sendSigned(api, 'auto-reply', body, TEST_BOT_KEY, { 'X-Request-Id': 'lb-req-42' }).expect(200);
    expect(res.headers['x-request-id']).toBe('lb-req-42');

    const {
      rows: [delivery],
    } = await db.query('SELECT id FROM deliveries WHERE task_id = $1', [event.task_id]);
    expect(webhookLines().filter((l) => l.requestId === 'lb-req-42')).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'request completed',
        req: expect.objectContaining({
          method: 'POST',
          url: '/bots/auto-reply/webhook',
          headers: expect.objectContaining({ 'x-pyrus-sig': '[REDACTED]', 'x-pyrus-retry': '1/3' }),
        }),
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
        bot: 'auto-reply',
        taskId: event.task_id,
        deliveryId: delivery.id,
        repeated: false,
      }),
    ]);
    const all = lines.join('\n');
    expect(all).not.toContain(signPyrusBody(body, TEST_BOT_KEY));
    expect(all).not.toContain(event.access_token);
  });

  it('a refused delivery gets its own line, and its error body the same request id', async () => {
    const event = fixtureEvent();
    event.task_id = event.task.id = FIRST_TASK + 2;
    const res = await sendSigned(api, 'auto-reply', JSON.stringify(event), 'not-the-key').expect(401);
    const requestId = res.headers['x-request-id'];
    expect(res.body.requestId).toBe(requestId);
    expect(webhookLines().filter((l) => l.requestId === requestId)).toEqual([
      expect.objectContaining({ res: { statusCode: 401 }, msg: 'request completed' }),
    ]);
  });

  it('other routes keep pino-http and its request id', async () => {
    const res = await request(api.getHttpServer()).get('/admin/deliveries').expect(401);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    expect(
      lines.map((l) => JSON.parse(l)).some((l) => l.req?.url === '/admin/deliveries' && l.requestId === res.headers['x-request-id']),
    ).toBe(true);
  });

  it('health probes and metrics scrapes stay out of pino-http: no line, no request id', async () => {
    // Not only unlogged: pino-http's first request would switch on its async context for every later promise.
    for (const path of ['/health/live', '/health/ready', '/metrics']) {
      const res = await request(api.getHttpServer()).get(path).expect(200);
      expect(res.headers['x-request-id']).toBeUndefined();
    }
    expect(lines.filter((l) => /"url":"\/(health|metrics)/.test(l))).toEqual([]);
  });
});
