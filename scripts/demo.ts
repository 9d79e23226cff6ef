/* eslint-disable no-console */
/**
 * `npm run demo`: the whole service on one machine in one command. It checks what it needs first (a built tree, free
 * ports, PostgreSQL, Redis), migrates a database of its own, starts the Pyrus emulator, the api and the worker as
 * child processes, walks invoices along the payment route (accountant, duplicate-check bot, head of department,
 * budget-check bot, CFO, payment-order bot, treasurer) with the people approving through the emulator's API, sends a
 * task to the auto-reply bot, and prints what each bot decided; then keeps running until Ctrl-C, which stops every
 * process it started. A stand-in ERP in this process takes the payment orders.
 *
 * Its own database (`pyrus_bots_demo`, made afresh at each start), queue prefix and ports keep it apart from a developer's
 * data. Variables: DEMO_DATABASE_URL, DEMO_REDIS_URL, DEMO_QUEUE_PREFIX, DEMO_API_PORT, DEMO_WORKER_PORT,
 * DEMO_EMULATOR_PORT, DEMO_BUILD_DIR (the compiled tree; default dist/).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';

const ROOT = resolve(__dirname, '..');
const BOTS_FILE = join(ROOT, 'config/bots.demo.json');
const BUDGETS_FILE = join(ROOT, 'config/demo/budgets.json');
const EMULATOR_SEED = join(ROOT, 'config/demo/emulator');

const settings = {
  databaseUrl: process.env.DEMO_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/pyrus_bots_demo',
  redisUrl: process.env.DEMO_REDIS_URL || 'redis://127.0.0.1:6379',
  queuePrefix: process.env.DEMO_QUEUE_PREFIX || 'pyrus-bots-demo',
  buildDir: resolve(ROOT, process.env.DEMO_BUILD_DIR || 'dist'),
  ports: [
    { name: 'api', variable: 'DEMO_API_PORT', port: Number(process.env.DEMO_API_PORT || 3300), host: undefined },
    { name: 'worker', variable: 'DEMO_WORKER_PORT', port: Number(process.env.DEMO_WORKER_PORT || 3301), host: undefined },
    { name: 'emulator', variable: 'DEMO_EMULATOR_PORT', port: Number(process.env.DEMO_EMULATOR_PORT || 4300), host: '127.0.0.1' },
  ],
};
const [API_PORT, WORKER_PORT, EMULATOR_PORT] = settings.ports.map((p) => p.port);
const EMULATOR_URL = `http://127.0.0.1:${EMULATOR_PORT}`;

/** The user ids the emulator gives the demo's bots; the tasks name them as their steps' approvers. */
const BOT_USER_IDS: Record<string, number> = {
  'auto-reply': 100101,
  'duplicate-check': 100102,
  'budget-check': 100103,
  'payment-order': 100104,
};
/** The people of the payment route, each with an emulator account to approve with. */
interface Person {
  name: string;
  title: string;
  userId: number;
  firstName: string;
  lastName: string;
}
const ACCOUNTANT: Person = { name: 'accountant', title: 'accountant', userId: 100110, firstName: 'Anna', lastName: 'Accountant' };
const HEAD: Person = { name: 'head', title: 'head of department', userId: 100111, firstName: 'Hugo', lastName: 'Head' };
const CFO: Person = { name: 'cfo', title: 'CFO', userId: 100112, firstName: 'Clara', lastName: 'Finance' };
const TREASURER: Person = { name: 'treasurer', title: 'treasurer', userId: 100113, firstName: 'Tom', lastName: 'Treasurer' };
const PEOPLE = [ACCOUNTANT, HEAD, CFO, TREASURER];
/** The route of form 3101: who approves each step (index 0 = step 1). */
const ROUTE: Array<Person | string> = [ACCOUNTANT, 'duplicate-check', HEAD, 'budget-check', CFO, 'payment-order', TREASURER];
const SUPPLIER = { name: 'ООО «Ромашка»', taxId: '7701234567' };

/** A failure the user can fix: printed as one line on stderr, without a stack. */
class DemoStop extends Error {}

const children: Array<{ name: string; child: ChildProcess }> = [];
let stopping = false;

function say(line = ''): void {
  console.log(line);
}

// ---------------------------------------------------------------------------------------------- checks before starting

function checkBuilt(): void {
  const needed = ['apps/api/src/main.js', 'apps/worker/src/main.js', 'apps/pyrus-emulator/src/main.js', 'libs/database/src/cli.js'];
  const missing = needed.filter((file) => !existsSync(join(settings.buildDir, file)));
  if (missing.length) {
    throw new DemoStop(
      `the tree is not built (${relative(ROOT, settings.buildDir) || '.'}/${missing[0]} is missing); run \`npm run demo\`, which builds first, or \`npm run build\``,
    );
  }
}

function checkDatabaseName(): void {
  const name = parseIntoClientConfig(settings.databaseUrl).database ?? '';
  // The demo drops its database at each start: never one whose name does not say it is the demo's.
  if (!name.includes('demo')) {
    throw new DemoStop(
      `DEMO_DATABASE_URL names the database "${name}"; the demo drops and remakes its database, so its name must contain "demo"`,
    );
  }
}

async function checkPorts(): Promise<void> {
  for (const { name, variable, port, host } of settings.ports) {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new DemoStop(`${variable} must be a port number, got "${port}"`);
    const free = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      // As the process will listen: the api and the worker on every address, the emulator on 127.0.0.1.
      server.listen({ port, host }, () => server.close(() => done(true)));
    });
    if (!free) throw new DemoStop(`port ${port} (for the ${name}) is in use; stop what holds it or set ${variable} to a free port`);
  }
}

function where(url: string, fallbackPort: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || '127.0.0.1'}:${parsed.port || fallbackPort}`;
  } catch {
    return '(an unreadable URL)';
  }
}

async function checkPostgres(): Promise<void> {
  const config = parseIntoClientConfig(settings.databaseUrl);
  const client = new Client({ ...config, database: 'postgres', connectionTimeoutMillis: 3000 } as never);
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    const at = `${config.host || '127.0.0.1'}:${config.port || 5432}`;
    if (code && /^E[A-Z]+$/.test(code)) {
      throw new DemoStop(`PostgreSQL does not answer at ${at} (${code}); start it, or point DEMO_DATABASE_URL at one`);
    }
    throw new DemoStop(`PostgreSQL at ${at} refused the demo: ${message}; fix DEMO_DATABASE_URL`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedis(): Promise<void> {
  const redis = new Redis(settings.redisUrl, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis rejects connect() with "Connection is closed"; the socket's own error (ECONNREFUSED) comes as an event.
  let socketCode: string | undefined;
  redis.on('error', (err: NodeJS.ErrnoException) => (socketCode ??= err.code));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    const code = socketCode ?? (err as NodeJS.ErrnoException).code;
    throw new DemoStop(
      `Redis does not answer at ${where(settings.redisUrl, 6379)}${code ? ` (${code})` : ''}; start it, or point DEMO_REDIS_URL at one`,
    );
  } finally {
    redis.disconnect();
  }
}

// -------------------------------------------------------------------------------------------------- the demo's data

/**
 * A fresh demo at each start: the demo database is dropped (the migrations then make it again: some tables, such as
 * the admin audit log, refuse to be emptied) and the demo queue's Redis keys from an earlier run go.
 */
async function dropDemoData(): Promise<void> {
  const config = parseIntoClientConfig(settings.databaseUrl);
  const client = new Client({ ...config, database: 'postgres' } as never);
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${String(config.database).replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${settings.queuePrefix}:*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// ------------------------------------------------------------------------------------------------------ processes

/** Where the stand-in ERP listens; set once it is up, before the api and the worker start. */
let erpUrl = '';

function appEnv(): Record<string, string> {
  return {
    ...(erpUrl ? { ERP_URL: erpUrl } : {}),
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: settings.databaseUrl,
    REDIS_URL: settings.redisUrl,
    QUEUE_PREFIX: settings.queuePrefix,
    BOTS_FILE,
    PORT: String(API_PORT),
    WORKER_PORT: String(WORKER_PORT),
    PYRUS_AUTH_URL: `${EMULATOR_URL}/auth`,
    PYRUS_API_URL: `${EMULATOR_URL}/v4`,
    // The log files are for a person to read.
    LOG_FORMAT: 'pretty',
  };
}

/** Runs a one-off command of the build to its end; its output goes to `log`. */
async function runToEnd(what: string, script: string, args: string[], log: string): Promise<void> {
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [join(settings.buildDir, script), ...args], {
    cwd: ROOT,
    env: appEnv(),
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  if (code !== 0) throw new DemoStop(`${what} failed (exit code ${code}); see ${log}`);
}

/** Starts a long-running process of the build, its output appended to `log`. */
function startChild(name: string, script: string, env: Record<string, string>, log: string): ChildProcess {
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, [join(settings.buildDir, script)], { cwd: ROOT, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.push({ name, child });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`demo: the ${name} stopped by itself (${signal ?? `exit code ${code}`}); see ${log}. Stopping the rest.`);
    void stopAll(1);
  });
  return child;
}

async function waitForHttp(name: string, url: string, child: ChildProcess, log: string, wantOk = true): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new DemoStop(`the ${name} exited during start-up; see ${log}`);
    try {
      const res = await fetch(url);
      if (!wantOk || res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new DemoStop(`the ${name} did not come up within 90 s; see ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGTERM to every child, SIGKILL to any still there after 15 s; then this process exits with `code`. */
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => {
              clearTimeout(timer);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    if (children.length) say(`demo: stopped ${children.map(({ name, child }) => `${name} (pid ${child.pid})`).join(', ')}`);
  }
  process.exit(code);
}

// ------------------------------------------------------------------------------------------------------- the emulator

async function emulator(method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${EMULATOR_URL}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await res.json();
  if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The emulator learns the bots of config/bots.demo.json with their keys and where their webhooks are, and the people. */
async function registerAccounts(): Promise<void> {
  const { bots } = JSON.parse(readFileSync(BOTS_FILE, 'utf8')) as { bots: Array<{ name: string; login: string; securityKeys: string[] }> };
  for (const bot of bots) {
    await emulator('POST', '/bots', {
      name: bot.name,
      login: bot.login,
      securityKey: bot.securityKeys[0],
      userId: BOT_USER_IDS[bot.name],
      webhookUrl: `http://127.0.0.1:${API_PORT}/bots/${bot.name}/webhook`,
    });
  }
  // People, not bots: they approve their steps through the emulator's API, as they would in Pyrus.
  for (const person of PEOPLE) {
    await emulator('POST', '/bots', {
      name: person.name,
      login: `${person.name}@demo.example`,
      securityKey: `demo-${person.name}-key`,
      userId: person.userId,
      firstName: person.firstName,
      type: 'user',
    });
  }
}

/** A stand-in for the company's ERP: each payment order gets a document number, the same one for a repeated key. */
async function startErp(): Promise<string> {
  const orders = new Map<string, string>();
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const id = orders.get(key) ?? `PO-${String(orders.size + 1).padStart(4, '0')}`;
      orders.set(key, id);
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  // Ends with this process, like everything the demo started.
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Invoice {
  invoiceNo: string;
  amount: number;
}

const approverOf = (step: Person | string) =>
  typeof step === 'string'
    ? { id: BOT_USER_IDS[step], first_name: step, type: 'bot' }
    : { id: step.userId, first_name: step.firstName, last_name: step.lastName, type: 'user' };

/** An invoice on form 3101 at the start of the route: `approvedUpTo` steps approved, the next one waiting. */
function invoiceTask(id: number, invoice: Invoice, date: string, approvedUpTo = 0) {
  const values: Array<[number, string, string, unknown]> = [
    [1, 'text', 'supplier', SUPPLIER.name],
    [2, 'text', 'inn', SUPPLIER.taxId],
    [3, 'text', 'invoice_no', invoice.invoiceNo],
    [4, 'date', 'invoice_date', date],
    [5, 'money', 'amount', invoice.amount],
    [6, 'text', 'currency', 'RUB'],
  ];
  return {
    id,
    form_id: 3101,
    current_step: approvedUpTo + 1,
    create_date: new Date().toISOString(),
    author: { ...approverOf(ACCOUNTANT), email: 'accountant@demo.example' },
    fields: [
      ...values.map(([fid, type, code, value]) => ({ id: fid, type, code, name: code, value })),
      { id: 7, type: 'text', code: 'erp_document', name: 'ERP document' },
    ],
    approvals: ROUTE.map((step, i) => [{ person: approverOf(step), approval_choice: i < approvedUpTo ? 'approved' : 'waiting' }]),
    comments: [{ id: id * 10, text: 'Please pay this invoice', author: { id: ACCOUNTANT.userId } }],
  };
}

/** A simple task waiting on the auto-reply bot at its only step. */
function autoReplyTask(id: number) {
  return {
    id,
    current_step: 1,
    create_date: new Date().toISOString(),
    author: { id: 78, email: 'colleague@demo.example', first_name: 'Boris', last_name: 'Colleague' },
    text: 'Please confirm you received this',
    approvals: [[{ person: { id: BOT_USER_IDS['auto-reply'], type: 'bot' }, approval_choice: 'waiting' }]],
    comments: [{ id: id * 10, text: 'Please confirm you received this', author: { id: 78 } }],
  };
}

/** What the bot's comment did, in words. */
function decisionOf(request: Record<string, any>): string {
  if (Array.isArray(request.approvals_rerequested)) {
    const step = request.approvals_rerequested.reduce((found: number, people: unknown[], i: number) => (people?.length ? i + 1 : found), 0);
    const to = ROUTE[step - 1];
    return `sent back to step ${step}${typeof to === 'string' ? '' : ` (the ${to.title})`}`;
  }
  if (request.approval_choice === 'approved') return 'approved';
  if (request.approval_choice === 'rejected') return 'rejected';
  return 'commented';
}

/** One comment of a bot as the emulator took it: its request body, and whether it came in a webhook's answer. */
interface BotComment {
  request: Record<string, any>;
  viaWebhookAnswer?: boolean;
}

/** The bot's comments on the task so far. */
async function commentsOf(bot: string, taskId: number): Promise<BotComment[]> {
  const { comments } = await emulator('GET', '/state');
  return (comments as Array<BotComment & { taskId: number; bot: string }>).filter((c) => c.taskId === taskId && c.bot === bot);
}

/** How the comment reached Pyrus: the bots file's `reply` of the bot, seen from the emulator's side. */
const howDelivered = (comment: BotComment) => (comment.viaWebhookAnswer ? "in the webhook's answer" : 'posted through the API');

/** Waits for the bot's comment number `nth` (1 = its first) on the task. */
async function botComment(bot: string, taskId: number, nth: number): Promise<BotComment> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const mine = await commentsOf(bot, taskId);
    if (mine.length >= nth) return mine[nth - 1];
    if (Date.now() > deadline) throw new DemoStop(`no decision from the ${bot} bot on task ${taskId} within 60 s; see the worker's log`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A person approves the task's current step through the emulator's Pyrus API, with a token of their own. */
async function approveAs(person: Person, taskId: number): Promise<void> {
  const auth = await fetch(`${EMULATOR_URL}/v4/auth`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: `${person.name}@demo.example`, security_key: `demo-${person.name}-key` }),
  });
  const { access_token: token } = (await auth.json()) as { access_token: string };
  const res = await fetch(`${EMULATOR_URL}/v4/tasks/${taskId}/comments`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ text: 'Approved', approval_choice: 'approved' }),
  });
  if (!res.ok) throw new Error(`the ${person.title}'s approval of task ${taskId}: ${res.status} ${await res.text()}`);
}

/** Where the task stands: its step and who it waits for, or that it is closed. */
async function standing(taskId: number): Promise<string> {
  const { task } = await emulator('GET', `/tasks/${taskId}`);
  if (task.close_date) return 'closed';
  const step = ROUTE[task.current_step - 1];
  return `on step ${task.current_step}, waiting for the ${typeof step === 'string' ? `${step} bot` : step.title}`;
}

/** A comment's text under its label: its later lines lined up with its first. */
const indent = (text: unknown, width: number) => String(text ?? '').replace(/\n/g, `\n${' '.repeat(width)}`);

/**
 * Walks an invoice along the route: the task is added on step 1; each of `people` in turn approves their step, and the
 * demo prints what the bot after them decided; it stops when a bot does not approve (the task went back).
 */
async function walk(task: { id: number }, people: Person[]): Promise<void> {
  await emulator('POST', '/tasks', task);
  const seen: Record<string, number> = {};
  for (const person of people) {
    const bot = ROUTE[ROUTE.indexOf(person) + 1] as string;
    await approveAs(person, task.id);
    seen[bot] = (seen[bot] ?? 0) + 1;
    const comment = await botComment(bot, task.id, seen[bot]);
    const { request } = comment;
    const decision = decisionOf(request);
    say(`   ${person.title} approved -> ${bot} bot: ${decision} (${howDelivered(comment)})`);
    say(`      comment: ${indent(request.text, 15)}`);
    if (decision !== 'approved') break;
  }
  say(`   now ${await standing(task.id)}`);
  say(`   task:    ${EMULATOR_URL}/_emulator/tasks/${task.id}`);
}

/** Sends the task signed to the bot's webhook through the emulator, then waits for the bot's comment on it. */
async function sendAndWait(bot: string, task: { id: number }): Promise<BotComment> {
  const { delivery } = await emulator('POST', '/deliveries', { bot, task, wait: true });
  if (delivery?.outcome !== 'delivered') {
    throw new DemoStop(`the api did not take the delivery of task ${task.id}: ${JSON.stringify(delivery)}`);
  }
  return botComment(bot, task.id, 1);
}

// ----------------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  checkBuilt();
  checkDatabaseName();
  await checkPorts();
  await checkPostgres();
  await checkRedis();

  const logs = mkdtempSync(join(tmpdir(), 'pyrus-bots-demo-'));
  mkdirSync(logs, { recursive: true });
  const log = (name: string) => join(logs, `${name}.log`);
  const dbName = parseIntoClientConfig(settings.databaseUrl).database;
  say(`demo: database ${dbName}, Redis ${where(settings.redisUrl, 6379)} (queue prefix ${settings.queuePrefix}), logs in ${logs}`);

  erpUrl = await startErp();
  await dropDemoData();
  await runToEnd('applying the migrations', 'libs/database/src/cli.js', [], log('migrations'));
  await runToEnd('loading the budget', 'apps/worker/src/commands/main.js', ['budgets:seed', BUDGETS_FILE], log('budgets'));
  say(`demo: made ${dbName} afresh, migrated it, loaded the budget (${relative(ROOT, BUDGETS_FILE)})`);

  const pyrus = startChild(
    'emulator',
    'apps/pyrus-emulator/src/main.js',
    { PATH: process.env.PATH ?? '', EMULATOR_PORT: String(EMULATOR_PORT), EMULATOR_HOST: '127.0.0.1', EMULATOR_SEED },
    log('emulator'),
  );
  await waitForHttp('emulator', `${EMULATOR_URL}/_emulator/state`, pyrus, log('emulator'));
  await registerAccounts();
  const api = startChild('api', 'apps/api/src/main.js', appEnv(), log('api'));
  const worker = startChild('worker', 'apps/worker/src/main.js', appEnv(), log('worker'));
  await waitForHttp('api', `http://127.0.0.1:${API_PORT}/health/ready`, api, log('api'));
  await waitForHttp('worker', `http://127.0.0.1:${WORKER_PORT}/health/ready`, worker, log('worker'));
  say(
    `demo: started emulator (pid ${pyrus.pid}) on ${EMULATOR_URL}, api (pid ${api.pid}) on port ${API_PORT}, worker (pid ${worker.pid}) on port ${WORKER_PORT}`,
  );

  const today = new Date().toISOString().slice(0, 10);
  const route = [ACCOUNTANT, HEAD, CFO];
  const invoices = [
    { title: 'a clean invoice', task: invoiceTask(5001, { invoiceNo: 'INV-1001', amount: 40000 }, today) },
    { title: 'the same invoice again', task: invoiceTask(5002, { invoiceNo: 'INV-1001', amount: 40000 }, today) },
    { title: 'an invoice over the budget', task: invoiceTask(5003, { invoiceNo: 'INV-1002', amount: 75000 }, today) },
  ];
  say(
    `demo: the route of form 3101: ${ROUTE.map((step, i) => `${i + 1} ${typeof step === 'string' ? `${step} bot` : step.title}`).join(' -> ')}`,
  );
  say(
    `demo: supplier ${SUPPLIER.name} (tax id ${SUPPLIER.taxId}) has a budget of 100 000 RUB a month; the ERP is a stand-in in this process`,
  );
  say();
  for (const [i, { title, task }] of invoices.entries()) {
    say(`${i + 1}. ${title}: task ${task.id}`);
    await walk(task, route);
  }
  const reply = autoReplyTask(5004);
  const comment = await sendAndWait('auto-reply', reply);
  const { request } = comment;
  say(`4. a task for the auto-reply bot: task ${reply.id} -> auto-reply bot: ${decisionOf(request)} (${howDelivered(comment)})`);
  say(`   comment: ${indent(request.text, 12)}`);

  const next = join(logs, 'next-invoice.json');
  writeFileSync(next, JSON.stringify({ task: invoiceTask(5005, { invoiceNo: 'INV-1003', amount: 5000 }, today, 1) }, null, 2));
  say();
  say(`demo: ready. A task link above is the emulator's JSON of the task (no token needed): open it in a browser or curl it.`);
  say(`demo: send another invoice (5 000 RUB), approved by the accountant, to the duplicate-check bot; it then waits for the head:`);
  say(`  npm run pyrus -- send --emulator ${EMULATOR_URL} --bot duplicate-check --task ${next}`);
  say(`demo: logs of each process in ${logs}; Ctrl-C stops everything.`);
}

main().catch((err) => {
  console.error(err instanceof DemoStop ? `demo: ${err.message}` : `demo: ${(err as Error).stack ?? String(err)}`);
  void stopAll(1);
});
