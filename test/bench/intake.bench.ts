/**
 * npm run bench:intake — signed deliveries at 50 connections against the api (real Postgres and Redis), and in
 * the same run against a bare NestJS route that only reads the raw body. Prints both rates, their ratio, the
 * api's p50/p99 ack latency and peak RSS, and checks that every acknowledged delivery is in Postgres and in the
 * queue. Targets: ratio >= 0.6, p99 <= 50 ms, nothing missing.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { signPyrusBody } from '../../libs/pyrus/src/signature';
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  cpuMs,
  openBenchStores,
  peakRssMb,
  ROOT,
  startProcess,
  stopProcesses,
  runBenchmark,
} from './bench-support';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 15);
const CONNECTIONS = 50;
const QUEUE_PREFIX = 'bench-intake';
const KEY = 'bench-key';
const API_PORT = 3910;
const BARE_PORT = 3911;

function fire(port: number, template: Record<string, any>, firstTaskId: number) {
  let taskId = firstTaskId;
  return autocannon({
    url: `http://127.0.0.1:${port}/bots/auto-reply/webhook`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const id = taskId++;
          template.task_id = id;
          template.task.id = id;
          const body = JSON.stringify(template);
          return {
            ...req,
            body,
            headers: { 'content-type': 'application/json', 'x-pyrus-sig': signPyrusBody(body, KEY), 'x-pyrus-retry': '1/3' },
          };
        },
      },
    ],
  });
}

/** `fire`, and the CPU the answering process spent per request: steadier than req/s on a shared machine. */
async function fireMeasured(pid: number, port: number, template: Record<string, any>, firstTaskId: number) {
  const before = cpuMs(pid);
  const result = await fire(port, template, firstTaskId);
  return { result, cpuUs: ((cpuMs(pid) - before) * 1000) / result.requests.total };
}

async function main() {
  const stores = await openBenchStores(QUEUE_PREFIX);
  const { db, queue } = stores;

  const template = JSON.parse(readFileSync(resolve(ROOT, 'test/fixtures/pyrus/event.json'), 'utf8'));
  const env = {
    DATABASE_URL: BENCH_DATABASE_URL,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX,
    BOTS_FILE: resolve(ROOT, 'test/fixtures/bots.test.json'),
    TEST_BOT_KEY: KEY,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };

  const bare = await startProcess(resolve(__dirname, 'bare-app.ts'), { ...env, PORT: String(BARE_PORT) }, `http://127.0.0.1:${BARE_PORT}/`);
  const api = await startProcess(
    resolve(ROOT, 'dist/apps/api/src/main.js'),
    { ...env, PORT: String(API_PORT) },
    `http://127.0.0.1:${API_PORT}/health/live`,
  );
  try {
    await fire(API_PORT, template, 1_000_000_000).catch(() => undefined); // warm-up pass, discarded below
    await db.query('TRUNCATE processed_tasks, deliveries CASCADE');
    await queue.obliterate({ force: true });

    const { result: bareResult, cpuUs: bareCpuUs } = await fireMeasured(bare.pid!, BARE_PORT, template, 1);
    const { result: apiResult, cpuUs: apiCpuUs } = await fireMeasured(api.pid!, API_PORT, template, 1);

    const acknowledged = apiResult['2xx'];
    const [{ count: stored }] = (await db.query(`SELECT count(*)::int AS count FROM deliveries WHERE bot = 'auto-reply'`)).rows;
    const [{ count: unqueued }] = (await db.query(`SELECT count(*)::int AS count FROM deliveries WHERE queued_at IS NULL`)).rows;
    const counts = await queue.getJobCounts();
    const queued = counts.waiting + counts.active + counts.completed + counts.failed + counts.delayed;
    const ratio = apiResult.requests.average / bareResult.requests.average;
    const rss = peakRssMb(api.pid!);

    const lines = [
      `intake benchmark: ${CONNECTIONS} connections, ${DURATION_S} s each, ${Buffer.byteLength(JSON.stringify(template))} B deliveries`,
      `  bare NestJS raw-body route : ${bareResult.requests.average.toFixed(0)} req/s, p50 ${bareResult.latency.p50} ms, p99 ${bareResult.latency.p99} ms`,
      `  api webhook (store+queue)  : ${apiResult.requests.average.toFixed(0)} req/s, p50 ${apiResult.latency.p50} ms, p99 ${apiResult.latency.p99} ms`,
      `  CPU per request            : bare ${bareCpuUs.toFixed(0)} µs, api ${apiCpuUs.toFixed(0)} µs (each process's own, all its threads)`,
      `  ratio api / bare           : ${ratio.toFixed(2)}   (target >= 0.60)`,
      `  api p99 ack latency        : ${apiResult.latency.p99} ms   (target <= 50 ms)`,
      `  api peak RSS               : ${rss.toFixed(0)} MB`,
      `  acknowledged (2xx)         : ${acknowledged}, non-2xx: ${apiResult.non2xx}, errors: ${apiResult.errors}, timeouts: ${apiResult.timeouts}`,
      `  in Postgres                : ${stored} (unqueued: ${unqueued}); in the queue: ${queued}`,
      `  missing                    : ${Math.max(0, acknowledged - stored)} from Postgres, ${Math.max(0, acknowledged - queued)} from the queue`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    const ok = ratio >= 0.6 && apiResult.latency.p99 <= 50 && stored >= acknowledged && queued >= acknowledged;
    process.stdout.write(ok ? 'bench:intake: all targets met\n' : 'bench:intake: TARGET MISSED\n');
    process.exitCode = stored >= acknowledged && queued >= acknowledged ? 0 : 1;
  } finally {
    await stopProcesses(api, bare);
    await stores.close();
  }
}

runBenchmark(main);
