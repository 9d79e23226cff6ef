import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '@app/database';
import { TaskLockService, TaskLockTimeoutError } from '../apps/worker/src/deliveries/task-lock.service';
import { TEST_DATABASE_URL } from './support/test-env';

/** The per-task advisory lock the worker takes around each delivery, on the real PostgreSQL. */
describe('TaskLockService', () => {
  let db: DataSource;
  let locks: TaskLockService;

  beforeAll(async () => {
    // The service's own options, so the lock statements run prepared, as in the worker.
    db = new DataSource(buildDataSourceOptions(TEST_DATABASE_URL, {}, 2));
    await db.initialize();
    locks = new TaskLockService(db);
  });
  afterAll(() => db.destroy());

  it('makes a second holder of the same task wait, and gives up after its wait with a retryable error', async () => {
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((held) => {
      void locks.withTaskLock('lock-test', 1, () => {
        held();
        return new Promise<void>((r) => (releaseFirst = r));
      });
    });
    await firstHeld;

    const started = Date.now();
    const second = locks.withTaskLock('lock-test', 1, () => Promise.resolve('ran'), 300);
    await expect(second).rejects.toBeInstanceOf(TaskLockTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // Another task is not held up by it.
    await expect(locks.withTaskLock('lock-test', 2, () => Promise.resolve('other task'), 300)).resolves.toBe('other task');

    releaseFirst();
    await expect(locks.withTaskLock('lock-test', 1, () => Promise.resolve('after release'), 300)).resolves.toBe('after release');
  });

  it('leaves no lock timeout behind on the pooled connection', async () => {
    await locks.withTaskLock('lock-test', 3, () => Promise.resolve(), 1234);
    // Both pooled connections: whichever the lock used must be back to the server's default.
    const runners = [db.createQueryRunner(), db.createQueryRunner()];
    try {
      for (const runner of runners) {
        await runner.connect();
        const [{ lock_timeout }] = await runner.query('SHOW lock_timeout');
        expect(lock_timeout).toBe('0');
      }
    } finally {
      await Promise.all(runners.map((r) => r.release()));
    }
  });
});
