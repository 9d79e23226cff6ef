/**
 * npm run bench:reply — issue 19's three-bot route (accountant -> duplicate-check -> head -> budget-check -> CFO ->
 * payment-order -> treasurer) through api, worker and emulator, with the emulator enforcing the company's quota (one
 * window shared by every bot account), once per reply mode. Pyrus's quota is 5000 calls per 10 minutes; the benchmark
 * scales limit and window alike (default 500 calls per 60 s: the same calls per second, a tenth of the burst) and the
 * register sync's interval with them (6 s for the service's default 60 s), and walks the route for three windows.
 *
 * Per mode it prints: Pyrus API calls per decision by kind (comment posts, task reads, register searches of the
 * decisions, other; the register sync's calls apart, amortised over the decisions), decisions per second, p50/p99 from
 * the webhook to the decision applied in the emulator, and the share answered inline. Then, the same mode with the
 * quota lifted: the acknowledgement p50/p99 at 4 and at 50 connections, measured from outside by autocannon, while the
 * worker drains a backlog of the duplicate-check bot's deliveries on the same machine.
 *
 * A mode is one entry of MODES: its bots-file fields for each bot and its environment.
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { request } from 'undici';
import { PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { signPyrusBody } from '../../libs/pyrus/src/signature';
import { FakeErp } from '../support/fake-erp';
import {
  ACCOUNTANT,
  addInvoiceTask,
  addPeople,
  Bot,
  CFO,
  decisionMs,
  DUPLICATE_CHECK,
  HEAD,
  openBenchStores,
  percentile,
  runBenchmark,
  startService,
  THREE_BOT_ROUTE,
  TREASURER,
  walkRoute,
} from './bench-support';

/** Pyrus's quota: 5000 calls per 10 minutes for the whole company. */
const REAL_LIMIT = 5000;
const REAL_WINDOW_MS = 600_000;
const QUOTA_LIMIT = Number(process.env.BENCH_QUOTA_LIMIT ?? 500);
const QUOTA_WINDOW_MS = Number(process.env.BENCH_QUOTA_WINDOW_MS ?? 60_000);
/** The register sync's interval, scaled as the window is (the service's default is 60 s). */
const REGISTER_SYNC_INTERVAL_MS = Math.max(1000, Math.round((60_000 * QUOTA_WINDOW_MS) / REAL_WINDOW_MS));
/** Each mode walks the route this long under the quota: whole windows, so each window's burst and wait both count. */
const DURATION_MS = Number(process.env.BENCH_WINDOWS ?? 3) * QUOTA_WINDOW_MS;
/** Requests under way at once: the people start a new one as soon as one completes. */
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 50);
/** Requests walked first with the quota lifted, uncounted, while the processes warm up. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 30);
/** Deliveries waiting for the worker when the acknowledgements are measured, and how long each measure runs. */
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 10_000);
const ACK_DURATION_S = Number(process.env.BENCH_ACK_DURATION_S ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const QUEUE_PREFIX = 'bench-reply';
const FORM_ID = 9101;
/** Suppliers with a budget limit; each request has a supplier of its own. */
const SUPPLIERS = 100_000;
const TRUNCATE = 'TRUNCATE notifications, payments, payment_monthly_totals, budget_limits, register_invoices, register_syncs';

/** A reply mode: what each bot's entry in the bots file says, and the service's environment beside it. */
interface ReplyMode {
  name: string;
  botConfig: Record<string, unknown>;
  env?: Record<string, string>;
}
/** Today every decision is posted through the API; issue 20's `reply: auto` will be the next entry. */
const MODES: ReplyMode[] = [{ name: 'api', botConfig: {} }];

interface ModeResult {
  mode: ReplyMode;
  decisions: number;
  inline: number;
  doubled: number;
  completed: number;
  sentBack: number;
  elapsedS: number;
  calls: Record<CallKind, number>;
  rejected: number;
  decisionMs: number[];
  load: number;
  acks: Array<{ connections: number; p50: number; p99: number; rps: number; non2xx: number; backlog: [number, number]; drained: number }>;
  ackLoad: number;
}

type CallKind = 'comment posts' | 'task reads' | 'register, decisions' | 'register, sync' | 'other';
const KINDS: CallKind[] = ['comment posts', 'task reads', 'register, decisions', 'register, sync', 'other'];
/** The kind of a call the emulator received; a register call is split by the service's own call log (see below). */
function kindOf(method: string, path: string): CallKind | 'register' {
  if (method === 'POST' && /^\/v4\/tasks\/\d+\/comments$/.test(path)) return 'comment posts';
  if (method === 'GET' && /^\/v4\/tasks\/\d+$/.test(path)) return 'task reads';
  if (/^\/v4\/forms\/\d+\/register$/.test(path)) return 'register';
  return 'other';
}

async function main() {
  const stores = await openBenchStores(QUEUE_PREFIX);
  const { db } = stores;
  await db.query(TRUNCATE);
  const emulator = new PyrusEmulator({
    autoDeliver: true,
    quotaScope: 'company',
    quotaLimit: QUOTA_LIMIT,
    quotaWindowMs: QUOTA_WINDOW_MS,
    log: () => undefined,
  });
  await emulator.start();
  addPeople(emulator, [ACCOUNTANT, HEAD, CFO, TREASURER]);
  const erp = new FakeErp();
  await erp.start();
  const results: ModeResult[] = [];
  let nextTask = 52_000_000;
  try {
    for (const [index, mode] of MODES.entries()) {
      await db.query(TRUNCATE);
      await db.query(
        `INSERT INTO budget_limits (scope, scope_key, period, currency, amount) SELECT 'supplier', 'tax:' || s, 'month', 'RUB', 1000000 FROM generate_series(0, $1 - 1) s`,
        [SUPPLIERS],
      );
      // Each mode its own form (its own register) and queue prefix; the bots' webhooks go to the mode's api.
      const formId = FORM_ID + index;
      const steps = THREE_BOT_ROUTE.map((s) =>
        s === DUPLICATE_CHECK ? { ...DUPLICATE_CHECK, settings: { ...DUPLICATE_CHECK.settings, formId } } : s,
      );
      const bots = steps.filter((s): s is Bot => !s.person);
      const queuePrefix = `${QUEUE_PREFIX}-${mode.name}`;
      const modeStores = await openBenchStores(queuePrefix);
      // The form itself, so that the register sync's full pass at the worker's start reads it (empty) rather than failing.
      emulator.addForm({ id: formId, name: `Invoices (${mode.name})` });
      emulator.setQuota({ limit: 1_000_000_000 });
      const service = await startService(emulator, {
        bots,
        queuePrefix,
        workers: WORKERS,
        botConfig: mode.botConfig,
        env: {
          ERP_URL: erp.url,
          PYRUS_QUOTA_LIMIT: String(QUOTA_LIMIT),
          PYRUS_QUOTA_WINDOW_MS: String(QUOTA_WINDOW_MS),
          REGISTER_SYNC_INTERVAL_MS: String(REGISTER_SYNC_INTERVAL_MS),
          ...mode.env,
        },
      });
      try {
        const taskOf = () => {
          const id = nextTask++;
          addInvoiceTask(emulator, { id, supplier: id % SUPPLIERS, amount: 100 + (id % 900), formId, steps });
          return id;
        };
        if (WARMUP > 0)
          await walkRoute(emulator, { steps, taskOf, count: WARMUP, inFlight: Math.min(IN_FLIGHT, WARMUP), timeoutMs: 60_000 });
        // The measure starts on a fresh window, in the emulator and in the service's own count of it.
        await waitForIdle(modeStores.queue);
        const quotaKeys = await modeStores.queue.client.keys(`${queuePrefix}:pyrus:quota*`);
        if (quotaKeys.length) await modeStores.queue.client.del(...quotaKeys);
        emulator.setQuota({ limit: QUOTA_LIMIT, windowMs: QUOTA_WINDOW_MS });
        emulator.resetQuota();

        const firstCall = emulator.calls.length;
        const t0 = Date.now();
        const walk = await walkRoute(emulator, {
          steps,
          taskOf,
          durationMs: DURATION_MS,
          inFlight: IN_FLIGHT,
          timeoutMs: DURATION_MS + 1000,
        });
        const t1 = t0 + DURATION_MS;
        const load = loadavg()[0];
        const botNames = new Set(bots.map((b) => b.name));
        const comments = walk.comments.filter((c) => Date.parse(c.at) <= t1);
        const calls = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<CallKind, number>;
        let rejected = 0;
        for (const c of emulator.calls.slice(firstCall)) {
          if (!c.bot || !botNames.has(c.bot) || !c.path.startsWith('/v4/') || Date.parse(c.at) > t1) continue;
          if (c.status === 429) rejected += 1;
          else {
            const kind = kindOf(c.method, c.path);
            if (kind !== 'register') calls[kind] += 1;
          }
        }
        // A register call's body (a POST) is not in the emulator's log; the service's call log tells a decision's
        // search (made for a task) from the sync's read (made for no task).
        const { rows: registerCalls } = await db.query<{ sync: boolean; n: number }>(
          `SELECT task_id IS NULL AS sync, count(*)::int AS n FROM outbound_calls
            WHERE target = 'pyrus' AND operation LIKE '%/register' AND status BETWEEN 200 AND 299 AND at BETWEEN $1 AND $2 GROUP BY 1`,
          [new Date(t0), new Date(t1)],
        );
        for (const { sync, n } of registerCalls) calls[sync ? 'register, sync' : 'register, decisions'] += n;

        // The acknowledgements while the worker drains a backlog, with the quota lifted so that it drains flat out.
        emulator.setQuota({ limit: 1_000_000_000 });
        emulator.resetQuota();
        const ackLoad = loadavg()[0];
        const acks = await measureAcks(emulator, service.apiUrl, modeStores.queue, steps, formId, () => nextTask++);
        results.push({
          mode,
          decisions: comments.length,
          inline: comments.filter((c) => c.viaWebhookAnswer).length,
          doubled: comments.length - new Set(comments.map((c) => `${c.taskId}:${c.bot}`)).size,
          completed: walk.completed,
          sentBack: walk.sentBack,
          elapsedS: DURATION_MS / 1000,
          calls,
          rejected,
          decisionMs: decisionMs(walk, comments).sort((a, b) => a - b),
          load,
          acks,
          ackLoad: Math.max(ackLoad, loadavg()[0]),
        });
      } finally {
        await service.stop();
        await modeStores.close();
      }
    }
  } finally {
    await emulator.stop();
    await erp.stop();
    await db.query(TRUNCATE);
    await stores.close();
  }
  print(results);
}

/** Waits until the queue has no job waiting, active or delayed (the warm-up's decisions and their follow-ups). */
async function waitForIdle(queue: import('bull').Queue, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await queue.getJobCounts();
    if (c.waiting + c.active + c.delayed === 0 || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The duplicate-check bot's deliveries: BACKLOG of them posted first (50 connections), then the acknowledgements timed
 * at 4 and at 50 connections while the worker drains what waits. Each delivery is a new task waiting for the bot.
 */
async function measureAcks(
  emulator: PyrusEmulator,
  apiUrl: string,
  queue: import('bull').Queue,
  steps: typeof THREE_BOT_ROUTE,
  formId: number,
  nextId: () => number,
) {
  const bot = emulator.getBot(DUPLICATE_CHECK.name);
  const token = emulator.issueToken(bot.name);
  const body = () => {
    const id = nextId();
    addInvoiceTask(emulator, { id, supplier: id % SUPPLIERS, amount: 100 + (id % 900), formId, steps, step: 2 });
    const task = emulator.getTask(id);
    return JSON.stringify({ event: 'comment', access_token: token, task_id: id, user_id: bot.userId, bot_settings: '', task });
  };
  const fire = (connections: number, run: { amount?: number; duration?: number }) =>
    autocannon({
      url: `${apiUrl}/bots/${bot.name}/webhook`,
      connections,
      ...run,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const b = body();
            return {
              ...req,
              body: b,
              headers: { 'content-type': 'application/json', 'x-pyrus-sig': signPyrusBody(b, bot.securityKey), 'x-pyrus-retry': '1/3' },
            };
          },
        },
      ],
    });
  // One delivery first: a refusal here would make every measure below a measure of refusals.
  const probe = body();
  const res = await request(`${apiUrl}/bots/${bot.name}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pyrus-sig': signPyrusBody(probe, bot.securityKey), 'x-pyrus-retry': '1/3' },
    body: probe,
  });
  const answer = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`a delivery to ${bot.name} answered ${res.statusCode}: ${answer}`);
  const backlog = async () => ((c) => c.waiting + c.active + c.delayed)(await queue.getJobCounts());
  await fire(50, { amount: BACKLOG });
  const acks: ModeResult['acks'] = [];
  for (const connections of [4, 50]) {
    const before = await backlog();
    const decided = emulator.comments.length;
    const r = await fire(connections, { duration: ACK_DURATION_S });
    acks.push({
      connections,
      p50: r.latency.p50,
      p99: r.latency.p99,
      rps: r.requests.average,
      non2xx: r.non2xx,
      backlog: [before, await backlog()],
      drained: (emulator.comments.length - decided) / ACK_DURATION_S,
    });
  }
  return acks;
}

function print(results: ModeResult[]) {
  const col = (s: string | number) => String(s).padStart(16);
  const row = (label: string, of: (r: ModeResult) => string | number) => `  ${label.padEnd(44)}${results.map((r) => col(of(r))).join('')}`;
  const per = (r: ModeResult, n: number) => (r.decisions ? (n / r.decisions).toFixed(3) : 'n/a');
  const scale = REAL_WINDOW_MS / QUOTA_WINDOW_MS;
  const lines = [
    `reply benchmark: issue 19's route, ${WORKERS} worker process${WORKERS > 1 ? 'es' : ''}, ${IN_FLIGHT} requests under way, ${DURATION_MS / 1000} s a mode after ${WARMUP} requests to warm up`,
    `  company quota ${QUOTA_LIMIT} calls / ${QUOTA_WINDOW_MS / 1000} s (Pyrus's ${REAL_LIMIT} / ${REAL_WINDOW_MS / 1000} s scaled by 1/${scale} in both: the same calls per second); register sync every ${REGISTER_SYNC_INTERVAL_MS / 1000} s`,
    row('reply mode', (r) => r.mode.name),
    row('decisions (bot comments applied)', (r) => r.decisions),
    row('requests completed; sent back', (r) => `${r.completed}; ${r.sentBack}`),
    row('decisions per second', (r) => (r.decisions / r.elapsedS).toFixed(2)),
    ...KINDS.map((k) => row(`API calls per decision: ${k}`, (r) => per(r, r.calls[k]))),
    row('API calls per decision, without the sync', (r) =>
      per(
        r,
        KINDS.filter((k) => k !== 'register, sync').reduce((n, k) => n + r.calls[k], 0),
      ),
    ),
    row('API calls in all; 429 answers', (r) => `${KINDS.reduce((n, k) => n + r.calls[k], 0)}; ${r.rejected}`),
    row('webhook to decision applied, p50 ms', (r) => percentile(r.decisionMs, 50)),
    row('webhook to decision applied, p99 ms', (r) => percentile(r.decisionMs, 99)),
    row('answered inline', (r) => `${r.inline} (${r.decisions ? ((100 * r.inline) / r.decisions).toFixed(0) : 0}%)`),
    row('bot comments beyond one a task', (r) => r.doubled),
    row('load average (1 min) at the end', (r) => r.load.toFixed(2)),
    `  acknowledgements while the worker drains a backlog (quota lifted; ${BACKLOG} deliveries posted first, ${ACK_DURATION_S} s each):`,
    ...[0, 1].flatMap((i) => [
      row(`${results[0].acks[i].connections} connections: ack p50 / p99 ms`, (r) => `${r.acks[i].p50} / ${r.acks[i].p99}`),
      row(`${results[0].acks[i].connections} connections: req/s; non-2xx`, (r) => `${r.acks[i].rps.toFixed(0)}; ${r.acks[i].non2xx}`),
      row(
        `${results[0].acks[i].connections} connections: backlog before -> after`,
        (r) => `${r.acks[i].backlog[0]} -> ${r.acks[i].backlog[1]}`,
      ),
      row(`${results[0].acks[i].connections} connections: decisions applied/s`, (r) => r.acks[i].drained.toFixed(0)),
    ]),
    row('load average (1 min), acknowledgements', (r) => r.ackLoad.toFixed(2)),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const ackOk = results.every((r) => r.acks.every((a) => a.p99 <= 50 && a.non2xx === 0));
  process.stdout.write(ackOk ? 'bench:reply: acknowledgement p99 <= 50 ms met\n' : 'bench:reply: acknowledgement p99 <= 50 ms MISSED\n');
  process.exitCode = results.every((r) => r.doubled === 0 && r.decisions > 0) ? 0 : 1;
}

runBenchmark(main);
