/**
 * npm run bench:reply — issue 19's three-bot route (accountant -> duplicate-check -> head -> budget-check -> CFO ->
 * payment-order -> treasurer) through api, worker and emulator, with the emulator enforcing the company's quota (one
 * window shared by every bot account; the people's votes are not metered), once per reply mode, side by side in one
 * run. Pyrus's quota is 5000 calls per 10 minutes; the benchmark scales limit and window alike (default 500 calls per
 * 60 s: the same calls per second, a tenth of the burst) and the register sync's interval with them (6 s for the
 * service's default 60 s), and walks the route for three windows a mode.
 *
 * Per mode, and per bot where it differs, it prints: Pyrus API calls per decision by kind, as the emulator received
 * them (comment posts, task reads, register searches, other; the register sync's reads apart, amortised over the
 * decisions), decisions per second, p50/p99 from the webhook to the decision applied in the emulator, and the share
 * answered inline (the emulator's own count of webhook answers applied, beside processed_tasks.delivered_via and the
 * api's pyrus_bots_inline_wait_seconds results). After each walk the quota is lifted and every decision left is waited
 * for, and the emulator's comments are checked against the service's records: no webhook without a decision, none
 * decided twice, none delivered one way and recorded the other. Then, for a mode that answers at once (reply api): the
 * acknowledgement p50/p99 at 4 and at 50 connections, measured from outside by autocannon, while the worker drains a
 * backlog of the duplicate-check bot's deliveries on the same machine.
 *
 * A mode is one entry of MODES: its bots-file fields for each bot, the fake ERP's time per order, its environment.
 * BENCH_MODES=api,auto picks some of them by key.
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { request } from 'undici';
import { CallLogEntry, PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { signPyrusBody } from '../../libs/pyrus/src/signature';
import { FakeErp } from '../support/fake-erp';
import {
  ACCOUNTANT,
  addInvoiceTask,
  addPeople,
  Bot,
  BUDGET_CHECK,
  CFO,
  decisionMs,
  DUPLICATE_CHECK,
  HEAD,
  openBenchStores,
  PAYMENT_ORDER,
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
/** The slow ERP's time per order: above the 3 s budget of reply auto, so payment-order's decisions miss it. */
const ERP_SLOW_MS = Number(process.env.BENCH_ERP_SLOW_MS ?? 4000);
/** How long the decisions left after a walk may take to arrive, quota lifted, before the check counts them lost. */
const DRAIN_TIMEOUT_MS = 90_000;
const QUEUE_PREFIX = 'bench-reply';
const FORM_ID = 9101;
/** Suppliers with a budget limit; each request has a supplier of its own. */
const SUPPLIERS = 100_000;
const TRUNCATE = 'TRUNCATE notifications, payments, payment_monthly_totals, budget_limits, register_invoices, register_syncs';
const BOTS = [DUPLICATE_CHECK, BUDGET_CHECK, PAYMENT_ORDER].map((b) => b.name);

/** A reply mode: what each bot's entry in the bots file says, the fake ERP's time per order, the service's environment. */
interface ReplyMode {
  /** The column's heading. */
  name: string;
  /** Its queue prefix and BENCH_MODES key. */
  key: string;
  botConfig: { reply?: 'api' | 'auto' | 'inline'; inlineBudgetMs?: number };
  erpLatencyMs?: number;
  env?: Record<string, string>;
}
const ALL_MODES: ReplyMode[] = [
  { name: 'api', key: 'api', botConfig: {} },
  { name: 'auto', key: 'auto', botConfig: { reply: 'auto' } },
  { name: `auto, ERP ${ERP_SLOW_MS / 1000} s`, key: 'auto-slow-erp', botConfig: { reply: 'auto' }, erpLatencyMs: ERP_SLOW_MS },
];
const MODES = process.env.BENCH_MODES ? ALL_MODES.filter((m) => process.env.BENCH_MODES!.split(',').includes(m.key)) : ALL_MODES;
/** Answers at once, so its acknowledgements are what issue 20's p99 target is about. */
const answersAtOnce = (mode: ReplyMode) => (mode.botConfig.reply ?? 'api') === 'api';

type CallKind = 'comment posts' | 'task reads' | 'register searches' | 'other';
const KINDS: CallKind[] = ['comment posts', 'task reads', 'register searches', 'other'];
/**
 * The kind of a call the emulator received. A register call with a field filter (fldN) is a decision's search; one
 * without is the register copy's sync, which reads the form whole or by modified_after.
 */
function kindOf(c: CallLogEntry): CallKind | 'register sync' | 'login' {
  if (c.path === '/auth') return 'login';
  if (c.method === 'POST' && /^\/v4\/tasks\/\d+\/comments$/.test(c.path)) return 'comment posts';
  if (c.method === 'GET' && /^\/v4\/tasks\/\d+$/.test(c.path)) return 'task reads';
  if (/^\/v4\/forms\/\d+\/register$/.test(c.path))
    return c.registerParams?.some((p) => /^fld\d+$/.test(p)) ? 'register searches' : 'register sync';
  return 'other';
}
const noCalls = () => Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<CallKind, number>;
const sum = (calls: Record<CallKind, number>) => KINDS.reduce((n, k) => n + calls[k], 0);

interface BotFigures {
  decisions: number;
  inline: number;
  calls: Record<CallKind, number>;
  decisionMs: number[];
  /** The api's waits in the walk, by result (pyrus_bots_inline_wait_seconds_count). */
  waits: Record<string, number>;
}

/** After the walk and its decisions left: the emulator's comments against the service's records, on the walk's tasks. */
interface DrainCheck {
  /** (task, bot) pairs whose webhook the emulator sent. */
  webhooks: number;
  /** Of those, with no bot comment on the task. */
  undecided: number;
  /** Bot comments beyond one a (task, bot). */
  doubled: number;
  /** Comments the emulator took from a webhook answer / through the API. */
  emulatorInline: number;
  emulatorApi: number;
  /** processed_tasks rows with a comment, by delivered_via (null: not settled). */
  recordedInline: number;
  recordedApi: number;
  recordedUnsettled: number;
  /** Deliveries of the walk's tasks still received or failed. */
  unfinished: number;
}

interface ModeResult {
  mode: ReplyMode;
  decisions: number;
  inline: number;
  completed: number;
  sentBack: number;
  elapsedS: number;
  calls: Record<CallKind, number>;
  sync: number;
  logins: number;
  rejected: number;
  otherPaths: Map<string, number>;
  decisionMs: number[];
  perBot: Map<string, BotFigures>;
  drain: DrainCheck;
  load: number;
  acks?: Array<{ connections: number; p50: number; p99: number; rps: number; non2xx: number; backlog: [number, number]; drained: number }>;
  ackLoad?: number;
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
    // Every call of the modes' walks and more (people's votes included): the count reads the log back.
    maxCalls: 1_000_000,
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
      erp.latencyMs = mode.erpLatencyMs ?? 0;
      // Each mode its own form (its own register) and queue prefix; the bots' webhooks go to the mode's api. Its bots
      // are Pyrus users of its own too: the tasks an earlier mode left waiting on a bot (its acknowledgement backlog)
      // are then in no inbox of this mode, whose sweep would otherwise decide them through the API, on this quota.
      const formId = FORM_ID + index;
      const steps = THREE_BOT_ROUTE.map((s) => {
        if (s.person) return s;
        const own = { ...(s as Bot), userId: s.userId + 1000 * index };
        return s === DUPLICATE_CHECK ? { ...own, settings: { ...own.settings, formId } } : own;
      });
      const bots = steps.filter((s): s is Bot => !s.person);
      const queuePrefix = `${QUEUE_PREFIX}-${mode.key}`;
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
          // The emulator counts the company's calls in one window: so does the service, pacing itself instead of
          // learning of each spent window from a 429.
          PYRUS_QUOTA_SCOPE: 'company',
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

        const waitsBefore = await inlineWaits(service.apiUrl);
        // By sequence number, not index: the log drops its oldest entries past maxCalls.
        const lastSeqBefore = emulator.calls.at(-1)?.seq ?? 0;
        const firstTask = nextTask;
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
        const waitsAfter = await inlineWaits(service.apiUrl);
        const endTask = nextTask;
        const botNames = new Set(bots.map((b) => b.name));
        // The walk's own decisions: on its tasks, in its time.
        const comments = walk.comments.filter((c) => c.taskId >= firstTask && Date.parse(c.at) <= t1);
        const calls = noCalls();
        const perBot = new Map<string, BotFigures>(
          BOTS.map((name) => {
            const own = comments.filter((c) => c.bot === name);
            const waits: Record<string, number> = {};
            for (const [key, n] of waitsAfter) {
              const [bot, result] = key.split(' ');
              if (bot === name) waits[result] = n - (waitsBefore.get(key) ?? 0);
            }
            return [
              name,
              {
                decisions: own.length,
                inline: own.filter((c) => c.viaWebhookAnswer).length,
                calls: noCalls(),
                decisionMs: decisionMs(walk, own).sort((a, b) => a - b),
                waits,
              },
            ];
          }),
        );
        let sync = 0;
        let logins = 0;
        let rejected = 0;
        const otherPaths = new Map<string, number>();
        for (const c of emulator.calls) {
          if (c.seq <= lastSeqBefore || !c.bot || !botNames.has(c.bot) || Date.parse(c.at) > t1) continue;
          const kind = kindOf(c);
          if (c.status === 429) rejected += 1;
          else if (kind === 'login') logins += 1;
          else if (kind === 'register sync') sync += 1;
          else {
            calls[kind] += 1;
            perBot.get(c.bot)!.calls[kind] += 1;
            if (kind === 'other') {
              const key = `${c.method} ${c.path.replace(/\d+/g, 'N')}`;
              otherPaths.set(key, (otherPaths.get(key) ?? 0) + 1);
            }
          }
        }

        // Every decision left, quota lifted; then the emulator's comments against the service's records.
        emulator.setQuota({ limit: 1_000_000_000 });
        emulator.resetQuota();
        const drain = await drainAndCheck(emulator, db, modeStores.queue, botNames, firstTask, endTask);

        // The acknowledgements while the worker drains a backlog, with the quota lifted so that it drains flat out.
        let acks: ModeResult['acks'];
        let ackLoad: number | undefined;
        if (answersAtOnce(mode)) {
          ackLoad = loadavg()[0];
          acks = await measureAcks(emulator, service.apiUrl, modeStores.queue, steps, formId, () => nextTask++);
          ackLoad = Math.max(ackLoad, loadavg()[0]);
        }
        results.push({
          mode,
          decisions: comments.length,
          inline: comments.filter((c) => c.viaWebhookAnswer).length,
          completed: walk.completed,
          sentBack: walk.sentBack,
          elapsedS: DURATION_MS / 1000,
          calls,
          sync,
          logins,
          rejected,
          otherPaths,
          decisionMs: decisionMs(walk, comments).sort((a, b) => a - b),
          perBot,
          drain,
          load,
          acks,
          ackLoad,
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

/** The api's inline waits so far, by "bot result" (pyrus_bots_inline_wait_seconds_count). */
async function inlineWaits(apiUrl: string): Promise<Map<string, number>> {
  const res = await request(`${apiUrl}/metrics`);
  const text = await res.body.text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^pyrus_bots_inline_wait_seconds_count\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    counts.set(`${labels.bot} ${labels.result}`, Number(m[2]));
  }
  return counts;
}

/**
 * Waits until every webhook of the walk's tasks [firstTask, endTask) has its bot's comment and the queue is idle (or
 * DRAIN_TIMEOUT_MS), then sets the emulator's comments on those tasks beside the service's records of them.
 */
async function drainAndCheck(
  emulator: PyrusEmulator,
  db: import('pg').Client,
  queue: import('bull').Queue,
  botNames: Set<string>,
  firstTask: number,
  endTask: number,
): Promise<DrainCheck> {
  const ofWalk = (taskId: number, bot: string) => taskId >= firstTask && taskId < endTask && botNames.has(bot);
  const undecided = () => {
    const decided = new Set(emulator.comments.filter((c) => ofWalk(c.taskId, c.bot)).map((c) => `${c.taskId}:${c.bot}`));
    const sent = new Set(emulator.deliveries.filter((d) => ofWalk(d.taskId, d.bot)).map((d) => `${d.taskId}:${d.bot}`));
    return { sent: sent.size, undecided: [...sent].filter((k) => !decided.has(k)).length };
  };
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (undecided().undecided > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  await waitForIdle(queue, Math.max(1000, deadline - Date.now()));
  const { sent, undecided: left } = undecided();
  const comments = emulator.comments.filter((c) => ofWalk(c.taskId, c.bot));
  const { rows: recorded } = await db.query<{ via: string | null; n: number }>(
    `SELECT delivered_via AS via, count(*)::int AS n FROM processed_tasks
      WHERE task_id >= $1 AND task_id < $2 AND comment IS NOT NULL AND outcome IN ('posting', 'posted') GROUP BY 1`,
    [firstTask, endTask],
  );
  const { rows: unfinished } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries WHERE task_id >= $1 AND task_id < $2 AND status IN ('received', 'failed')`,
    [firstTask, endTask],
  );
  const via = (v: string | null) => recorded.find((r) => r.via === v)?.n ?? 0;
  return {
    webhooks: sent,
    undecided: left,
    doubled: comments.length - new Set(comments.map((c) => `${c.taskId}:${c.bot}`)).size,
    emulatorInline: comments.filter((c) => c.viaWebhookAnswer).length,
    emulatorApi: comments.filter((c) => !c.viaWebhookAnswer).length,
    recordedInline: via('inline'),
    recordedApi: via('api'),
    recordedUnsettled: via(null),
    unfinished: unfinished[0].n,
  };
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
  const col = (s: string | number) => String(s).padStart(24);
  const row = (label: string, of: (r: ModeResult) => string | number) => `  ${label.padEnd(52)}${results.map((r) => col(of(r))).join('')}`;
  const per = (n: number, decisions: number) => (decisions ? (n / decisions).toFixed(3) : 'n/a');
  const share = (n: number, of: number) => `${n} (${of ? ((100 * n) / of).toFixed(1) : 0}%)`;
  const scale = REAL_WINDOW_MS / QUOTA_WINDOW_MS;
  const rate = (r: ModeResult) => r.decisions / r.elapsedS;
  const api = results.find((r) => r.mode.key === 'api');
  const ackRows = results.find((r) => r.acks)?.acks ?? [];
  const drainOk = (r: ModeResult) =>
    r.drain.undecided === 0 &&
    r.drain.doubled === 0 &&
    r.drain.unfinished === 0 &&
    r.drain.recordedUnsettled === 0 &&
    r.drain.emulatorInline === r.drain.recordedInline &&
    r.drain.emulatorApi === r.drain.recordedApi;
  const lines = [
    `reply benchmark: issue 19's route, ${WORKERS} worker process${WORKERS > 1 ? 'es' : ''}, ${IN_FLIGHT} requests under way, ${DURATION_MS / 1000} s a mode after ${WARMUP} requests to warm up`,
    `  company quota ${QUOTA_LIMIT} calls / ${QUOTA_WINDOW_MS / 1000} s (Pyrus's ${REAL_LIMIT} / ${REAL_WINDOW_MS / 1000} s scaled by 1/${scale} in both: the same calls per second); register sync every ${REGISTER_SYNC_INTERVAL_MS / 1000} s`,
    row('reply mode', (r) => r.mode.name),
    row('decisions (bot comments applied)', (r) => r.decisions),
    row('requests completed; sent back', (r) => `${r.completed}; ${r.sentBack}`),
    row('decisions per second', (r) => rate(r).toFixed(2)),
    ...(api ? [row("decisions per second / api mode's", (r) => (rate(r) / rate(api)).toFixed(1))] : []),
    ...KINDS.map((k) => row(`API calls per decision: ${k}`, (r) => per(r.calls[k], r.decisions))),
    row('API calls per decision, without the sync', (r) => per(sum(r.calls), r.decisions)),
    row('register sync: calls; per decision (amortised)', (r) => `${r.sync}; ${per(r.sync, r.decisions)}`),
    row('API calls in all (with the sync); 429 answers', (r) => `${sum(r.calls) + r.sync}; ${r.rejected}`),
    row('logins (/auth, not metered)', (r) => r.logins),
    row('webhook to decision applied, p50 / p99 ms', (r) => `${percentile(r.decisionMs, 50)} / ${percentile(r.decisionMs, 99)}`),
    row('answered inline (emulator)', (r) => share(r.inline, r.decisions)),
    ...BOTS.flatMap((bot) => {
      const of = (r: ModeResult) => r.perBot.get(bot)!;
      return [
        `  ${bot}:`,
        row('  decisions; answered inline (emulator)', (r) => `${of(r).decisions}; ${share(of(r).inline, of(r).decisions)}`),
        row('  API calls per decision, without the sync', (r) => per(sum(of(r).calls), of(r).decisions)),
        row('  posts / task reads / register / other', (r) => KINDS.map((k) => of(r).calls[k]).join(' / ')),
        row(
          '  webhook to decision applied, p50 / p99 ms',
          (r) => `${percentile(of(r).decisionMs, 50)} / ${percentile(of(r).decisionMs, 99)}`,
        ),
        row(
          "  api's waits (metric), by result",
          (r) =>
            Object.entries(of(r).waits)
              .filter(([, n]) => n > 0)
              .map(([result, n]) => `${result} ${n}`)
              .join(', ') || '-',
        ),
      ];
    }),
    `  the walk's tasks once every decision left is in (quota lifted), the emulator against the service's records:`,
    row('  webhooks sent; left without a decision', (r) => `${r.drain.webhooks}; ${r.drain.undecided}`),
    row('  bot comments beyond one a task and bot', (r) => r.drain.doubled),
    row('  emulator: inline / API', (r) => `${r.drain.emulatorInline} / ${r.drain.emulatorApi}`),
    row(
      '  delivered_via: inline / api / unsettled',
      (r) => `${r.drain.recordedInline} / ${r.drain.recordedApi} / ${r.drain.recordedUnsettled}`,
    ),
    row('  deliveries unfinished (received or failed)', (r) => r.drain.unfinished),
    row('  check', (r) => (drainOk(r) ? 'ok' : 'MISMATCH')),
    row("load average (1 min) at the walk's end", (r) => r.load.toFixed(2)),
  ];
  for (const r of results.filter((x) => x.otherPaths.size)) {
    lines.push(`  other calls, ${r.mode.name}: ${[...r.otherPaths].map(([path, n]) => `${path} x${n}`).join(', ')}`);
  }
  if (ackRows.length) {
    lines.push(
      `  acknowledgements while the worker drains a backlog (reply api only; quota lifted; ${BACKLOG} deliveries posted first, ${ACK_DURATION_S} s each):`,
      ...ackRows.flatMap((a, i) => [
        row(`${a.connections} connections: ack p50 / p99 ms`, (r) => (r.acks ? `${r.acks[i].p50} / ${r.acks[i].p99}` : '-')),
        row(`${a.connections} connections: req/s; non-2xx`, (r) => (r.acks ? `${r.acks[i].rps.toFixed(0)}; ${r.acks[i].non2xx}` : '-')),
        row(`${a.connections} connections: backlog before -> after`, (r) =>
          r.acks ? `${r.acks[i].backlog[0]} -> ${r.acks[i].backlog[1]}` : '-',
        ),
        row(`${a.connections} connections: decisions applied/s`, (r) => (r.acks ? r.acks[i].drained.toFixed(0) : '-')),
      ]),
      row('load average (1 min), acknowledgements', (r) => (r.ackLoad !== undefined ? r.ackLoad.toFixed(2) : '-')),
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  const acked = results.filter((r) => r.acks);
  if (acked.length) {
    const ackOk = acked.every((r) => r.acks!.every((a) => a.p99 <= 50 && a.non2xx === 0));
    process.stdout.write(ackOk ? 'bench:reply: acknowledgement p99 <= 50 ms met\n' : 'bench:reply: acknowledgement p99 <= 50 ms MISSED\n');
  }
  process.exitCode = results.every((r) => r.decisions > 0 && drainOk(r)) ? 0 : 1;
}

runBenchmark(main);
