import { ChildProcess, execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Queue from 'bull';
import { Client } from 'pg';
import { request } from 'undici';
import type { PyrusApproval } from '@app/pyrus';
import type { PyrusEmulator, ReceivedComment } from '../../apps/pyrus-emulator/src';
import { prepareDatabase } from '../../libs/database/src/schema-setup';
import { freePort, ROOT, startProcess, stopProcesses } from '../support/child-processes';
import { INVOICE_FORM_FIELDS } from '../support/invoice-task';

// Shared with the chaos run (test/chaos), which starts and restarts the same processes.
export { ROOT, startProcess, stopProcesses };

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

export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;

/** An account on a route's step: a person (played by the benchmark through the emulator's API) or a bot of the service. */
export interface Account {
  name: string;
  userId: number;
  person: boolean;
}
export interface Bot extends Account {
  handler: string;
  settings: Record<string, unknown>;
}

const fields = INVOICE_FORM_FIELDS;
const budget = { scope: 'supplier', period: 'month' };
const person = (name: string, userId: number): Account => ({ name, userId, person: true });
const bot = (name: string, userId: number, handler: string, settings: Record<string, unknown>): Bot => ({
  name,
  userId,
  person: false,
  handler,
  settings,
});
export const ACCOUNTANT = person('accountant', 700101);
export const HEAD = person('head', 700102);
export const CFO = person('cfo', 700103);
export const TREASURER = person('treasurer', 700104);
export const PRESET = bot('payments', 700001, 'payment-approval', { fields, budget });
export const DUPLICATE_CHECK = bot('duplicate-check', 700002, 'duplicate-check', { fields });
export const BUDGET_CHECK = bot('budget-check', 700003, 'budget-check', { fields, budget });
export const PAYMENT_ORDER = bot('payment-order', 700004, 'payment-order', { fields });
/** Issue 19's route: three bots between four people. */
export const THREE_BOT_ROUTE: Account[] = [ACCOUNTANT, DUPLICATE_CHECK, HEAD, BUDGET_CHECK, CFO, PAYMENT_ORDER, TREASURER];

/**
 * The people's accounts, as the emulator's users (their votes do not wake a bot's webhook off), unmetered: in Pyrus a
 * person votes in the browser, so only the bots' calls draw on a quota the emulator enforces.
 */
export function addPeople(emulator: PyrusEmulator, people: Account[]): void {
  for (const account of people) {
    emulator.addBot({
      name: account.name,
      login: `${account.name}@example.org`,
      securityKey: `${account.name}-key`,
      userId: account.userId,
      type: 'user',
      unmetered: true,
    });
  }
}

export interface RunningService {
  api: ChildProcess;
  workers: ChildProcess[];
  apiUrl: string;
  /** CPU time used so far, ms: the api, the workers, this process. */
  cpu: () => { api: number; workers: number; self: number };
  /** Peak RSS of the api and (the largest of) its workers, MB. */
  rss: () => { api: number; worker: number };
  stop: () => Promise<void>;
}

/**
 * The service for some bots: a bots file, the bots in the emulator with their webhooks at a new api, and that api and
 * `workers` worker processes on the benchmark's stores with their own queue prefix (so that a worker takes only these
 * bots' jobs). `env` adds to or overrides the service's environment; `botConfig`, each bot's entry in the bots file.
 */
export async function startService(
  emulator: PyrusEmulator,
  options: { bots: Bot[]; queuePrefix: string; workers: number; env?: Record<string, string>; botConfig?: Record<string, unknown> },
): Promise<RunningService> {
  const { bots, queuePrefix } = options;
  const apiPort = await freePort();
  const botsFile = join(mkdtempSync(join(tmpdir(), `${queuePrefix}-`)), 'bots.json');
  writeFileSync(
    botsFile,
    JSON.stringify({
      bots: bots.map((b) => ({
        name: b.name,
        login: `bot@${queuePrefix}-${b.name}`,
        securityKeys: [`${b.name}-key`],
        handler: b.handler,
        settings: b.settings,
        ...options.botConfig,
      })),
    }),
  );
  for (const b of bots) {
    emulator.addBot({
      name: b.name,
      login: `bot@${queuePrefix}-${b.name}`,
      securityKey: `${b.name}-key`,
      userId: b.userId,
      webhookUrl: `http://127.0.0.1:${apiPort}/bots/${b.name}/webhook`,
    });
  }
  const env = {
    DATABASE_URL: BENCH_DATABASE_URL,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX: queuePrefix,
    BOTS_FILE: botsFile,
    LOG_LEVEL: 'warn',
    PYRUS_AUTH_URL: emulator.authUrl,
    PYRUS_API_URL: emulator.apiUrl,
    ...options.env,
  };
  const api = await startProcess(
    join(ROOT, 'dist/apps/api/src/main.js'),
    { ...env, PORT: String(apiPort) },
    `http://127.0.0.1:${apiPort}/health/live`,
  );
  const workers: ChildProcess[] = [];
  try {
    for (let i = 0; i < options.workers; i++) {
      const port = await freePort();
      workers.push(
        await startProcess(
          join(ROOT, 'dist/apps/worker/src/main.js'),
          { ...env, WORKER_PORT: String(port) },
          `http://127.0.0.1:${port}/health/live`,
        ),
      );
    }
  } catch (err) {
    await stopProcesses(api, ...workers);
    throw err;
  }
  return {
    api,
    workers,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    cpu: () => ({
      api: cpuMs(api.pid!),
      workers: workers.reduce((sum, w) => sum + cpuMs(w.pid!), 0),
      self: (({ user, system }) => (user + system) / 1000)(process.cpuUsage()),
    }),
    rss: () => ({ api: peakRssMb(api.pid!), worker: Math.max(...workers.map((w) => peakRssMb(w.pid!))) }),
    stop: async () => {
      await stopProcesses(api, ...workers);
    },
  };
}

/** An invoice task of supplier number `supplier` on form `formId`, waiting for the route's step `step` (default 1). */
export function addInvoiceTask(
  emulator: PyrusEmulator,
  o: { id: number; supplier: number; amount: number; formId: number; steps: Account[]; step?: number },
) {
  const step = o.step ?? 1;
  emulator.addTask({
    id: o.id,
    form_id: o.formId,
    current_step: step,
    author: emulator.getBot(o.steps[0].name).person,
    fields: [
      { id: 1, type: 'text', code: 'supplier', value: `Supplier ${o.supplier}` },
      { id: 2, type: 'text', code: 'inn', value: String(o.supplier) },
      { id: 3, type: 'text', code: 'invoice_no', value: `NEW-${o.id}` },
      { id: 4, type: 'date', code: 'invoice_date', value: '2026-11-01' },
      { id: 5, type: 'money', code: 'amount', value: o.amount },
      { id: 6, type: 'text', code: 'currency', value: 'RUB' },
    ],
    // The steps before `step` approved, as the people's votes would have left them.
    approvals: o.steps.map(
      (s, i) => [{ person: emulator.getBot(s.name).person, approval_choice: i + 1 < step ? 'approved' : 'waiting' }] as PyrusApproval[],
    ),
    comments: [],
  });
}

/** What a walk of a route's requests saw: the bots' comments and webhooks of the walk, in the emulator's records. */
export interface Walk {
  requests: number;
  completed: number;
  sentBack: number;
  elapsedS: number;
  /** The accountant's approval to the last step's, per completed request. */
  requestMs: number[];
  /** The bots' comments made during the walk (by API call or as a webhook answer). */
  comments: ReceivedComment[];
  /** When each bot's first webhook for a task started, by `${taskId}:${bot}`. */
  webhookAt: Map<string, number>;
}

/**
 * Walks requests along a route as its people would, `inFlight` at a time, a new one starting as one ends: each person
 * approves through the emulator's API as soon as the task reaches their step; a bot's step waits for the bot's comment
 * (an approval hands the task on; anything else sent the request back). `taskOf(i)` gives the i-th request's task id
 * (and may put the task in the emulator). The walk ends after `count` requests, or, with `durationMs`, starts none after
 * that time and ends there (requests under way then are not counted), or at `timeoutMs`.
 */
export async function walkRoute(
  emulator: PyrusEmulator,
  o: { steps: Account[]; taskOf: (i: number) => number; count?: number; durationMs?: number; inFlight: number; timeoutMs: number },
): Promise<Walk> {
  const botNames = new Set(o.steps.filter((s) => !s.person).map((s) => s.name));
  const tokens = new Map(o.steps.filter((s) => s.person).map((s) => [s.name, emulator.issueToken(s.name)]));
  // A person's approval, as their client would post it: through the emulator's API with their own token.
  const approve = async (id: number, account: Account) => {
    // undici's request, not fetch: this process also plays Pyrus, and fetch would take its CPU from the service.
    const res = await request(`${emulator.apiUrl}tasks/${id}/comments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(account.name)}` },
      body: JSON.stringify({ text: 'Approved', approval_choice: 'approved' }),
    });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`${account.name}'s approval of task ${id} answered ${res.statusCode}`);
  };

  const startedAt = new Map<number, number>();
  const requestMs: number[] = [];
  let next = 0;
  let started = 0;
  let completed = 0;
  let sentBack = 0;
  let closed = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const failures: Error[] = [];
  const settle = (id: number, ok: boolean) => {
    if (closed || !startedAt.has(id)) return;
    if (ok) {
      completed += 1;
      requestMs.push(Date.now() - startedAt.get(id)!);
    } else sentBack += 1;
    if (o.count !== undefined && completed + sentBack === o.count) finish();
    else startRequest();
  };
  // Walks the task as far as the people take it. A task being walked is not walked twice at once.
  const walking = new Set<number>();
  const walk = async (id: number) => {
    if (walking.has(id)) return;
    walking.add(id);
    try {
      for (;;) {
        const task = emulator.store.peekTask(id)!;
        if (task.close_date) return settle(id, true);
        const account = o.steps[task.current_step! - 1];
        if (!account.person) return;
        await approve(id, account);
      }
    } finally {
      walking.delete(id);
    }
  };
  const startRequest = () => {
    if (closed || (o.count !== undefined && started >= o.count)) return;
    started += 1;
    const id = o.taskOf(next++);
    startedAt.set(id, Date.now());
    walk(id).catch((err: Error) => failures.push(err));
  };

  let seen = emulator.comments.length;
  const firstComment = seen;
  const firstDelivery = emulator.deliveries.length;
  const watcher = setInterval(() => {
    for (; seen < emulator.comments.length; seen++) {
      const c = emulator.comments[seen];
      if (!botNames.has(c.bot)) continue;
      if (c.request.approval_choice === 'approved') walk(c.taskId).catch((err: Error) => failures.push(err));
      else settle(c.taskId, false);
    }
  }, 5);

  const t0 = Date.now();
  for (let i = 0; i < o.inFlight; i++) startRequest();
  const ends = [finished, new Promise<void>((resolve) => setTimeout(resolve, o.timeoutMs).unref())];
  if (o.durationMs !== undefined) ends.push(new Promise<void>((resolve) => setTimeout(resolve, o.durationMs).unref()));
  await Promise.race(ends);
  closed = true;
  const elapsedS = (Date.now() - t0) / 1000;
  clearInterval(watcher);
  if (failures.length) throw failures[0];

  const comments = emulator.comments.slice(firstComment).filter((c) => botNames.has(c.bot));
  const webhookAt = new Map<string, number>();
  for (const d of emulator.deliveries.slice(firstDelivery)) {
    const key = `${d.taskId}:${d.bot}`;
    if (botNames.has(d.bot) && !webhookAt.has(key)) webhookAt.set(key, Date.parse(d.startedAt));
  }
  return { requests: o.count ?? started, completed, sentBack, elapsedS, requestMs, comments, webhookAt };
}

/** Webhook sent (the emulator's delivery started) to the bot's comment, ms, per comment of the walk that has one. */
export function decisionMs(walk: Walk, comments = walk.comments): number[] {
  return comments.map((c) => Date.parse(c.at) - (walk.webhookAt.get(`${c.taskId}:${c.bot}`) ?? NaN)).filter((n) => !Number.isNaN(n));
}
