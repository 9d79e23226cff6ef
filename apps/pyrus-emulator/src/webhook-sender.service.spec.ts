import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { verifyPyrusSignature } from '@app/pyrus';
import { PyrusEmulator } from './pyrus-emulator';
import { DEFAULT_SEED_DIR } from './seed-loader';
import { DELIVERY_OFFSETS_MS, DELIVERY_TIMEOUT_MS } from './webhook-sender.service';

const SCALE = 0.004; // 61 s -> 244 ms, 60 s -> 240 ms
const PAYMENTS_KEY = 'payments-demo-key-change-me';

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

type Reply = { status: number; body?: string } | 'hang';

/** A stand-in bot: records each request and answers from a script (the last entry repeats). */
class FakeBot {
  readonly received: Received[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly script: Reply[]) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ at: Date.now(), headers: req.headers, raw: Buffer.concat(chunks) });
        const reply = this.script[Math.min(this.received.length - 1, this.script.length - 1)];
        if (reply === 'hang') return;
        res.writeHead(reply.status, { 'Content-Type': 'application/json' });
        res.end(reply.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/bots/payments/webhook`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

describe('webhook sender', () => {
  let emulator: PyrusEmulator;
  let bot: FakeBot | undefined;

  beforeEach(async () => {
    emulator = new PyrusEmulator({ seedDir: DEFAULT_SEED_DIR, timeScale: SCALE });
    await emulator.start();
  });

  afterEach(async () => {
    await emulator.stop();
    await bot?.stop();
    bot = undefined;
  });

  async function startBot(script: Reply[]): Promise<FakeBot> {
    bot = new FakeBot(script);
    await bot.start();
    emulator.addBot({ name: 'payments', login: 'bot@11111111-1111-1111-1111-111111111111', webhookUrl: bot.url });
    return bot;
  }

  it('retries a 500 after 61 s (scaled) with X-Pyrus-Retry 2/3 and stops at the first 2xx', async () => {
    const fake = await startBot([{ status: 500 }, { status: 200 }]);
    const record = await emulator.sendDelivery({ bot: 'payments', taskId: 1002 });

    expect(record.outcome).toBe('delivered');
    expect(fake.received).toHaveLength(2);
    expect(fake.received.map((r) => r.headers['x-pyrus-retry'])).toEqual(['1/3', '2/3']);
    expect(fake.received.every((r) => r.headers['user-agent'] === 'Pyrus-Bot-4')).toBe(true);
    // offsets are counted from the start of the first call (the sender's clock) ...
    expect(record.attempts[1].offsetMs).toBeGreaterThanOrEqual(DELIVERY_OFFSETS_MS[1] * SCALE);
    expect(record.attempts[1].offsetMs).toBeLessThan(DELIVERY_OFFSETS_MS[1] * SCALE + 150);
    // ... and the bot sees about the same spacing (the first request may take a little longer to arrive)
    const spacing = fake.received[1].at - fake.received[0].at;
    expect(spacing).toBeGreaterThanOrEqual(DELIVERY_OFFSETS_MS[1] * SCALE - 60);
    expect(spacing).toBeLessThan(DELIVERY_OFFSETS_MS[1] * SCALE + 150);
    expect(record.attempts.map((a) => [a.retryHeader, a.status, a.ok])).toEqual([
      ['1/3', 500, false],
      ['2/3', 200, true],
    ]);
    // the same bytes each time
    expect(fake.received[0].raw.equals(fake.received[1].raw)).toBe(true);
    await new Promise((r) => setTimeout(r, DELIVERY_OFFSETS_MS[2] * SCALE));
    expect(fake.received).toHaveLength(2);
  });

  it('gives up after 3/3; the third call is 122 s (scaled) after the first, and a hang past 60 s counts as a failure', async () => {
    const fake = await startBot(['hang', { status: 502 }]);
    const record = await emulator.sendDelivery({ bot: 'payments', taskId: 1002 });

    expect(record.outcome).toBe('failed');
    expect(fake.received.map((r) => r.headers['x-pyrus-retry'])).toEqual(['1/3', '2/3', '3/3']);
    expect(record.attempts.map((a) => a.offsetMs >= DELIVERY_OFFSETS_MS[a.attempt - 1] * SCALE)).toEqual([true, true, true]);
    expect(record.attempts[2].offsetMs).toBeLessThan(DELIVERY_OFFSETS_MS[2] * SCALE + 150);
    const first = fake.received[0].at;
    expect(fake.received[1].at - first).toBeGreaterThanOrEqual(DELIVERY_OFFSETS_MS[1] * SCALE - 60);
    expect(fake.received[2].at - first).toBeGreaterThanOrEqual(DELIVERY_OFFSETS_MS[2] * SCALE - 60);
    expect(fake.received[2].at - first).toBeLessThan(DELIVERY_OFFSETS_MS[2] * SCALE + 150);
    expect(record.attempts[0].error).toMatch(/no answer within/);
    expect(record.attempts[0].durationMs).toBeGreaterThanOrEqual(DELIVERY_TIMEOUT_MS * SCALE - 5);
    expect(record.attempts.map((a) => a.status)).toEqual([undefined, 502, 502]);
  });

  it('stop() ends a delivery waiting for its retry: it resolves as failed', async () => {
    const fake = await startBot([{ status: 500 }]);
    emulator.timeScale = 1; // the retry would come after a real 61 s
    const pending = emulator.sendDelivery({ bot: 'payments', taskId: 1002 });
    while (fake.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    await emulator.stop();
    const record = await pending;
    expect(record.outcome).toBe('failed');
    expect(record.attempts).toHaveLength(1);
    await emulator.waitForDeliveries();
  });

  it('retries when the bot is unreachable', async () => {
    emulator.addBot({ name: 'payments', login: 'bot@11111111-1111-1111-1111-111111111111', webhookUrl: 'http://127.0.0.1:1/hook' });
    const record = await emulator.sendDelivery({ bot: 'payments', taskId: 1002 });
    expect(record.outcome).toBe('failed');
    expect(record.attempts).toHaveLength(3);
    expect(record.attempts[0].error).toBe('ECONNREFUSED');
  });

  it('signs the exact body with the bot key (verifies with the service guard) and carries a working access_token', async () => {
    const fake = await startBot([{ status: 200 }]);
    await emulator.sendDelivery({ bot: 'payments', taskId: 1002, event: 'comment' });
    const [req] = fake.received;
    const sig = req.headers['x-pyrus-sig'] as string;
    expect(verifyPyrusSignature(req.raw, sig, [PAYMENTS_KEY])).toBe(true);
    expect(verifyPyrusSignature(req.raw, sig, ['another-key'])).toBe(false);
    expect(verifyPyrusSignature(Buffer.concat([req.raw, Buffer.from(' ')]), sig, [PAYMENTS_KEY])).toBe(false);
    expect(req.headers['content-type']).toContain('application/json');

    const body = JSON.parse(req.raw.toString('utf8'));
    expect(Object.keys(body)).toEqual(['event', 'access_token', 'task_id', 'user_id', 'bot_settings', 'task']);
    expect(body).toMatchObject({ event: 'comment', task_id: 1002, user_id: 100002, bot_settings: '{"limit":100000}' });
    expect(body.task.id).toBe(1002);
    expect(Array.isArray(body.task.comments)).toBe(true);
    expect(req.raw.toString('utf8')).toContain('Оплата счёта');

    const api = await fetch(`${emulator.url}/v4/tasks/1002`, { headers: { Authorization: `Bearer ${body.access_token}` } });
    expect(api.status).toBe(200);
  });

  it('sends a given body as its exact bytes, signed, and retries it the same as any other', async () => {
    const fake = await startBot([{ status: 500 }, { status: 400 }]);
    // Nested deeper than JSON.stringify goes, with an escaped NUL and a lone surrogate: only a raw body can carry it.
    const body = `{"event":"comment","task_id":1002,"task":{"id":1002,"text":"a\\u0000b\\ud800","deep":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`;
    const record = await emulator.sendDelivery({ bot: 'payments', taskId: 1002, body });

    expect(record.outcome).toBe('failed');
    expect(fake.received).toHaveLength(3);
    for (const req of fake.received) {
      expect(req.raw.toString('utf8')).toBe(body);
      expect(verifyPyrusSignature(req.raw, req.headers['x-pyrus-sig'] as string, [PAYMENTS_KEY])).toBe(true);
    }
    expect(record.attempts.map((a) => a.status)).toEqual([500, 400, 400]);
  });

  it('sends a delivery by itself when a comment moves the task to a step waiting on a bot, and applies the answer as a comment', async () => {
    const fake = await startBot([{ status: 200, body: JSON.stringify({ text: 'Оплачено', approval_choice: 'approved' }) }]);
    emulator.addTask({
      ...emulator.getTask(1002)!,
      id: 1500,
      current_step: 1,
      approvals: [
        [{ person: emulator.getBot('auto-reply').person, approval_choice: 'waiting' }],
        [{ person: emulator.getBot('payments').person, approval_choice: 'waiting' }],
        [{ person: { id: 7, type: 'user' }, approval_choice: 'waiting' }],
      ],
    });
    const token = emulator.issueToken('auto-reply');
    const res = await fetch(`${emulator.url}/v4/tasks/1500/comments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ approval_choice: 'approved' }),
    });
    expect(res.status).toBe(200);
    await emulator.waitForDeliveries();

    expect(fake.received).toHaveLength(1);
    expect(JSON.parse(fake.received[0].raw.toString('utf8')).task.current_step).toBe(2);
    expect(emulator.deliveries).toHaveLength(1);
    expect(emulator.deliveries[0]).toMatchObject({ bot: 'payments', taskId: 1500, outcome: 'delivered' });
    const task = emulator.getTask(1500)!;
    expect(task.current_step).toBe(3);
    expect(task.comments!.at(-1)).toMatchObject({ text: 'Оплачено', author: { id: 100002 } });
    expect(emulator.comments.map((c) => [c.bot, Boolean(c.viaWebhookAnswer)])).toEqual([
      ['auto-reply', false],
      ['payments', true],
    ]);
  });

  it('sends on demand through POST /_emulator/deliveries', async () => {
    const fake = await startBot([{ status: 204 }]);
    const res = await fetch(`${emulator.url}/_emulator/deliveries`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ bot: 'payments', taskId: 1001, wait: true }),
    });
    expect(res.status).toBe(200);
    const { delivery } = (await res.json()) as { delivery: { outcome: string; attempts: unknown[] } };
    expect(delivery.outcome).toBe('delivered');
    expect(fake.received).toHaveLength(1);
    const unknown = await fetch(`${emulator.url}/_emulator/deliveries`, {
      method: 'POST',
      body: JSON.stringify({ bot: 'nobody', taskId: 1 }),
    });
    expect(unknown.status).toBe(400);
  });
});
