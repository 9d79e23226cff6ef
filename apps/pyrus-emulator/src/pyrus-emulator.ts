import { createServer, IncomingMessage, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import type { PyrusPerson, PyrusTask } from '@app/pyrus';
import {
  ActiveFault,
  CallLogEntry,
  DeliveryRecord,
  EmulatorBot,
  EmulatorBotInput,
  EmulatorHttpError,
  EmulatorResponse,
  EmulatorSettings,
  EmulatorState,
  FaultSpec,
  PyrusEmulatorOptions,
  QuotaSnapshot,
  ReceivedComment,
  SendDeliveryRequest,
} from './emulator.types';
import { FaultInjector } from './fault-injector.service';
import { COMPANY_QUOTA, QuotaMeter } from './quota-meter.service';
import { filterRegister, indexableFilter } from './register-filter';
import { loadSeedDir } from './seed-loader';
import { clone, TaskStore, waitingOn } from './task-store.service';
import { TokenRegistry } from './token-registry.service';
import { WebhookSender } from './webhook-sender.service';
import { WakeableSleeps } from './wakeable-sleeps';

type Json = Record<string, unknown>;

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const COMMENT_KEYS = [
  'text',
  'formatted_text',
  'approval_choice',
  'field_updates',
  'action',
  'approvals_added',
  'approvals_removed',
  'approvals_rerequested',
  'subject',
  'attachments',
];
const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/**
 * A local Pyrus: POST /auth, the /v4 API a bot uses (tasks, comments, forms, register, catalogs, inbox), the quota
 * with its headers, expiring tokens, injectable faults, and a webhook sender with Pyrus's signature and retries.
 * Everything it received can be read back (`calls`, `comments`, `deliveries`, `quota()`, `state()`).
 */
export class PyrusEmulator {
  readonly store = new TaskStore();
  readonly calls: CallLogEntry[] = [];
  readonly comments: ReceivedComment[] = [];
  readonly faults: FaultInjector;
  readonly tokens: TokenRegistry;
  readonly quotaMeter: QuotaMeter;
  private readonly quotaScope: 'account' | 'company';
  readonly sender: WebhookSender;
  autoDeliver: boolean;
  botToBotWebhooks: boolean;
  applyWebhookAnswers: boolean;
  private readonly bots = new Map<string, EmulatorBot>();
  private server?: Server;
  private baseUrl = '';
  private seq = 0;
  private nextUserId = 900_001;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleeps = new WakeableSleeps();
  private readonly logLine: (line: string) => void;

  constructor(private readonly options: PyrusEmulatorOptions = {}) {
    const log = options.log;
    this.logLine = typeof log === 'function' ? log : log ? (line) => console.log(`[pyrus-emulator] ${line}`) : () => undefined;
    this.faults = new FaultInjector(options.random);
    this.tokens = new TokenRegistry(options.tokenTtlMs ?? 24 * 3600 * 1000, options.maxTokensPerBot ?? 0);
    this.quotaMeter = new QuotaMeter(options.quotaLimit ?? 5000, options.quotaWindowMs ?? 600_000);
    this.quotaScope = options.quotaScope ?? 'account';
    this.autoDeliver = options.autoDeliver ?? true;
    this.botToBotWebhooks = options.botToBotWebhooks ?? true;
    this.applyWebhookAnswers = options.applyWebhookAnswers ?? true;
    this.sender = new WebhookSender({
      timeScale: options.timeScale ?? 1,
      log: this.logLine,
      onDelivered: (delivery, body) => this.applyWebhookAnswer(delivery, body),
    });
    if (options.seedDir) {
      const seed = loadSeedDir(options.seedDir);
      seed.bots.forEach((b) => this.addBot(b));
      seed.forms.forEach((f) => this.addForm(f));
      seed.catalogs.forEach((c) => this.addCatalog(c));
      seed.tasks.forEach((t) => this.addTask(t));
    }
    (options.bots ?? []).forEach((b) => this.addBot(b));
    (options.forms ?? []).forEach((f) => this.addForm(f));
    (options.catalogs ?? []).forEach((c) => this.addCatalog(c));
    (options.tasks ?? []).forEach((t) => this.addTask(t));
  }

  // ---------------------------------------------------------------- lifecycle

  /** Listens (default 127.0.0.1 on an ephemeral port) and resolves with the base URL, e.g. http://127.0.0.1:40123. */
  async start(port = this.options.port ?? 0, host = this.options.host ?? '127.0.0.1'): Promise<string> {
    if (this.server) return this.baseUrl;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.logLine(`internal error: ${err.stack ?? err.message}`);
        if (!res.headersSent) this.writeJson(res, 500, { error: 'Emulator error', error_code: 'server_error' });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.baseUrl = `http://${shownHost}:${address.port}`;
    this.logLine(`listening on ${this.baseUrl}`);
    return this.baseUrl;
  }

  /** Stops the server, hung connections and the webhook sender's pending retries. */
  async stop(): Promise<void> {
    this.sender.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sleeps.wakeAll();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Base URL (http://127.0.0.1:PORT) once started. */
  get url(): string {
    return this.baseUrl;
  }

  /** What POST /auth returns as api_url (ends with a slash). */
  get apiUrl(): string {
    return `${this.baseUrl}/v4/`;
  }

  get authUrl(): string {
    return `${this.baseUrl}/auth`;
  }

  // ---------------------------------------------------------------- seeding

  /** Adds a bot or updates one of the same name (e.g. to point its webhook at a test server). */
  addBot(input: EmulatorBotInput): EmulatorBot {
    const existing = this.bots.get(input.name);
    const securityKey = input.securityKey ?? input.securityKeys?.[0] ?? existing?.securityKey;
    if (!input.name || (!input.login && !existing)) throw new Error('A bot needs "name" and "login"');
    if (!securityKey) throw new Error(`Bot "${input.name}" needs "securityKey"`);
    const userId = input.userId ?? existing?.userId ?? this.nextUserId++;
    const login = input.login ?? existing!.login;
    const settings =
      input.settings === undefined
        ? (existing?.settings ?? '')
        : typeof input.settings === 'string'
          ? input.settings
          : JSON.stringify(input.settings);
    const type = input.type ?? existing?.type ?? 'bot';
    if (type !== 'bot' && type !== 'user') throw new Error(`Account "${input.name}": "type" is "bot" or "user"`);
    const bot: EmulatorBot = {
      name: input.name,
      login,
      securityKey,
      userId,
      webhookUrl: input.webhookUrl ?? existing?.webhookUrl,
      settings,
      type,
      unmetered: input.unmetered ?? existing?.unmetered ?? false,
      person: { id: userId, first_name: input.firstName ?? input.name, last_name: '', email: login, type },
    };
    this.bots.set(bot.name, bot);
    return { ...bot };
  }

  getBot(name: string): EmulatorBot {
    const bot = this.bots.get(name);
    if (!bot) throw new Error(`Unknown bot "${name}"`);
    return { ...bot };
  }

  listBots(): EmulatorBot[] {
    return [...this.bots.values()].map((b) => ({ ...b }));
  }

  /** Adds or replaces a task (bare or `{task}`). */
  addTask(task: PyrusTask | { task: PyrusTask }): PyrusTask {
    return this.store.putTask(task);
  }

  addForm(form: Record<string, unknown>): void {
    this.store.putForm(form);
  }

  addCatalog(catalog: Record<string, unknown>): void {
    this.store.putCatalog(catalog);
  }

  /** A copy of the stored task with its comments, or undefined. */
  getTask(id: number): PyrusTask | undefined {
    const task = this.store.peekTask(id);
    return task ? clone(task) : undefined;
  }

  // ---------------------------------------------------------------- tokens, quota, faults

  /** A valid token for the bot, as POST /auth would give (it counts towards maxTokensPerBot). */
  issueToken(botName: string): string {
    this.getBot(botName);
    return this.tokens.issue(botName);
  }

  /** Makes the tokens of one bot (or all) expired now. */
  expireTokens(botName?: string): void {
    this.tokens.expire(botName);
  }

  setQuota(quota: { limit?: number; windowMs?: number }): void {
    if (quota.limit !== undefined) this.quotaMeter.limit = quota.limit;
    if (quota.windowMs !== undefined) this.quotaMeter.windowMs = quota.windowMs;
  }

  resetQuota(botName?: string): void {
    this.quotaMeter.reset(botName);
  }

  quota(botName: string): QuotaSnapshot {
    return this.quotaMeter.snapshot(botName);
  }

  quotas(): QuotaSnapshot[] {
    const names = new Set([...this.bots.keys(), ...this.quotaMeter.bots()]);
    return [...names].map((n) => this.quotaMeter.snapshot(n));
  }

  addFault(spec: FaultSpec): ActiveFault {
    return this.faults.add(spec);
  }

  removeFault(id: string): boolean {
    return this.faults.remove(id);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  set timeScale(scale: number) {
    this.sender.timeScale = scale;
  }

  get timeScale(): number {
    return this.sender.timeScale;
  }

  /** The switches a test or an operator may flip on a running emulator. */
  settings(): EmulatorSettings {
    return {
      autoDeliver: this.autoDeliver,
      botToBotWebhooks: this.botToBotWebhooks,
      applyWebhookAnswers: this.applyWebhookAnswers,
      timeScale: this.timeScale,
    };
  }

  /** Changes the given switches (others stay) and returns them all. */
  changeSettings(changes: Partial<EmulatorSettings>): EmulatorSettings {
    for (const key of ['autoDeliver', 'botToBotWebhooks', 'applyWebhookAnswers'] as const) {
      const value = changes[key];
      if (value === undefined) continue;
      if (typeof value !== 'boolean') throw new Error(`"${key}" must be true or false`);
      this[key] = value;
    }
    if (changes.timeScale !== undefined) {
      if (typeof changes.timeScale !== 'number' || !(changes.timeScale > 0)) throw new Error('"timeScale" must be a positive number');
      this.timeScale = changes.timeScale;
    }
    return this.settings();
  }

  /** Clears the read-back logs, the quota windows and the faults (tasks, bots and tokens stay). */
  reset(): void {
    this.calls.length = 0;
    this.comments.length = 0;
    this.sender.deliveries.length = 0;
    this.quotaMeter.reset();
    this.faults.clear();
  }

  // ---------------------------------------------------------------- webhooks

  get deliveries(): DeliveryRecord[] {
    return this.sender.deliveries;
  }

  /**
   * POSTs `{event, access_token, task_id, user_id, bot_settings, task}` to the bot's webhook URL, signed with its
   * key, with X-Pyrus-Retry 1/3 and retries at 61 s / 122 s (times the timeScale). Resolves when delivered or given up.
   */
  sendDelivery(request: SendDeliveryRequest): Promise<DeliveryRecord> {
    const bot = typeof request.bot === 'string' ? this.getBot(request.bot) : request.bot;
    const task = request.task ? clone(request.task) : request.taskId !== undefined ? this.store.getTask(request.taskId) : undefined;
    if (!task) throw new Error('sendDelivery needs "taskId" or "task"');
    // A task sent as-is that the emulator does not know yet becomes known, so the bot can read and comment on it.
    if (request.task && !this.store.peekTask(task.id)) this.store.putTask(task);
    const url = request.url ?? bot.webhookUrl;
    if (!url) throw new Error(`Bot "${bot.name}" has no webhookUrl; pass "url"`);
    const event = request.event ?? 'comment';
    const taskId = request.taskId ?? task.id;
    const accessToken = request.accessToken ?? (this.bots.has(bot.name) ? this.tokens.issue(bot.name, false) : 'emulator-token');
    const payload = { event, access_token: accessToken, task_id: taskId, user_id: bot.userId, bot_settings: bot.settings, task };
    return this.sender.send({ bot, taskId, event, url, payload, body: request.body });
  }

  /** Resolves when every delivery under way (including automatic ones) has finished. */
  waitForDeliveries(): Promise<void> {
    return this.sender.idle();
  }

  // ---------------------------------------------------------------- read-back

  state(): EmulatorState {
    return {
      url: this.baseUrl,
      bots: this.listBots().map(({ name, login, userId, webhookUrl, type }) => ({ name, login, userId, webhookUrl, type })),
      calls: this.calls,
      comments: this.comments,
      quota: this.quotas(),
      deliveries: this.deliveries,
      faults: this.faults.list(),
      tasks: this.store.allTasks().map((t) => ({
        id: t.id,
        form_id: t.form_id,
        current_step: t.current_step,
        closed: Boolean(t.close_date),
        comments: t.comments?.length ?? 0,
      })),
      settings: this.settings(),
    };
  }

  /** Calls logged for a bot (including its POST /auth calls). */
  callsOf(botName: string): CallLogEntry[] {
    return this.calls.filter((c) => c.bot === botName);
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://emulator.local');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.replace(/\/+$/, '') || '/';
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      this.writeJson(res, 413, { error: 'Request body too large', error_code: 'limit_exceeded' });
      return;
    }
    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      const answer = await this.admin(method, path, raw, url.searchParams);
      this.writeJson(res, answer.status, answer.body);
      return;
    }

    const entry: CallLogEntry = {
      seq: ++this.seq,
      at: new Date(started).toISOString(),
      method,
      path,
      query: url.search,
      status: 0,
      durationMs: 0,
    };
    this.calls.push(entry);
    const maxCalls = this.options.maxCalls ?? 100_000;
    if (this.calls.length > maxCalls) this.calls.splice(0, this.calls.length - maxCalls);
    entry.bot = this.peekBot(req.headers.authorization);
    res.on('close', () => {
      entry.durationMs = Date.now() - started;
    });

    const before = this.faults.pick('before', method, path, entry.bot);
    if (before && (await this.applyFault(before, req, res, entry))) return;

    const answer = this.route(method, path, url.searchParams, raw, req.headers, entry);

    const after = this.faults.pick('after', method, path, entry.bot);
    if (after && (await this.applyFault(after, req, res, entry))) return;

    entry.status = answer.status;
    const body = answer.body as { error_code?: string } | undefined;
    if (answer.status >= 400 && body?.error_code) entry.errorCode = body.error_code;
    this.writeJson(res, answer.status, answer.body, answer.headers);
  }

  /** True when the fault answered (or swallowed) the request; false when the request goes on (slow). */
  private async applyFault(fault: ActiveFault, req: IncomingMessage, res: ServerResponse, entry: CallLogEntry): Promise<boolean> {
    entry.fault = fault.kind;
    this.logLine(`fault ${fault.id} (${fault.kind}) on ${entry.method} ${entry.path}`);
    switch (fault.kind) {
      case 'slow':
        await this.sleeps.sleep(fault.delayMs ?? 1000);
        return res.destroyed;
      case 'error':
      case 'burst': {
        const status = fault.status ?? 500;
        entry.status = status;
        entry.errorCode = 'server_error';
        this.writeJson(res, status, { error: 'Internal server error (injected).', error_code: 'server_error' });
        return true;
      }
      case 'html':
        entry.status = fault.status ?? 502;
        res.writeHead(entry.status, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(HTML_502) });
        res.end(HTML_502);
        return true;
      case 'timeout':
        entry.status = 0;
        if (fault.delayMs !== undefined) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            req.socket.destroy();
          }, fault.delayMs);
          this.timers.add(timer);
        }
        return true;
      case 'reset':
        entry.status = 0;
        req.socket.destroy();
        return true;
    }
  }

  private route(
    method: string,
    fullPath: string,
    query: URLSearchParams,
    raw: Buffer,
    headers: IncomingHttpHeaders,
    entry: CallLogEntry,
  ): EmulatorResponse {
    const path = fullPath.replace(/^\/v4(?=\/|$)/, '') || '/';
    if (path === '/auth') {
      if (method !== 'POST') return notFound();
      return guard(() => this.auth(raw, entry));
    }
    const routes: [string, RegExp, (m: RegExpExecArray, bot: EmulatorBot) => EmulatorResponse][] = [
      ['GET', /^\/tasks\/(\d+)$/, (m) => ({ status: 200, body: { task: this.store.getTask(Number(m[1])) } })],
      ['POST', /^\/tasks\/(\d+)\/comments$/, (m, bot) => this.comment(Number(m[1]), bot, raw)],
      ['GET', /^\/forms\/(\d+)$/, (m) => ({ status: 200, body: this.store.getForm(Number(m[1])) })],
      ['GET', /^\/forms\/(\d+)\/register$/, (m) => this.register(Number(m[1]), Object.fromEntries(query.entries()), entry)],
      [
        'POST',
        /^\/forms\/(\d+)\/register$/,
        (m) => this.register(Number(m[1]), { ...Object.fromEntries(query.entries()), ...parseJson(raw, true) }, entry),
      ],
      ['GET', /^\/catalogs$/, () => ({ status: 200, body: { catalogs: this.store.catalogHeaders() } })],
      ['GET', /^\/catalogs\/(\d+)$/, (m) => this.catalog(Number(m[1]), query)],
      ['POST', /^\/catalogs\/(\d+)$/, (m) => ({ status: 200, body: this.store.syncCatalog(Number(m[1]), parseJson(raw, false)) })],
      ['POST', /^\/catalogs\/(\d+)\/diff$/, (m) => ({ status: 200, body: this.store.diffCatalog(Number(m[1]), parseJson(raw, false)) })],
      ['GET', /^\/inbox$/, (_m, bot) => ({ status: 200, body: { tasks: this.store.inbox(bot.userId) } })],
      [
        'GET',
        /^\/profile$/,
        (_m, bot) => ({
          status: 200,
          body: { person_id: bot.userId, first_name: bot.person.first_name, last_name: bot.person.last_name, email: bot.login },
        }),
      ],
      [
        'GET',
        /^\/profile$/,
        (_m, bot) => ({ status: 200, body: { person_id: bot.userId, first_name: bot.person.first_name, last_name: '', email: bot.login } }),
      ],
    ];
    const hit = routes.map(([m, re, fn]) => ({ m, match: re.exec(path), fn })).filter((r) => r.match);
    if (hit.length === 0) return notFound();
    const route = hit.find((r) => r.m === method);
    if (!route) return { status: 405, body: { error: `Method ${method} not allowed`, error_code: 'method_not_allowed' } };

    let botName: string;
    try {
      botName = this.tokens.resolve(headers.authorization);
    } catch (err) {
      return errorResponse(err);
    }
    const bot = this.bots.get(botName);
    if (!bot) return errorResponse(new EmulatorHttpError(401, 'invalid_token', 'Неверный токен авторизации.'));
    entry.bot = bot.name;
    const quota = bot.unmetered
      ? { allowed: true, headers: {} }
      : this.quotaMeter.take(this.quotaScope === 'company' && bot.type === 'bot' ? COMPANY_QUOTA : bot.name);
    if (!quota.allowed) {
      return { status: 429, headers: quota.headers, body: { error: 'Too many requests.', error_code: 'too_many_requests' } };
    }
    const answer = guard(() => route.fn(route.match!, bot));
    return { ...answer, headers: { ...quota.headers, ...(answer.headers ?? {}) } };
  }

  private auth(raw: Buffer, entry: CallLogEntry): EmulatorResponse {
    const body = parseJson(raw, false);
    const login = String(body.login ?? '').toLowerCase();
    const bot = [...this.bots.values()].find((b) => b.login.toLowerCase() === login);
    if (bot) entry.bot = bot.name;
    if (!bot || body.security_key !== bot.securityKey) {
      return { status: 401, body: { error: 'Invalid login/secret_key.', error_code: 'invalid_credentials' } };
    }
    const token = this.tokens.issue(bot.name);
    return { status: 200, body: { access_token: token, api_url: this.apiUrl, files_url: `${this.baseUrl}/files/` } };
  }

  private comment(taskId: number, bot: EmulatorBot, raw: Buffer): EmulatorResponse {
    const request = parseJson(raw, false);
    const outcome = this.store.addComment(taskId, bot, request, (ref) => this.person(ref));
    this.comments.push({ taskId, bot: bot.name, at: new Date().toISOString(), request, comment: outcome.comment });
    this.logLine(`comment ${String(outcome.comment.id)} on task ${taskId} by ${bot.name}`);
    if (outcome.movedToStep !== undefined) this.deliverToStep(outcome.task, outcome.movedToStep, bot);
    return { status: 200, body: { task: outcome.task } };
  }

  private register(formId: number, query: Json, entry: CallLogEntry): EmulatorResponse {
    entry.registerParams = Object.keys(query).sort();
    const tasks = this.store.tasksOfForm(formId, indexableFilter(query));
    const found = filterRegister(
      tasks,
      query,
      (task, id) => this.store.fieldValues(task, id),
      (task) => this.store.modifiedAt(task),
    );
    return { status: 200, body: { tasks: clone(found) } };
  }

  private catalog(id: number, query: URLSearchParams): EmulatorResponse {
    const includeDeleted = ['true', 'y', '1'].includes((query.get('include_deleted') ?? '').toLowerCase());
    return { status: 200, body: this.store.getCatalog(id, includeDeleted) };
  }

  /**
   * Sends a delivery to each bot with a webhook that the step now waits on. `mover` is the account whose comment moved
   * the task there; when it is a bot and botToBotWebhooks is off, nobody is called.
   */
  private deliverToStep(task: PyrusTask, step: number, mover: EmulatorBot): void {
    if (!this.autoDeliver) return;
    if (mover.type === 'bot' && !this.botToBotWebhooks) {
      this.logLine(`task ${task.id} reached step ${step} by ${mover.name}'s comment: no webhooks (botToBotWebhooks off)`);
      return;
    }
    for (const person of waitingOn(task, step)) {
      const bot = [...this.bots.values()].find((b) => b.userId === person.id && b.webhookUrl);
      if (!bot) continue;
      this.logLine(`task ${task.id} reached step ${step}: delivering to ${bot.name}`);
      this.sendDelivery({ bot: bot.name, taskId: task.id }).catch((err: Error) => this.logLine(`delivery failed: ${err.message}`));
    }
  }

  /** A 2xx webhook answer with a comment body is the bot's comment on the task, as in Pyrus. */
  private applyWebhookAnswer(delivery: DeliveryRecord, body: string): void {
    if (!this.applyWebhookAnswers || body.trim() === '') return;
    let request: unknown;
    try {
      request = JSON.parse(body);
    } catch {
      return;
    }
    if (!request || typeof request !== 'object' || Array.isArray(request)) return;
    const req = request as Json;
    if (!COMMENT_KEYS.some((k) => req[k] !== undefined)) return;
    const bot = this.bots.get(delivery.bot);
    if (!bot || !this.store.peekTask(delivery.taskId)) return;
    const outcome = this.store.addComment(delivery.taskId, bot, req, (ref) => this.person(ref));
    this.comments.push({
      taskId: delivery.taskId,
      bot: bot.name,
      at: new Date().toISOString(),
      request: req,
      comment: outcome.comment,
      viaWebhookAnswer: true,
    });
    if (outcome.movedToStep !== undefined) this.deliverToStep(outcome.task, outcome.movedToStep, bot);
  }

  /** Resolves a person ref ({id} or {email}) to a bot, a person seen on a task, or a bare user. */
  private person(ref: Json): PyrusPerson {
    const id = typeof ref.id === 'number' ? ref.id : undefined;
    const email = typeof ref.email === 'string' ? ref.email.toLowerCase() : undefined;
    const bot = [...this.bots.values()].find((b) => b.userId === id || (email && b.login.toLowerCase() === email));
    if (bot) return clone(bot.person);
    for (const task of this.store.allTasks()) {
      const people = [task.author, task.responsible, ...(task.approvals ?? []).flat().map((a) => a.person)];
      const found = people.find((p) => p && ((id !== undefined && p.id === id) || (email && p.email?.toLowerCase() === email)));
      if (found) return clone(found);
    }
    if (id === undefined) throw new EmulatorHttpError(400, 'invalid_person_id', 'Unknown person.');
    return { id, type: 'user' };
  }

  private peekBot(authorization: string | undefined): string | undefined {
    try {
      return this.tokens.resolve(authorization);
    } catch {
      return undefined;
    }
  }

  private async admin(method: string, path: string, raw: Buffer, query: URLSearchParams): Promise<EmulatorResponse> {
    return guardAsync(async () => {
      const sub = path.slice('/_emulator'.length) || '/';
      if (method === 'GET' && (sub === '/state' || sub === '/')) return { status: 200, body: this.state() };
      if (sub === '/faults') {
        if (method === 'GET') return { status: 200, body: { faults: this.faults.list() } };
        if (method === 'DELETE') {
          this.clearFaults();
          return { status: 200, body: { faults: [] } };
        }
        if (method === 'POST') {
          const doc = parseAny(raw);
          const specs = (Array.isArray(doc) ? doc : [doc]) as FaultSpec[];
          try {
            return { status: 201, body: { faults: specs.map((s) => this.addFault(s)) } };
          } catch (err) {
            throw new EmulatorHttpError(400, 'validation_error', (err as Error).message);
          }
        }
      }
      const faultId = /^\/faults\/([\w-]+)$/.exec(sub);
      if (faultId && method === 'DELETE') {
        return this.removeFault(faultId[1]) ? { status: 200, body: { removed: faultId[1] } } : notFound();
      }
      if (sub === '/reset' && method === 'POST') {
        this.reset();
        return { status: 200, body: { reset: true } };
      }
      if (sub === '/quota' && method === 'POST') {
        const body = parseJson(raw, true);
        this.setQuota({ limit: body.limit as number | undefined, windowMs: body.windowMs as number | undefined });
        if (body.reset !== false) this.resetQuota(body.bot as string | undefined);
        return { status: 200, body: { quota: this.quotas() } };
      }
      if (sub === '/settings' && method === 'GET') return { status: 200, body: { settings: this.settings() } };
      if (sub === '/settings' && method === 'POST') {
        const body = parseJson(raw, false) as Partial<EmulatorSettings>;
        try {
          return { status: 200, body: { settings: this.changeSettings(body) } };
        } catch (err) {
          throw new EmulatorHttpError(400, 'validation_error', (err as Error).message);
        }
      }
      if (sub === '/tokens/expire' && method === 'POST') {
        this.expireTokens(parseJson(raw, true).bot as string | undefined);
        return { status: 200, body: { expired: true } };
      }
      if (sub === '/bots' && method === 'POST') {
        const bot = this.addBot(parseJson(raw, false) as unknown as EmulatorBotInput);
        return { status: 200, body: { name: bot.name, userId: bot.userId, webhookUrl: bot.webhookUrl } };
      }
      if (sub === '/tasks' && method === 'POST') {
        return { status: 200, body: { task: this.addTask(parseJson(raw, false) as unknown as PyrusTask) } };
      }
      const taskId = /^\/tasks\/(\d+)$/.exec(sub);
      if (taskId && method === 'GET') return { status: 200, body: { task: this.store.getTask(Number(taskId[1])) } };
      if (sub === '/deliveries' && method === 'GET') return { status: 200, body: { deliveries: this.deliveries } };
      if (sub === '/deliveries' && method === 'POST') {
        const body = parseJson(raw, false);
        const wait = body.wait === true || query.get('wait') === '1';
        let promise: Promise<DeliveryRecord>;
        try {
          promise = this.sendDelivery(body as unknown as SendDeliveryRequest);
        } catch (err) {
          throw new EmulatorHttpError(400, 'validation_error', (err as Error).message);
        }
        if (wait) return { status: 200, body: { delivery: await promise } };
        promise.catch(() => undefined);
        return { status: 202, body: { delivery: this.deliveries[this.deliveries.length - 1] } };
      }
      return notFound();
    });
  }

  private writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed || res.headersSent) return;
    const text = JSON.stringify(body ?? {});
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('too large'));
        req.removeAllListeners('data');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseAny(raw: Buffer): unknown {
  if (raw.length === 0) throw new EmulatorHttpError(400, 'empty_body', 'Request body is empty.');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new EmulatorHttpError(400, 'invalid_json', 'Request body is not valid JSON.');
  }
}

function parseJson(raw: Buffer, allowEmpty: boolean): Json {
  if (raw.length === 0 && allowEmpty) return {};
  const doc = parseAny(raw);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new EmulatorHttpError(400, 'invalid_json', 'Request body must be a JSON object.');
  return doc as Json;
}

function notFound(): EmulatorResponse {
  return { status: 404, body: { error: 'Not found.', error_code: 'not_found' } };
}

function errorResponse(err: unknown): EmulatorResponse {
  if (err instanceof EmulatorHttpError) return { status: err.status, body: { error: err.message, error_code: err.errorCode } };
  throw err;
}

function guard(fn: () => EmulatorResponse): EmulatorResponse {
  try {
    return fn();
  } catch (err) {
    return errorResponse(err);
  }
}

async function guardAsync(fn: () => Promise<EmulatorResponse>): Promise<EmulatorResponse> {
  try {
    return await fn();
  } catch (err) {
    return errorResponse(err);
  }
}
