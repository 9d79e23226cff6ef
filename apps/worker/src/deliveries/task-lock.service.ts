import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { prepared } from '@app/database';

// The timeout is local to the lock statement's implicit transaction: no SET and RESET round trips around it.
const LOCK = prepared(`SELECT set_config('lock_timeout', $2, true), pg_advisory_lock(hashtextextended($1, 0))`);
const UNLOCK = prepared('SELECT pg_advisory_unlock(hashtextextended($1, 0))');

export class TaskLockTimeoutError extends Error {
  readonly retryable = true;
}

/**
 * Serializes work on one task across every worker process: a Postgres advisory lock on (bot, task), held on its
 * own connection for the duration of `fn`. Postgres drops it by itself if the process dies.
 */
@Injectable()
export class TaskLockService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async withTaskLock<T>(bot: string, taskId: number, fn: () => Promise<T>, waitMs = 20000): Promise<T> {
    const key = `task:${bot}:${taskId}`;
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      try {
        await runner.query(LOCK, [key, String(Math.max(1, Math.floor(waitMs)))]);
      } catch (err) {
        if ((err as { code?: string }).code === '55P03') {
          throw new TaskLockTimeoutError(`Task ${taskId} is busy in another worker; will retry`);
        }
        throw err;
      }
      try {
        return await fn();
      } finally {
        await runner.query(UNLOCK, [key]);
      }
    } finally {
      await runner.release();
    }
  }
}
