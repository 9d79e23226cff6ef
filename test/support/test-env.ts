import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pyrus_bots_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/1';
export const TEST_BOTS_FILE = resolve(__dirname, '../fixtures/bots.test.json');
export const TEST_BOT_KEY = 'test-key-current';

/** The environment an app under test boots with; each test file gets its own queue prefix. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    BOTS_FILE: TEST_BOTS_FILE,
    TEST_BOT_KEY: TEST_BOT_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    QUEUE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    JOB_ATTEMPTS: '4',
    JOB_BACKOFF_MS: '50',
    // A patient follow-up (the delayed ERP order) gives up after about a second, as the others after their 4 attempts.
    FOLLOWUP_PATIENCE_MS: '1000',
    FOLLOWUP_RETRY_MAX_DELAY_MS: '200',
    // Off unless a test wants it (hourly): the reconciliation reads every spec's rows in the shared database, and would
    // queue another spec's unfinished deliveries into this one's queue.
    RECONCILE_INTERVAL_MS: '3600000',
    RECONCILE_MIN_AGE_MS: '1000',
    // Off unless a test wants it: a sweep at start would add Pyrus calls (sign-in, inbox) other tests count.
    INBOX_SWEEP_INTERVAL_MS: '0',
    QUEUE_ADD_TIMEOUT_MS: '500',
    PYRUS_TIMEOUT_MS: '2000',
    PYRUS_RETRY_BASE_MS: '20',
    ...overrides,
  };
}
