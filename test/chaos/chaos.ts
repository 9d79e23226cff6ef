/**
 * npm run chaos — does a 200 to a webhook still mean "decided exactly once" under faults? Starts a PostgreSQL
 * cluster and a redis-server of its own, two api and two worker processes on them, and the Pyrus emulator in this
 * process; for each fault it sends fresh tasks' webhooks (signed, with Pyrus's retries) at a steady rate, injects the
 * fault in the middle, waits (bounded) for every acknowledged task to be decided, and prints one Markdown table:
 * fault, sent, acknowledged, decided once, lost, doubled, 5xx, time to recover.
 *
 *   npm run chaos                                   every fault, 150 tasks each
 *   npm run chaos -- --faults redis,postgres --tasks 100
 *   npm run chaos -- --strict                       exit 1 when any task was lost or doubled
 *   npm run chaos -- --keep-logs                    copy the services' logs out before the run's directory goes
 *   npm run chaos -- --time-scale 0.1               Pyrus's retry schedule (61 s, 122 s, 60 s timeout) times this
 *   npm run chaos -- --reply auto                   the bots answer their decisions in the webhook's answer (default api)
 *
 * Exit 0 when the run completed (it is a report), 1 on --strict with losses or doubles or when the run broke, 2 when
 * redis-server or PostgreSQL's initdb/pg_ctl are missing.
 */
import { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DeliveryRecord, FaultSpec, PyrusEmulator } from '../../apps/pyrus-emulator/src';
import { WEBHOOK_BODY_LIMIT_BYTES } from '../../apps/api/src/webhooks/raw-body.middleware';
import { prepareDatabase } from '../../libs/database/src/schema-setup';
import type { PyrusTask } from '../../libs/pyrus/src';
import { DELIVERIES_QUEUE } from '../../libs/queue/src';
import { freePort, ROOT, startProcess, stopProcesses } from '../support/child-processes';
import { invoiceTask } from '../support/invoice-task';
import { PrivateRedis } from '../support/private-redis';
import { FIXTURE_BOT_USER_ID, startTestEmulator } from '../support/test-emulator';
import { TEST_BOT_KEY, TEST_BOTS_FILE } from '../support/test-env';
import { isDecision, renderReport, RowFigures, RowPlan, tallyRow } from './chaos-report';
import { findPostgresBinaries, onPath, postgresAccount, PrivatePostgres } from './private-postgres';
import { RoundRobinFront } from './round-robin-front';

const FAULT_NAMES = ['redis', 'postgres', 'worker-kill', 'api-rolling', 'pyrus-5xx-before', 'pyrus-5xx-after', 'hostile'] as const;
type FaultName = (typeof FAULT_NAMES)[number];

/** The webhooks of a row go out evenly over this long; the fault starts at FAULT_AT of it. */
const SEND_WINDOW_MS = 10_000;
const FAULT_AT = 0.4;
/** How long the Pyrus 5xx faults and the spread of hostile payloads last. */
const FAULT_WINDOW_MS = 3_000;
/**
 * After the fault (and the last send), every acknowledged task gets this long to be decided: Bull's default stalled
 * check needs two 30 s rounds to take back a killed worker's jobs.
 */
const RECOVERY_BOUND_MS = 90_000;
/** After the last decision, a wait for late second decisions (a stalled job run again, a reconciliation). */
const SETTLE_MS = 8_000;
/** A row is started only while it would end, at its longest, within this much of the run's start. */
const RUN_BUDGET_MS = 9.5 * 60_000;
const LONGEST_ROW_MS = SEND_WINDOW_MS + RECOVERY_BOUND_MS + SETTLE_MS + 10_000;
const QUEUE_PREFIX = 'chaos';
const DATABASE = 'pyrus_bots_chaos';
const BOTS = ['auto-reply', 'payments'] as const;

interface Options {
  faults: FaultName[];
  tasks: number;
  strict: boolean;
  timeScale: number;
  keepLogs: boolean;
  reply: 'api' | 'auto';
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      faults: { type: 'string' },
      tasks: { type: 'string' },
      strict: { type: 'boolean', default: false },
      'time-scale': { type: 'string' },
      'keep-logs': { type: 'boolean', default: false },
      reply: { type: 'string' },
    },
  });
  const faults = (values.faults ?? FAULT_NAMES.join(','))
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const unknown = faults.filter((f) => !(FAULT_NAMES as readonly string[]).includes(f));
  if (unknown.length) throw new UsageError(`unknown fault ${unknown.join(', ')}; the faults are ${FAULT_NAMES.join(', ')}`);
  const tasks = Number(values.tasks ?? 150);
  if (!Number.isInteger(tasks) || tasks < 1 || tasks > 500) throw new UsageError('--tasks takes a whole number from 1 to 500');
  const timeScale = Number(values['time-scale'] ?? 0.1);
  if (!(timeScale >= 0.01 && timeScale <= 1)) throw new UsageError('--time-scale takes a number from 0.01 to 1');
  const reply = values.reply ?? 'api';
  if (reply !== 'api' && reply !== 'auto') throw new UsageError('--reply takes api or auto');
  return { faults: faults as FaultName[], tasks, strict: values.strict ?? false, timeScale, keepLogs: values['keep-logs'] ?? false, reply };
}

class UsageError extends Error {}

/** The test bots file with every bot's `reply` set, written into the run's directory. */
function botsFileReplying(reply: string, dir: string): string {
  const doc = JSON.parse(readFileSync(TEST_BOTS_FILE, 'utf8')) as { bots: Array<Record<string, unknown>> };
  const file = join(dir, 'bots.json');
  writeFileSync(file, JSON.stringify({ bots: doc.bots.map((bot) => ({ ...bot, reply })) }));
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const say = (line: string) => process.stderr.write(`chaos: ${line}\n`);

/** An api or worker process that the faults stop, kill and start again; an exit nobody asked for is noted. */
class ServiceProcess {
  child?: ChildProcess;
  private expectingExit = false;
  readonly unexpectedExits: string[] = [];

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: Record<string, string>,
    private readonly healthPort: number,
    private readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    this.expectingExit = false;
    const child = await startProcess(join(ROOT, this.script), this.env, `http://127.0.0.1:${this.healthPort}/health/live`, {
      logFile: this.logFile,
    });
    this.child = child;
    child.once('exit', (code, signal) => {
      if (!this.expectingExit) this.unexpectedExits.push(`${this.name} exited by itself (${signal ?? `code ${code}`})`);
    });
  }

  /** SIGTERM, and wait for the graceful shutdown. */
  async stop(): Promise<void> {
    this.expectingExit = true;
    await stopProcesses(this.child);
  }

  async kill(): Promise<void> {
    this.expectingExit = true;
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  killNow(): void {
    this.expectingExit = true;
    if (this.running) this.child?.kill('SIGKILL');
  }
}

interface Stack {
  emulator: PyrusEmulator;
  redis: PrivateRedis;
  postgres: PrivatePostgres;
  front: RoundRobinFront;
  apis: ServiceProcess[];
  workers: ServiceProcess[];
}

/** A task waiting on the bot at its current step, with one comment (so its deliveries have a comment-id key). */
function taskFor(bot: (typeof BOTS)[number], id: number): PyrusTask {
  if (bot === 'payments') {
    return invoiceTask(id, {
      supplier: `Chaos supplier ${id}`,
      inn: String(id),
      invoiceNo: `CH-${id}`,
      date: '2026-05-01',
      amount: 1000 + (id % 500),
      currency: 'RUB',
    });
  }
  const now = new Date().toISOString();
  return {
    id,
    current_step: 1,
    text: `Chaos task ${id}`,
    create_date: now,
    last_modified_date: now,
    author: { id: 77, email: 'chaos@example.org' },
    approvals: [[{ person: { id: FIXTURE_BOT_USER_ID, type: 'bot' }, approval_choice: 'waiting' }]],
    comments: [{ id: id * 10, text: 'Please approve', author: { id: 77 } }],
  };
}

/**
 * Hostile bodies, signed and valid JSON (but the last, over the size limit): the service should answer 400 (or 413)
 * or store them, never 5xx. Written as text: JSON.stringify cannot nest 10,000 deep.
 */
const HOSTILE_KINDS = ['NUL in a string', 'lone surrogate', 'nested 10,000 deep', 'over the size limit'] as const;
function hostileBody(emulator: PyrusEmulator, kind: (typeof HOSTILE_KINDS)[number], task: PyrusTask): string {
  const bot = emulator.getBot('auto-reply');
  const payload = (t: Record<string, unknown>) =>
    JSON.stringify({
      event: 'comment',
      access_token: emulator.issueToken(bot.name),
      task_id: task.id,
      user_id: bot.userId,
      bot_settings: bot.settings,
      task: t,
    });
  switch (kind) {
    case 'NUL in a string':
      return payload({ ...task, text: 'before\u0000after' });
    case 'lone surrogate':
      return payload({ ...task, text: 'before\ud800after' });
    case 'nested 10,000 deep':
      return payload({ ...task, fields: [{ id: 90, type: 'table', name: 'deep', value: '__DEEP__' }] }).replace(
        '"__DEEP__"',
        '['.repeat(10_000) + ']'.repeat(10_000),
      );
    case 'over the size limit':
      return payload({ ...task, text: 'x'.repeat(WEBHOOK_BODY_LIMIT_BYTES + 1024) });
  }
}

/** What a fault does at its moment; resolves when it is over (that instant is "the end of the fault"). */
type Injection = (
  stack: Stack,
  row: RowPlan,
  send: (taskId: number, bot: string, body?: string) => void,
  nextTaskId: () => number,
) => Promise<void>;

interface FaultPlan {
  /** Emulator faults in force for the whole row, e.g. slow comments so that jobs are surely queued or active. */
  background?: FaultSpec[];
  inject: Injection;
}

/** Pyrus answering comments late keeps jobs active (a 1 s delay) or also waiting (3 s: more than 20 slots' worth). */
const slowComments = (delayMs: number): FaultSpec => ({ kind: 'slow', delayMs, method: 'POST', path: '/v4/tasks/*/comments' });
const jobsKey = (state: string) => `${QUEUE_PREFIX}:${DELIVERIES_QUEUE}:${state}`;

const FAULTS: Record<FaultName, FaultPlan> = {
  redis: {
    background: [slowComments(3000)],
    async inject({ redis }, row) {
      const [waiting, active] = [await redis.listLength(jobsKey('wait')), await redis.listLength(jobsKey('active'))];
      await redis.command('FLUSHALL');
      await redis.stop();
      await sleep(2000);
      await redis.start();
      row.notes.push(`at the FLUSHALL ${waiting} jobs waited and ${active} were active; Redis was down about 2 s`);
    },
  },
  postgres: {
    async inject({ postgres }, row) {
      const started = Date.now();
      await postgres.restart();
      row.notes.push(`pg_ctl restart -m fast took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  },
  'worker-kill': {
    background: [slowComments(1000)],
    async inject({ redis, workers }, row) {
      const active = await redis.listLength(jobsKey('active'));
      await workers[0].kill();
      await sleep(1000);
      await workers[0].start();
      row.notes.push(`SIGKILL of worker 1 with ${active} jobs active across both workers; started again 1 s later`);
    },
  },
  'api-rolling': {
    async inject({ apis }, row) {
      for (const api of apis) {
        const started = Date.now();
        await api.stop();
        await api.start();
        row.notes.push(`${api.name} SIGTERM to up again in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    },
  },
  'pyrus-5xx-before': {
    async inject({ emulator }, row) {
      const fault = emulator.addFault({ kind: 'error', status: 500, rate: 0.5, method: 'POST', path: '/v4/tasks/*/comments' });
      await sleep(FAULT_WINDOW_MS);
      const fired = emulator.faults.list().find((f) => f.id === fault.id)?.fired ?? 0;
      emulator.removeFault(fault.id);
      row.notes.push(`${fired} comment posts answered 500 without taking effect, over ${FAULT_WINDOW_MS / 1000} s`);
    },
  },
  'pyrus-5xx-after': {
    async inject({ emulator }, row) {
      const fault = emulator.addFault({
        kind: 'error',
        status: 500,
        rate: 0.5,
        phase: 'after',
        method: 'POST',
        path: '/v4/tasks/*/comments',
      });
      await sleep(FAULT_WINDOW_MS);
      const fired = emulator.faults.list().find((f) => f.id === fault.id)?.fired ?? 0;
      emulator.removeFault(fault.id);
      row.notes.push(`${fired} comment posts applied and then answered 500, over ${FAULT_WINDOW_MS / 1000} s`);
    },
  },
  hostile: {
    async inject({ emulator }, row, send, nextTaskId) {
      const kinds = [...HOSTILE_KINDS, ...HOSTILE_KINDS];
      for (const kind of kinds) {
        const task = emulator.addTask(taskFor('auto-reply', nextTaskId()));
        row.tasks.set(task.id, { bot: 'auto-reply', hostile: kind });
        send(task.id, 'auto-reply', hostileBody(emulator, kind, task));
        await sleep(FAULT_WINDOW_MS / kinds.length);
      }
    },
  },
};

/** One row: fresh tasks sent evenly, the fault in the middle, then a bounded wait for their decisions. */
async function runRow(stack: Stack, fault: FaultName, rowIndex: number, options: Options): Promise<RowPlan> {
  const { emulator } = stack;
  const plan = FAULTS[fault];
  const row: RowPlan = { fault, tasks: new Map(), faultEndedAt: 0, notes: [] };
  let taskId = (rowIndex + 1) * 100_000;
  const nextTaskId = () => ++taskId;
  const sends: Array<Promise<DeliveryRecord>> = [];
  const send = (id: number, bot: string, body?: string) => sends.push(emulator.sendDelivery({ bot, taskId: id, body }));
  const background = (plan.background ?? []).map((spec) => emulator.addFault(spec));

  const started = Date.now();
  const interval = SEND_WINDOW_MS / options.tasks;
  const sending = (async () => {
    for (let i = 0; i < options.tasks; i++) {
      await sleep(started + i * interval - Date.now());
      const bot = BOTS[i % BOTS.length];
      const task = emulator.addTask(taskFor(bot, nextTaskId()));
      row.tasks.set(task.id, { bot });
      send(task.id, bot);
    }
  })();
  const injecting = (async () => {
    await sleep(SEND_WINDOW_MS * FAULT_AT);
    try {
      await plan.inject(stack, row, send, nextTaskId);
    } catch (err) {
      row.notes.push(`the fault itself failed: ${(err as Error).message}`);
    }
    row.faultEndedAt = Date.now();
  })();
  await Promise.all([sending, injecting]);
  background.forEach((f) => emulator.removeFault(f.id));

  // Pyrus's retries end by themselves; the decisions get RECOVERY_BOUND_MS from the fault's end and the last send.
  const deadline = Date.now() + RECOVERY_BOUND_MS;
  let delivered = false;
  void Promise.allSettled(sends).then(() => (delivered = true));
  const undecided = () => {
    const decided = new Set(emulator.comments.filter(isDecision).map((c) => c.taskId));
    const acknowledged = emulator.deliveries.filter((d) => row.tasks.has(d.taskId) && d.attempts.some((a) => a.ok)).map((d) => d.taskId);
    return acknowledged.filter((id) => !decided.has(id)).length;
  };
  while (Date.now() < deadline && (!delivered || undecided() > 0)) await sleep(250);
  const left = undecided();
  say(
    `${fault}: ${row.tasks.size} sent; ${left === 0 ? 'every acknowledged task decided' : `${left} acknowledged tasks undecided at the bound`}; settling`,
  );
  await sleep(SETTLE_MS);
  return row;
}

/** Brings every api and worker back up before the next row, noting the ones that had died by themselves. */
async function reviveServices(stack: Stack, row: RowPlan): Promise<void> {
  for (const service of [...stack.apis, ...stack.workers]) {
    row.notes.push(...service.unexpectedExits.splice(0));
    if (!service.running) await service.start();
  }
}

/** --keep-logs: the services', Redis's and PostgreSQL's logs are copied out before the run's directory goes. */
function keepLogs(dir: string): void {
  const target = mkdtempSync(join(tmpdir(), 'pyrus-chaos-logs-'));
  for (const file of [...readdirSync(dir).map((f) => join(dir, f)), join(dir, 'pg', 'postgres.log')]) {
    if (file.endsWith('.log') && existsSync(file)) copyFileSync(file, join(target, basename(file)));
  }
  say(`logs kept in ${target}`);
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`chaos: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const redisServer = onPath('redis-server');
  const pgBin = findPostgresBinaries();
  const account = postgresAccount();
  if (!redisServer || !pgBin || account === 'none') {
    const missing = [
      !redisServer && 'redis-server (apt-get install redis-server)',
      !pgBin && 'PostgreSQL initdb and pg_ctl (apt-get install postgresql)',
      account === 'none' && 'a "postgres" account to run PostgreSQL as (this runs as root)',
    ].filter(Boolean);
    process.stderr.write(`chaos: needs ${missing.join(' and ')}\n`);
    return 2;
  }
  for (const script of ['dist/apps/api/src/main.js', 'dist/apps/worker/src/main.js']) {
    if (!existsSync(join(ROOT, script))) throw new Error(`${script} is missing: run npm run build (npm run chaos does)`);
  }

  const runStarted = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'pyrus-chaos-'));
  // The postgres account (when this runs as root) needs to reach its cluster directory inside.
  chmodSync(dir, 0o755);
  const services: ServiceProcess[] = [];
  let redis: PrivateRedis | undefined;
  let postgres: PrivatePostgres | undefined;
  let front: RoundRobinFront | undefined;
  let emulator: PyrusEmulator | undefined;
  let tornDown = false;
  const teardownNow = () => {
    if (tornDown) return;
    tornDown = true;
    services.forEach((s) => s.killNow());
    redis?.killNow();
    postgres?.stopNow();
    if (options.keepLogs) keepLogs(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  const teardown = async () => {
    if (tornDown) return;
    await Promise.all(services.map((s) => s.stop()));
    await front?.stop();
    await emulator?.stop();
    await redis?.stop();
    await postgres?.stop();
    teardownNow();
  };
  process.once('exit', teardownNow);
  // At once and synchronously: the row under way must not go on restarting what is being stopped.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`${signal}: stopping what this run started`);
      teardownNow();
      process.exit(130);
    });
  }

  try {
    say(`starting a private redis-server and PostgreSQL cluster in ${dir}`);
    redis = new PrivateRedis({ binary: redisServer, logFile: join(dir, 'redis.log'), detached: true });
    await redis.start();
    postgres = new PrivatePostgres(pgBin, join(dir, 'pg'), await freePort(), account);
    await postgres.init();
    await postgres.start();
    const databaseUrl = postgres.url(DATABASE);
    await prepareDatabase(databaseUrl);

    emulator = await startTestEmulator();
    // The quota is not a fault under test here.
    emulator.setQuota({ limit: 1_000_000 });
    emulator.timeScale = options.timeScale;
    const apiPorts = [await freePort(), await freePort()];
    front = await new RoundRobinFront(apiPorts).start();
    for (const bot of BOTS) emulator.addBot({ ...emulator.getBot(bot), webhookUrl: front.url(`/bots/${bot}/webhook`) });

    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      QUEUE_PREFIX,
      BOTS_FILE: options.reply === 'api' ? TEST_BOTS_FILE : botsFileReplying(options.reply, dir),
      TEST_BOT_KEY,
      LOG_LEVEL: 'warn',
      PYRUS_AUTH_URL: emulator.authUrl,
      PYRUS_API_URL: emulator.apiUrl,
      // Everything else at its default, so the table says what a deployment gets: a killed worker's job is taken back
      // after QUEUE_LOCK_DURATION_MS and the stalled checks, and a delivery whose job Redis lost is queued again within
      // RECONCILE_MIN_AGE_MS + RECONCILE_INTERVAL_MS.
    };
    for (const [i, port] of apiPorts.entries()) {
      services.push(
        new ServiceProcess(
          `api ${i + 1}`,
          'dist/apps/api/src/main.js',
          { ...env, PORT: String(port) },
          port,
          join(dir, `api-${i + 1}.log`),
        ),
      );
    }
    for (const i of [1, 2]) {
      const port = await freePort();
      services.push(
        new ServiceProcess(
          `worker ${i}`,
          'dist/apps/worker/src/main.js',
          { ...env, WORKER_PORT: String(port) },
          port,
          join(dir, `worker-${i}.log`),
        ),
      );
    }
    say('starting two api and two worker processes');
    await Promise.all(services.map((s) => s.start()));
    const stack: Stack = { emulator, redis, postgres, front, apis: services.slice(0, 2), workers: services.slice(2) };

    const plans: RowPlan[] = [];
    const skipped: string[] = [];
    for (const [index, fault] of options.faults.entries()) {
      if (Date.now() - runStarted + LONGEST_ROW_MS > RUN_BUDGET_MS) {
        skipped.push(fault);
        continue;
      }
      say(`${fault}: ${options.tasks} tasks over ${SEND_WINDOW_MS / 1000} s, the fault at ${(SEND_WINDOW_MS * FAULT_AT) / 1000} s`);
      const row = await runRow(stack, fault, index, options);
      await reviveServices(stack, row);
      plans.push(row);
    }

    // Counted at the end, so a decision that came late (or a second one) in a later row's time still counts.
    const rows: RowFigures[] = plans.map((p) => tallyRow(p, emulator!.deliveries, emulator!.comments));
    const settings =
      `Each row: ${options.tasks} tasks (auto-reply and payments alternately) over ${SEND_WINDOW_MS / 1000} s, the fault at ${(SEND_WINDOW_MS * FAULT_AT) / 1000} s; ` +
      `Pyrus's retry schedule scaled by ${options.timeScale} (attempts at 0, ${(61 * options.timeScale).toFixed(1)} and ${(122 * options.timeScale).toFixed(1)} s, ` +
      `${(60 * options.timeScale).toFixed(0)} s timeout); bots with reply ${options.reply}; two api processes behind a round-robin TCP front, two workers; run took ${((Date.now() - runStarted) / 1000).toFixed(0)} s.`;
    process.stdout.write(`${renderReport(rows, plans, { settings, recoveryBoundMs: RECOVERY_BOUND_MS })}\n`);
    if (skipped.length) process.stdout.write(`\nNot run (the ${RUN_BUDGET_MS / 60_000}-minute budget was spent): ${skipped.join(', ')}\n`);
    const lost = rows.reduce((n, r) => n + r.lost, 0);
    const doubled = rows.reduce((n, r) => n + r.doubled, 0);
    process.stdout.write(`\nchaos: ${lost} lost, ${doubled} doubled\n`);
    return options.strict && lost + doubled > 0 ? 1 : 0;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`chaos: ${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  },
);
