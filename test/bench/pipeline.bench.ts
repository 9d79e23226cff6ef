/**
 * npm run bench:pipeline — (1) with 1,000,000 generated payment rows, p50/p99 of the duplicate and budget checks
 * (target p99 <= 5 ms); (2) 5,000 payment requests through api, worker and emulator with no quota: decisions per
 * second (target >= 300), p99 from webhook to decision comment, and peak RSS of the api and the worker (target
 * <= 250 MB each).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { PaymentHistory } from '../../libs/bots/src/payments/payment-history';
import { buildDataSourceOptions } from '../../libs/database/src/database-options';
import { signPyrusBody } from '../../libs/pyrus/src/signature';
import {
  BENCH_DATABASE_URL,
  BENCH_REDIS_URL,
  cpuMs,
  openBenchStores,
  peakRssMb,
  ROOT,
  runBenchmark,
  startProcess,
  stopProcesses,
} from './bench-support';
import { DataSource } from 'typeorm';
import { request } from 'undici';
import { INVOICE_FORM_FIELDS } from '../support/invoice-task';

const HISTORY_ROWS = Number(process.env.BENCH_HISTORY_ROWS ?? 1_000_000);
const CHECKS = 2000;
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 5000);
const QUEUE_PREFIX = 'bench-pipeline';
const BOT = { name: 'payments', login: 'bot@bench-pipeline', securityKey: 'bench-pipeline-key', userId: 700001 };
const API_PORT = 3950;
const FIRST_TASK = 50_000_000;
/** Worker processes; the design runs any number of them, and one Node process uses one core. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
/** BENCH_DRAIN=1: queue every delivery first, then start the workers and time only their draining of the backlog. */
const DRAIN = process.env.BENCH_DRAIN === '1';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (n: number) => `${n.toFixed(2)} ms`;
/** The totals too: TRUNCATE fires no row trigger, so they would keep every earlier run's payments. */
const TRUNCATE_HISTORY = 'TRUNCATE notifications, payments, payment_monthly_totals, budget_limits';

async function main() {
  const stores = await openBenchStores(QUEUE_PREFIX);
  const { db } = stores;
  await db.query(TRUNCATE_HISTORY);

  // (1) The history: 1,000,000 payments of 20,000 suppliers over three years, a limit for every supplier.
  const t0 = Date.now();
  await db.query(
    `INSERT INTO payments (bot, task_id, supplier_key, supplier_name, invoice_number, invoice_number_norm, invoice_date, amount, currency, status, decided_at, source)
     SELECT 'history', 10000000 + g, 'tax:' || (g % 20000), 'Supplier ' || (g % 20000), 'INV-' || g, 'INV' || g,
            date '2023-01-01' + (g % 1095), round((random() * 100000)::numeric, 2), 'RUB',
            (ARRAY['approved', 'paid', 'rejected', 'approved'])[1 + g % 4], now(), 'backfill'
     FROM generate_series(1, $1) AS g`,
    [HISTORY_ROWS],
  );
  await db.query(
    `INSERT INTO budget_limits (scope, scope_key, period, currency, amount) SELECT 'supplier', 'tax:' || s, 'month', 'RUB', 1000000 FROM generate_series(0, 19999) s`,
  );
  // Each seeded row updated its month's totals row (the trigger): a million dead versions that autovacuum would clear
  // soon after such a load (it is off on the CI machine's PostgreSQL), and which every later update of those totals
  // would otherwise wade through.
  await db.query('VACUUM (ANALYZE) payments, payment_monthly_totals, budget_limits');
  const loadS = (Date.now() - t0) / 1000;

  // The service's own options (prepared statements included), so the checks run as they do in the worker.
  const ds = new DataSource(buildDataSourceOptions(BENCH_DATABASE_URL, {}, 2));
  await ds.initialize();
  const history = new PaymentHistory(ds.manager);
  // What the handler runs per decision: payment_checks (here without its locks), without and with a budget.
  const timings: Record<'duplicates' | 'duplicates and budget', number[]> = { duplicates: [], 'duplicates and budget': [] };
  const time = async (kind: keyof typeof timings, fn: () => Promise<unknown>) => {
    const start = process.hrtime.bigint();
    await fn();
    timings[kind].push(Number(process.hrtime.bigint() - start) / 1e6);
  };
  for (let i = 0; i < CHECKS; i++) {
    const supplierKey = `tax:${Math.floor(Math.random() * 20000)}`;
    const invoiceDate = `2024-${String(1 + (i % 12)).padStart(2, '0')}-15`;
    const invoiceNumberNorm = `INV${Math.floor(Math.random() * HISTORY_ROWS)}`;
    const check = { supplierKey, invoiceNumberNorm, amount: '12345.67', currency: 'RUB', invoiceDate, windowDays: 30, taskId: 1 };
    await time('duplicates', () => history.check(check));
    await time('duplicates and budget', () =>
      history.check({ ...check, budget: { scope: 'supplier', scopeKey: supplierKey, period: 'month' } }),
    );
  }
  await ds.destroy();
  for (const list of Object.values(timings)) list.sort((a, b) => a - b);

  // (2) The pipeline, with the emulator's quota out of the way.
  const emulator = new PyrusEmulator({ bots: [BOT], autoDeliver: false, quotaLimit: 1_000_000, log: () => undefined });
  await emulator.start();
  const botsFile = join(mkdtempSync(join(tmpdir(), 'bench-pipeline-')), 'bots.json');
  const fields = INVOICE_FORM_FIELDS;
  writeFileSync(
    botsFile,
    JSON.stringify({
      bots: [
        {
          name: BOT.name,
          login: BOT.login,
          securityKeys: [BOT.securityKey],
          handler: 'payment-approval',
          settings: { fields, budget: { scope: 'supplier', period: 'month' } },
        },
      ],
    }),
  );
  const env = {
    DATABASE_URL: BENCH_DATABASE_URL,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX,
    BOTS_FILE: botsFile,
    LOG_LEVEL: 'warn',
    PYRUS_AUTH_URL: emulator.authUrl,
    PYRUS_API_URL: emulator.apiUrl,
  };
  const api = await startProcess(
    join(ROOT, 'dist/apps/api/src/main.js'),
    { ...env, PORT: String(API_PORT) },
    `http://127.0.0.1:${API_PORT}/health/live`,
  );
  const startWorkers = () =>
    Promise.all(
      Array.from({ length: WORKERS }, (_, i) =>
        startProcess(
          join(ROOT, 'dist/apps/worker/src/main.js'),
          { ...env, WORKER_PORT: String(3951 + i) },
          `http://127.0.0.1:${3951 + i}/health/live`,
        ),
      ),
    );
  const workers = DRAIN ? [] : await startWorkers();
  try {
    const token = emulator.issueToken(BOT.name);
    const sentAt = new Map<number, number>();
    for (let i = 0; i < DELIVERIES; i++) {
      const id = FIRST_TASK + i;
      emulator.addTask({
        id,
        form_id: 9001,
        current_step: 1,
        fields: [
          { id: 1, type: 'text', code: 'supplier', value: `Supplier ${i % 20000}` },
          { id: 2, type: 'text', code: 'inn', value: String(i % 20000) },
          { id: 3, type: 'text', code: 'invoice_no', value: `NEW-${id}` },
          { id: 4, type: 'date', code: 'invoice_date', value: '2026-11-01' },
          { id: 5, type: 'money', code: 'amount', value: 100 + (i % 900) },
          { id: 6, type: 'text', code: 'currency', value: 'RUB' },
        ],
        approvals: [[{ person: { id: BOT.userId, type: 'bot' }, approval_choice: 'waiting' }]],
      });
    }
    // Bodies and signatures are made before the clock starts: the load generator's own work is not the service's.
    const webhooks = Array.from({ length: DELIVERIES }, (_, i) => {
      const id = FIRST_TASK + i;
      const body = JSON.stringify({ event: 'comment', access_token: token, task_id: id, user_id: BOT.userId, task: emulator.getTask(id) });
      return { id, body, signature: signPyrusBody(body, BOT.securityKey) };
    });
    let next = 0;
    // CPU per decision is steadier than the rate on a shared machine; each side counts from when the clock starts.
    const cpuOf = () => ({ api: cpuMs(api.pid!), workers: workers.reduce((sum, w) => sum + cpuMs(w.pid!), 0), self: process.cpuUsage() });
    let cpuAtStart = cpuOf();
    const started = Date.now();
    let drainStarted: number | undefined;
    const send = async () => {
      while (next < DELIVERIES) {
        const { id, body, signature } = webhooks[next++];
        sentAt.set(id, Date.now());
        // undici's request, not fetch: this process also plays Pyrus, and fetch would take its CPU from the service.
        const res = await request(`http://127.0.0.1:${API_PORT}/bots/${BOT.name}/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-pyrus-sig': signature },
          body,
        });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`delivery for task ${id} answered ${res.statusCode}`);
      }
    };
    await Promise.all(Array.from({ length: 20 }, send));
    if (DRAIN) {
      // The backlog is queued: from here on only the workers run, and the rate counts from their start.
      workers.push(...(await startWorkers()));
      cpuAtStart = cpuOf();
      drainStarted = Date.now();
    }
    const deadline = Date.now() + 300_000;
    while (emulator.comments.length < DELIVERIES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const elapsedS = (Date.now() - (drainStarted ?? started)) / 1000;
    const cpuAtEnd = cpuOf();
    const cpuPerDecision = (before: number, after: number) => ((after - before) / Math.max(emulator.comments.length, 1)).toFixed(2);
    const selfMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;
    const latencies = emulator.comments.map((c) => Date.parse(c.at) - sentAt.get(c.taskId)!).sort((a, b) => a - b);
    // Where the rate goes: in a full run the worker shares the cores with the api while the webhooks arrive.
    const perSecond = (times: number[]) => {
      const counts: number[] = [];
      for (const t of times) {
        const second = Math.floor((t - (drainStarted ?? started)) / 1000);
        counts[second] = (counts[second] ?? 0) + 1;
      }
      return Array.from(counts, (c) => c ?? 0).join(' ');
    };
    const approved = emulator.comments.filter((c) => c.request.approval_choice === 'approved').length;
    const rate = emulator.comments.length / elapsedS;
    const rss = { api: peakRssMb(api.pid!), worker: Math.max(...workers.map((w) => peakRssMb(w.pid!))) };
    const worst = Math.max(...Object.values(timings).map((l) => percentile(l, 99)));

    process.stdout.write(
      [
        `pipeline benchmark (${WORKERS} worker process${WORKERS > 1 ? 'es' : ''}${DRAIN ? ', draining a queued backlog' : ''})`,
        `  history: ${HISTORY_ROWS.toLocaleString('en')} payments of 20,000 suppliers loaded in ${loadS.toFixed(0)} s; ${CHECKS} checks of each kind`,
        ...(['duplicates', 'duplicates and budget'] as const).map(
          (k) => `  ${`check, ${k}`.padEnd(27)}: p50 ${ms(percentile(timings[k], 50))}, p99 ${ms(percentile(timings[k], 99))}`,
        ),
        `  worst p99                  : ${ms(worst)}   (target <= 5 ms)`,
        `  deliveries decided         : ${emulator.comments.length} of ${DELIVERIES} (${approved} approved) in ${elapsedS.toFixed(1)} s`,
        `  decisions per second       : ${rate.toFixed(0)}   (target >= 300)`,
        ...(DRAIN ? [] : [`  webhooks sent each second  : ${perSecond([...sentAt.values()])}`]),
        `  decisions each second      : ${perSecond(emulator.comments.map((c) => Date.parse(c.at)))}`,
        `  CPU per decision           : api ${cpuPerDecision(cpuAtStart.api, cpuAtEnd.api)} ms, worker${WORKERS > 1 ? 's' : ''} ${cpuPerDecision(cpuAtStart.workers, cpuAtEnd.workers)} ms, this process (sender and emulator) ${cpuPerDecision(selfMs(cpuAtStart.self), selfMs(cpuAtEnd.self))} ms`,
        `  webhook to decision comment: p50 ${latencies.length ? percentile(latencies, 50) : NaN} ms, p99 ${latencies.length ? percentile(latencies, 99) : NaN} ms`,
        `  peak RSS                   : api ${rss.api.toFixed(0)} MB, worker ${rss.worker.toFixed(0)} MB (the largest)   (target <= 250 MB each)`,
      ].join('\n') + '\n',
    );
    const ok = worst <= 5 && rate >= 300 && rss.api <= 250 && rss.worker <= 250 && emulator.comments.length === DELIVERIES;
    process.stdout.write(ok ? 'bench:pipeline: all targets met\n' : 'bench:pipeline: TARGET MISSED\n');
    process.exitCode = emulator.comments.length === DELIVERIES ? 0 : 1;
  } finally {
    await stopProcesses(api, ...workers);
    await emulator.stop();
    await db.query(TRUNCATE_HISTORY);
    await stores.close();
  }
}

runBenchmark(main);
