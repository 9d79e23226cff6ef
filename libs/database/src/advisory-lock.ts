import { DataSource, QueryRunner } from 'typeorm';

/**
 * Runs `fn` only if no other process holds the Postgres advisory lock `lockId`, holding it on a connection of its
 * own (passed to `fn`) until `fn` ends; Postgres drops it if the process dies. Returns undefined when the lock was
 * taken elsewhere. For jobs that must never run on two workers at once (the sweeps).
 */
export async function withTryAdvisoryLock<T>(
  db: DataSource,
  lockId: number,
  fn: (runner: QueryRunner) => Promise<T>,
): Promise<{ value: T } | undefined> {
  const runner = db.createQueryRunner();
  await runner.connect();
  try {
    const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [lockId])) as Array<{ locked: boolean }>;
    if (!locked) return undefined;
    try {
      return { value: await fn(runner) };
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [lockId]);
    }
  } finally {
    await runner.release();
  }
}
