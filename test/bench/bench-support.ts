import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import Queue from 'bull';
import { Client } from 'pg';
import { prepareDatabase } from '../../libs/database/src/schema-setup';

// Shared with the chaos run (test/chaos), which starts and restarts the same processes.
export { ROOT, startProcess, stopProcesses } from '../support/child-processes';

const CLOCK_TICKS = Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
/** CPU time (user + system) a process has used, in ms; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM) of a running process, in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pyrus_bots_bench';
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/2';

/** The benchmark's own database (migrated, emptied) and queue (emptied, with the prefix's Pyrus state). */
export async function openBenchStores(queuePrefix: string) {
  await prepareDatabase(BENCH_DATABASE_URL);
  const db = new Client({ connectionString: BENCH_DATABASE_URL });
  await db.connect();
  // The worker's call log and job attempts too, so that every run starts alike: kept, they grew by 15,000 rows a
  // pipeline run.
  await db.query('TRUNCATE processed_tasks, deliveries, job_attempts, outbound_calls CASCADE');
  const queue = new Queue('deliveries', BENCH_REDIS_URL, { prefix: queuePrefix });
  await queue.obliterate({ force: true });
  const pyrusKeys = await queue.client.keys(`${queuePrefix}:pyrus:*`);
  if (pyrusKeys.length) await queue.client.del(...pyrusKeys);
  return {
    db,
    queue,
    async close() {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await db.end();
    },
  };
}

/** Runs a benchmark's main, printing a failure and exiting non-zero on error. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  });
}
