import { createServer, Server } from 'node:net';
import { AppProcess, buildAppsOnce } from './support/app-process';
import { freePort } from './support/child-processes';
import { testEnv } from './support/stack';

/**
 * A boot that fails says so: the built api and worker, run as `npm run start:*` runs them, each with a real fault
 * (a port taken, PostgreSQL not there or refusing the login, a wrong variable), exit non-zero with one line on stderr
 * that names the fault and the fix, and no password from a URL.
 */
describe('boot failures', () => {
  let build: string;
  const apps = [
    { name: 'api' as const, portVariable: 'PORT' },
    { name: 'worker' as const, portVariable: 'WORKER_PORT' },
  ];

  beforeAll(() => {
    build = buildAppsOnce();
  }, 180000);

  /** Runs the app until it exits; fails the test if it is still up after a minute. */
  async function bootToExit(name: 'api' | 'worker', env: Record<string, string>) {
    const app = new AppProcess(build, name, {
      ...testEnv(),
      PORT: String(await freePort()),
      WORKER_PORT: String(await freePort()),
      ...env,
    });
    const timer = setTimeout(() => void app.kill(), 60000);
    const { code } = await app.exited;
    clearTimeout(timer);
    return { code, stderrLines: app.stderr.split('\n').filter((line) => line !== ''), stderr: app.stderr };
  }

  describe.each(apps)('the $name', ({ name, portVariable }) => {
    it('names the port in use and the variable that moves it', async () => {
      const taken: Server = createServer();
      await new Promise<void>((done) => taken.listen(0, done));
      const port = (taken.address() as { port: number }).port;
      try {
        const result = await bootToExit(name, { [portVariable]: String(port) });
        expect(result.code).toBe(1);
        expect(result.stderrLines).toEqual([`${name}: port ${port} is in use; stop the other process or set ${portVariable}`]);
      } finally {
        await new Promise<void>((done) => taken.close(() => done()));
      }
    }, 90000);

    it('names PostgreSQL and its address when nothing answers there, and keeps the password out', async () => {
      const closed = await freePort();
      const result = await bootToExit(name, { DATABASE_URL: `postgres://pyrus:Pg-Secret-4711@127.0.0.1:${closed}/pyrus_bots_test` });
      expect(result.code).toBe(1);
      expect(result.stderrLines).toEqual([
        `${name}: cannot reach PostgreSQL at 127.0.0.1:${closed} (ECONNREFUSED); start it or fix DATABASE_URL`,
      ]);
    }, 90000);

    it('says PostgreSQL refused the login, without the password', async () => {
      const result = await bootToExit(name, {
        DATABASE_URL: 'postgres://no_such_role_boot_test:Pg-Secret-4711@127.0.0.1:5432/pyrus_bots_test',
      });
      expect(result.code).toBe(1);
      expect(result.stderrLines).toHaveLength(1);
      expect(result.stderrLines[0]).toMatch(
        new RegExp(
          `^${name}: PostgreSQL at 127\\.0\\.0\\.1:5432 refused the login: .*no_such_role_boot_test.*; fix the user or password in DATABASE_URL$`,
        ),
      );
      expect(result.stderr).not.toContain('Pg-Secret-4711');
    }, 90000);

    it('names the invalid variable', async () => {
      const result = await bootToExit(name, { QUEUE_LOCK_DURATION_MS: 'thirty seconds' });
      expect(result.code).toBe(1);
      expect(result.stderrLines).toHaveLength(1);
      expect(result.stderrLines[0]).toMatch(
        new RegExp(
          `^${name}: invalid environment: QUEUE_LOCK_DURATION_MS: .*must be an integer.*; fix the variable named and start again$`,
        ),
      );
    }, 90000);
  });
});
