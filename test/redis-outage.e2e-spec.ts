import { AppProcess, buildAppsOnce } from './support/app-process';
import { freePort } from './support/child-processes';
import { PrivateRedis } from './support/private-redis';
import { sleep, testEnv, waitFor } from './support/stack';

const GONE = /^Redis at 127\.0\.0\.1:\d+ is unreachable \(.+\); retrying until it is back/;
const BACK = /^Redis at 127\.0\.0\.1:\d+ is back after \d+\.\d s$/;

/**
 * Redis stopping and coming back, with the built api and worker on a redis-server of the test's own: each process
 * logs one warning when Redis goes and one line when it is back, and no ioredis stack ("Unhandled error event"),
 * however long the outage. At boot, Redis unreachable is the same warning: the process waits for it.
 */
describe('Redis outage', () => {
  let build: string;
  let redis: PrivateRedis;
  const running: AppProcess[] = [];

  beforeAll(() => {
    build = buildAppsOnce();
  }, 180000);

  beforeEach(async () => {
    redis = new PrivateRedis({ port: await freePort() });
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
    await redis.kill();
  });

  async function startApps(): Promise<{ api: AppProcess; worker: AppProcess; apiPort: number }> {
    const apiPort = await freePort();
    const env = testEnv({ REDIS_URL: redis.url, LOG_LEVEL: 'info', PORT: String(apiPort), WORKER_PORT: String(await freePort()) });
    const api = new AppProcess(build, 'api', env);
    const worker = new AppProcess(build, 'worker', env);
    running.push(api, worker);
    await api.waitForLog(/^api listening on port/);
    await worker.waitForLog(/^worker running/);
    return { api, worker, apiPort };
  }

  const linesOf = (app: AppProcess, pattern: RegExp) => app.logLines().filter((line) => line.context === 'Redis' && pattern.test(line.msg));

  async function redisReady(apiPort: number): Promise<boolean> {
    const res = await fetch(`http://127.0.0.1:${apiPort}/health/ready`);
    const body = (await res.json()) as { info?: { redis?: { status: string } } };
    return body.info?.redis?.status === 'up';
  }

  it('one warning when Redis goes and one line when it is back, per process, and no ioredis stacks', async () => {
    await redis.start();
    const { api, worker, apiPort } = await startApps();
    await waitFor('the api to see Redis', () => redisReady(apiPort), 15000);

    await redis.kill();
    for (const app of [api, worker]) await app.waitForLog(GONE, 15000);
    // Long enough for several reconnect attempts per connection (one every 2 s at most), each of which used to print
    // a stack.
    await sleep(6000);
    await redis.start();
    for (const app of [api, worker]) await app.waitForLog(BACK, 15000);
    await waitFor('the api to see Redis again', () => redisReady(apiPort), 15000);
    await sleep(1000);

    for (const app of [api, worker]) {
      expect(linesOf(app, GONE)).toEqual([expect.objectContaining({ level: 40 })]);
      expect(linesOf(app, BACK)).toEqual([expect.objectContaining({ level: 30 })]);
      expect(app.stdout + app.stderr).not.toContain('Unhandled error event');
      expect(app.stderr).toBe('');
    }
  }, 120000);

  it('Redis unreachable at boot: both processes start, warn once and wait, and work once it comes', async () => {
    const { api, worker, apiPort } = await startApps();
    await sleep(4000);
    expect(await redisReady(apiPort)).toBe(false);

    await redis.start();
    for (const app of [api, worker]) await app.waitForLog(BACK, 15000);
    await waitFor('the api to see Redis', () => redisReady(apiPort), 15000);

    for (const app of [api, worker]) {
      expect(linesOf(app, GONE)).toEqual([expect.objectContaining({ level: 40, msg: expect.stringContaining('ECONNREFUSED') })]);
      expect(linesOf(app, BACK)).toHaveLength(1);
      expect(app.stdout + app.stderr).not.toContain('Unhandled error event');
      expect(app.stderr).toBe('');
    }
  }, 120000);
});
