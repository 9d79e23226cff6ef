/**
 * npm run bench:pipeline — (1) with 1,000,000 generated payment rows, p50/p99 of the checks as the payment bots call
 * them (target p99 <= 5 ms); (2) the same requests through api, worker and emulator (no quota) on two routes, side by
 * side: "before", the payment-approval preset alone on one stage (accountant -> preset -> treasurer), and "after", the
 * three-bot route (accountant -> duplicate-check -> head -> budget-check -> CFO -> payment-order -> treasurer). The
 * benchmark plays the people, approving through the emulator's API as soon as a task reaches their step; the emulator
 * sends each bot its webhook. For each route: bot decisions per second (target >= 300), requests (whole routes)
 * completed per second, p99 from webhook to decision comment, and peak RSS of the api and the worker (target <= 250 MB).
 * Each route has its own api and worker processes and queue prefix; the routes take turns in rounds, so that what else
 * runs on a shared machine weighs on both alike.
 */
import { loadavg } from 'node:os';
import { PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { PaymentHistory } from '../../libs/bots/src/payments/payment-history';
import { buildDataSourceOptions } from '../../libs/database/src/database-options';
import { FakeErp } from '../support/fake-erp';
import {
  Account,
  ACCOUNTANT,
  addInvoiceTask,
  addPeople,
  BENCH_DATABASE_URL,
  Bot,
  CFO,
  decisionMs,
  HEAD,
  openBenchStores,
  percentile,
  PRESET,
  runBenchmark,
  startService,
  THREE_BOT_ROUTE,
  TREASURER,
  walkRoute,
} from './bench-support';
import { DataSource } from 'typeorm';

const HISTORY_ROWS = Number(process.env.BENCH_HISTORY_ROWS ?? 1_000_000);
const CHECKS = 2000;
/** Requests (whole routes) per route; each supplier takes at most one request of the run (warm-up included). */
const REQUESTS = Number(process.env.BENCH_DELIVERIES ?? 3000);
/** Requests under way at once: the people start a new one as soon as one completes. */
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 100);
/** Requests each route walks first, uncounted, while the processes warm up. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const QUEUE_PREFIX = 'bench-pipeline';
/** The routes take turns this many times, each walking its share of the requests. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Worker processes; the design runs any number of them, and one Node process uses one core. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const ROUND_TIMEOUT_MS = 240_000;
const FORM_ID = 9001;

const ms = (n: number) => `${n.toFixed(2)} ms`;
/** The totals too: TRUNCATE fires no row trigger, so they would keep every earlier run's payments. */
const TRUNCATE_HISTORY = 'TRUNCATE notifications, payments, payment_monthly_totals, budget_limits';

/** A route: its steps in order (each one account), and the task ids and suppliers its requests use. */
interface Route {
  name: 'before' | 'after';
  steps: Account[];
  firstTask: number;
  firstSupplier: number;
}
const ROUTES: Route[] = [
  { name: 'before', steps: [ACCOUNTANT, PRESET, TREASURER], firstTask: 50_000_000, firstSupplier: 0 },
  { name: 'after', steps: THREE_BOT_ROUTE, firstTask: 51_000_000, firstSupplier: 10_000 },
];

/** What one round of a route measured; the rounds of a route add up. */
interface Measure {
  requests: number;
  completed: number;
  sentBack: number;
  decisions: number;
  /** Bot comments beyond the first of a bot on a task: none, when each decision is made once. */
  doubled: number;
  elapsedS: number;
  /** Webhook sent (the emulator's delivery started) to the bot's comment, per decision, by bot. */
  decisionMs: Record<string, number[]>;
  /** The accountant's approval to the last step's, per completed request. */
  requestMs: number[];
  /** CPU time used in the round, ms. */
  cpuMs: { api: number; workers: number; self: number };
  /** The machine's 1-minute load average as the round ends: the other processes on this shared machine show here. */
  loads: number[];
}

const addUp = (a: Measure, b: Measure): Measure => ({
  requests: a.requests + b.requests,
  completed: a.completed + b.completed,
  sentBack: a.sentBack + b.sentBack,
  decisions: a.decisions + b.decisions,
  doubled: a.doubled + b.doubled,
  elapsedS: a.elapsedS + b.elapsedS,
  decisionMs: Object.fromEntries(
    [...new Set([...Object.keys(a.decisionMs), ...Object.keys(b.decisionMs)])].map((bot) => [
      bot,
      [...(a.decisionMs[bot] ?? []), ...(b.decisionMs[bot] ?? [])],
    ]),
  ),
  requestMs: [...a.requestMs, ...b.requestMs],
  cpuMs: { api: a.cpuMs.api + b.cpuMs.api, workers: a.cpuMs.workers + b.cpuMs.workers, self: a.cpuMs.self + b.cpuMs.self },
  loads: [...a.loads, ...b.loads],
});

async function main() {
  if (WARMUP + REQUESTS > 10_000)
    throw new Error('BENCH_WARMUP + BENCH_DELIVERIES is at most 10,000: each request has a supplier of its own');
  // Each route's processes have a queue prefix of their own: a worker takes only its own route's bots' jobs.
  const queues = [await openBenchStores(`${QUEUE_PREFIX}-before`), await openBenchStores(`${QUEUE_PREFIX}-after`)];
  const { db } = queues[0];
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

  // The service's own options (prepared statements included), so the checks run as they do in the worker: payment_checks
  // with the supplier's lock key, without a budget (the duplicate-check bot) and with one (the budget-check bot, and the
  // preset, which makes the same call: duplicates and budget in one statement).
  const ds = new DataSource(buildDataSourceOptions(BENCH_DATABASE_URL, {}, 2));
  await ds.initialize();
  const history = new PaymentHistory(ds.manager);
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
    const check = {
      lockKeys: [`payments:${supplierKey}`],
      supplierKey,
      invoiceNumberNorm,
      amount: '12345.67',
      currency: 'RUB',
      invoiceDate,
      windowDays: 30,
      taskId: 1,
    };
    await time('duplicates', () => history.check(check));
    await time('duplicates and budget', () =>
      history.check({ ...check, budget: { scope: 'supplier', scopeKey: supplierKey, period: 'month' } }),
    );
  }
  await ds.destroy();
  for (const list of Object.values(timings)) list.sort((a, b) => a - b);

  // (2) The routes, with the emulator's quota out of the way.
  const emulator = new PyrusEmulator({ autoDeliver: true, quotaLimit: 10_000_000, log: () => undefined });
  await emulator.start();
  addPeople(emulator, [ACCOUNTANT, HEAD, CFO, TREASURER]);
  // The tests' fake ERP: it answers each order at once, the same order for the same Idempotency-Key.
  const erp = new FakeErp();
  await erp.start();
  const running: RunningRoute[] = [];
  const measured = new Map<Route, Measure>();
  const rss = new Map<Route, { api: number; worker: number }>();
  try {
    for (const route of ROUTES) running.push(await startRoute(emulator, route, erp.url));
    // The first requests warm the processes up (connections, compiled code) and are not counted.
    for (const r of running) if (WARMUP > 0) await r.drive(0, WARMUP);
    const share = Math.ceil(REQUESTS / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      const first = WARMUP + round * share;
      const count = Math.min(share, REQUESTS - round * share);
      if (count <= 0) break;
      for (const r of running) {
        const m = await r.drive(first, count);
        measured.set(r.route, measured.has(r.route) ? addUp(measured.get(r.route)!, m) : m);
      }
    }
    for (const r of running) rss.set(r.route, r.rss());
  } finally {
    await Promise.all(running.map((r) => r.stop()));
    await emulator.stop();
    await erp.stop();
    await db.query(TRUNCATE_HISTORY);
    for (const q of queues) await q.close();
  }

  const sorted = (list: number[]) => [...list].sort((a, b) => a - b);
  const [before, after] = ROUTES.map((route) => {
    const m = measured.get(route)!;
    const byBot = Object.fromEntries(Object.entries(m.decisionMs).map(([bot, list]) => [bot, sorted(list)]));
    const allDecisions = sorted(Object.values(m.decisionMs).flat());
    return { route, ...m, byBot, allDecisions, requestMs: sorted(m.requestMs), rss: rss.get(route)! };
  });
  type Result = typeof before;
  const perDecision = (r: Result, k: keyof Measure['cpuMs']) => r.cpuMs[k] / Math.max(r.decisions, 1);
  const worst = Math.max(...Object.values(timings).map((l) => percentile(l, 99)));
  const row = (label: string, b: string | number, a: string | number, r = '') =>
    `  ${label.padEnd(34)}${String(b).padStart(14)}${String(a).padStart(20)}${r.padStart(14)}`;
  /** A measure of both routes and its ratio, after over before. */
  const line = (label: string, of: (r: Result) => number, digits = 0) =>
    row(label, of(before).toFixed(digits), of(after).toFixed(digits), of(before) ? (of(after) / of(before)).toFixed(2) : 'n/a');
  const loads = (r: Result) => `${Math.min(...r.loads).toFixed(1)}-${Math.max(...r.loads).toFixed(1)}`;
  const rate = (r: Result, n: number) => n / r.elapsedS;
  process.stdout.write(
    [
      `pipeline benchmark (${WORKERS} worker process${WORKERS > 1 ? 'es' : ''} a route; ${REQUESTS} requests a route after ${WARMUP} to warm up, ${IN_FLIGHT} under way at once, in ${ROUNDS} rounds taking turns)`,
      `  history: ${HISTORY_ROWS.toLocaleString('en')} payments of 20,000 suppliers loaded in ${loadS.toFixed(0)} s; ${CHECKS} checks of each kind`,
      `  ${'check, duplicates (duplicate-check)'.padEnd(52)}: p50 ${ms(percentile(timings.duplicates, 50))}, p99 ${ms(percentile(timings.duplicates, 99))}`,
      `  ${'check, duplicates and budget (budget-check, preset)'.padEnd(52)}: p50 ${ms(percentile(timings['duplicates and budget'], 50))}, p99 ${ms(percentile(timings['duplicates and budget'], 99))}`,
      `  worst p99: ${ms(worst)}   (target <= 5 ms)`,
      `  before: ${before.route.steps.map((s) => s.name).join(' -> ')}`,
      `  after : ${after.route.steps.map((s) => s.name).join(' -> ')}`,
      row('', 'before', 'after', 'after/before'),
      row('requests completed', `${before.completed}/${before.requests}`, `${after.completed}/${after.requests}`),
      row('requests sent back by a bot', before.sentBack, after.sentBack),
      row('bot comments beyond one per task', before.doubled, after.doubled),
      row('ERP orders (warm-up included)', '', erp.orders.size),
      line('bot decisions', (r) => r.decisions),
      line('time, s', (r) => r.elapsedS, 1),
      line('bot decisions per second', (r) => rate(r, r.decisions)),
      line('requests completed per second', (r) => rate(r, r.completed)),
      line('webhook to comment p50, ms', (r) => percentile(r.allDecisions, 50)),
      line('webhook to comment p99, ms', (r) => percentile(r.allDecisions, 99)),
      line('whole request p50, ms', (r) => percentile(r.requestMs, 50)),
      line('whole request p99, ms', (r) => percentile(r.requestMs, 99)),
      line('peak RSS api, MB', (r) => r.rss.api),
      line('peak RSS worker, MB', (r) => r.rss.worker),
      line('CPU per decision, api, ms', (r) => perDecision(r, 'api'), 2),
      line('CPU per decision, workers, ms', (r) => perDecision(r, 'workers'), 2),
      line('CPU per decision, benchmark, ms', (r) => perDecision(r, 'self'), 2),
      row('load average (1 min), rounds', loads(before), loads(after)),
      `  webhook to comment by bot, p50 / p99: ${[before, after]
        .flatMap((r) => Object.entries(r.byBot).map(([bot, list]) => `${bot} ${percentile(list, 50)} / ${percentile(list, 99)} ms`))
        .join(', ')}`,
    ].join('\n') + '\n',
  );
  // Every request of the route, and only they, made one ERP order.
  const allDone = [before, after].every((r) => r.completed === r.requests) && erp.orders.size === WARMUP + REQUESTS;
  const ok = worst <= 5 && allDone && [before, after].every((r) => rate(r, r.decisions) >= 300 && r.rss.api <= 250 && r.rss.worker <= 250);
  process.stdout.write(ok ? 'bench:pipeline: all targets met\n' : 'bench:pipeline: TARGET MISSED\n');
  process.exitCode = allDone ? 0 : 1;
}

interface RunningRoute {
  route: Route;
  /** Walks `count` requests from the route's `first`-th, IN_FLIGHT at a time, and measures them. */
  drive(first: number, count: number): Promise<Measure>;
  /** Peak RSS of its api and (the largest of) its workers, MB. */
  rss(): { api: number; worker: number };
  stop(): Promise<void>;
}

/**
 * Starts a route's own api and worker processes (so that their peak RSS is the route's, and their queue holds only the
 * route's bots) and puts its invoice tasks in the emulator, each waiting for the accountant at step 1.
 */
async function startRoute(emulator: PyrusEmulator, route: Route, erpUrl: string): Promise<RunningRoute> {
  const bots = route.steps.filter((s): s is Bot => !s.person);
  const service = await startService(emulator, {
    bots,
    queuePrefix: `${QUEUE_PREFIX}-${route.name}`,
    workers: WORKERS,
    env: { ERP_URL: erpUrl },
  });
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const id = route.firstTask + i;
    addInvoiceTask(emulator, { id, supplier: route.firstSupplier + i, amount: 100 + (i % 900), formId: FORM_ID, steps: route.steps });
  }

  const drive = async (first: number, count: number): Promise<Measure> => {
    const cpuAtStart = service.cpu();
    const walk = await walkRoute(emulator, {
      steps: route.steps,
      taskOf: (i) => route.firstTask + first + i,
      count,
      inFlight: IN_FLIGHT,
      timeoutMs: ROUND_TIMEOUT_MS,
    });
    const cpuAtEnd = service.cpu();
    const { comments } = walk;
    return {
      requests: count,
      completed: walk.completed,
      sentBack: walk.sentBack,
      decisions: comments.length,
      doubled: comments.length - new Set(comments.map((c) => `${c.taskId}:${c.bot}`)).size,
      elapsedS: walk.elapsedS,
      decisionMs: Object.fromEntries(
        bots.map((b) => [
          b.name,
          decisionMs(
            walk,
            comments.filter((c) => c.bot === b.name),
          ),
        ]),
      ),
      requestMs: walk.requestMs,
      cpuMs: {
        api: cpuAtEnd.api - cpuAtStart.api,
        workers: cpuAtEnd.workers - cpuAtStart.workers,
        self: cpuAtEnd.self - cpuAtStart.self,
      },
      loads: [loadavg()[0]],
    };
  };

  return { route, drive, rss: service.rss, stop: service.stop };
}

runBenchmark(main);
