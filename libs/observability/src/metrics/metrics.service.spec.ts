import { Logger } from '@nestjs/common';
import { MetricsService } from './metrics.service';
import { sampleValue as sample } from './testing/prometheus-text';

describe('MetricsService', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));

  it('gives each instance its own registry, so two apps in one process neither collide nor share values', async () => {
    const a = new MetricsService();
    const b = new MetricsService();
    a.webhookDuplicates.inc({ bot: 'x' });
    a.webhookDuplicates.inc({ bot: 'x' });
    expect(sample(await a.metrics(), 'pyrus_bots_webhook_duplicates_total', { bot: 'x' })).toBe(2);
    expect(sample(await b.metrics(), 'pyrus_bots_webhook_duplicates_total', { bot: 'x' })).toBeUndefined();
  });

  it("includes Node's default process metrics", async () => {
    const text = await new MetricsService().metrics();
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('nodejs_heap_size_total_bytes');
  });

  it('reads the queue depths at scrape time, every state of every queue, and only then', async () => {
    const metrics = new MetricsService();
    let counts = { waiting: 3, active: 1, delayed: 0, failed: 7, completed: 99 };
    const reader = jest.fn(() =>
      Promise.resolve([
        { queue: 'deliveries', counts },
        { queue: 'followups', counts: { delayed: 2 } },
      ]),
    );
    metrics.readQueuesWith(reader);
    expect(reader).not.toHaveBeenCalled();

    let text = await metrics.metrics();
    expect(reader).toHaveBeenCalledTimes(1);
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'waiting' })).toBe(3);
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'active' })).toBe(1);
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'delayed' })).toBe(0);
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'failed' })).toBe(7);
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'completed' })).toBeUndefined();
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'followups', state: 'delayed' })).toBe(2);
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'followups', state: 'waiting' })).toBe(0);

    counts = { ...counts, waiting: 0 };
    text = await metrics.metrics();
    expect(reader).toHaveBeenCalledTimes(2);
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'waiting' })).toBe(0);
  });

  it('leaves the queue series out, rather than stale, when Redis cannot be read; the scrape still answers', async () => {
    const metrics = new MetricsService();
    let fail = false;
    metrics.readQueuesWith(() =>
      fail ? Promise.reject(new Error('connection is reconnecting')) : Promise.resolve([{ queue: 'deliveries', counts: { waiting: 5 } }]),
    );
    expect(sample(await metrics.metrics(), 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'waiting' })).toBe(5);
    fail = true;
    const text = await metrics.metrics();
    expect(sample(text, 'pyrus_bots_queue_jobs', { queue: 'deliveries', state: 'waiting' })).toBeUndefined();
    expect(text).toContain('pyrus_bots_webhook_deliveries_total');
  });

  it('reads the quota once per scrape for both quota gauges', async () => {
    const metrics = new MetricsService();
    const reader = jest.fn(() =>
      Promise.resolve([
        { bot: 'payments', limit: 5000, remaining: 4321 },
        { bot: 'auto-reply', limit: 300, remaining: 0 },
      ]),
    );
    metrics.readQuotaWith(reader);
    const text = await metrics.metrics();
    expect(reader).toHaveBeenCalledTimes(1);
    expect(sample(text, 'pyrus_bots_pyrus_quota_remaining', { bot: 'payments' })).toBe(4321);
    expect(sample(text, 'pyrus_bots_pyrus_quota_limit', { bot: 'payments' })).toBe(5000);
    expect(sample(text, 'pyrus_bots_pyrus_quota_remaining', { bot: 'auto-reply' })).toBe(0);
    expect(sample(text, 'pyrus_bots_pyrus_quota_limit', { bot: 'auto-reply' })).toBe(300);
    await new Promise((r) => setImmediate(r));
    await metrics.metrics();
    expect(reader).toHaveBeenCalledTimes(2);
  });

  it('reports no queue or quota series in an app that reads none (the api)', async () => {
    const text = await new MetricsService().metrics();
    expect(text).toContain('# TYPE pyrus_bots_queue_jobs gauge');
    expect(text).not.toMatch(/^pyrus_bots_queue_jobs\{/m);
    expect(text).not.toMatch(/^pyrus_bots_pyrus_quota_remaining\{/m);
  });
});

describe("sampleValue (the tests' reader of the exposition)", () => {
  const text = [
    '# HELP x_total help',
    'x_total{bot="a",operation="POST /tasks/{id}/comments",status="200"} 3',
    'x_total{bot="a",operation="GET /tasks/{id}",status="200"} 5',
    'x_total{bot="a\\"b"} 7',
    'y 1.5',
  ].join('\n');

  it('matches the exact label set, placeholders and escapes included', () => {
    expect(sample(text, 'x_total', { bot: 'a', operation: 'POST /tasks/{id}/comments', status: '200' })).toBe(3);
    expect(sample(text, 'x_total', { status: '200', operation: 'GET /tasks/{id}', bot: 'a' })).toBe(5);
    expect(sample(text, 'x_total', { bot: 'a"b' })).toBe(7);
    expect(sample(text, 'x_total', { bot: 'a' })).toBeUndefined();
    expect(sample(text, 'y')).toBe(1.5);
    expect(sample(text, 'y_total')).toBeUndefined();
  });
});
