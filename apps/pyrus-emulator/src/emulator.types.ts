import type { PyrusPerson, PyrusTask } from '@app/pyrus';

/** A bot account as the emulator knows it (seed file `bots.json` or `addBot`). */
export interface EmulatorBotInput {
  /** Short name used by the CLI and read-back (e.g. "payments"). */
  name: string;
  /** Pyrus login, bot@<guid>; POST /auth takes it with the security key. */
  login: string;
  /** The bot's Security Key: signs deliveries and authenticates. `securityKeys[0]` is accepted too (bots file shape). */
  securityKey?: string;
  securityKeys?: string[];
  /** Pyrus user id of the bot (the `user_id` of a delivery, the `person.id` in approvals). Assigned when absent. */
  userId?: number;
  /** Where deliveries go; without it the bot gets no automatic deliveries. */
  webhookUrl?: string;
  /** Raw text of the bot profile's Settings field, sent as `bot_settings`. An object is JSON-encoded. */
  settings?: string | Record<string, unknown>;
  firstName?: string;
  /**
   * 'bot' (the default) or 'user': an account that stands for a person who signs in to vote in tests. Its person has
   * this type, and its votes count as a person's for `botToBotWebhooks`.
   */
  type?: 'bot' | 'user';
  /**
   * True for an account the quota does not count: a benchmark's people, whose votes in Pyrus are clicks in the browser,
   * not API calls, so that only the bots' calls draw on the quota. Default false.
   */
  unmetered?: boolean;
}

export interface EmulatorBot {
  name: string;
  login: string;
  securityKey: string;
  userId: number;
  webhookUrl?: string;
  settings: string;
  type: 'bot' | 'user';
  unmetered: boolean;
  person: PyrusPerson;
}

export type FaultKind = 'error' | 'burst' | 'slow' | 'timeout' | 'html' | 'reset';

/**
 * An injected fault. It fires on requests that match `method` and `path` (a pattern where `*` matches any
 * run of characters, e.g. "/v4/tasks/*\/comments"), with probability `rate` (default 1), at most `count` times
 * (default unlimited). `phase: "after"` lets the request take effect first and then spoils the answer (an
 * "uncertain outcome": the comment is stored but the caller sees a 5xx, a hang or a reset).
 */
export interface FaultSpec {
  kind: FaultKind;
  method?: string;
  path?: string;
  bot?: string;
  rate?: number;
  count?: number;
  /** HTTP status for error/burst (default 500) and html (default 502). */
  status?: number;
  /** slow: delay before the normal answer. timeout: how long to hang before closing the socket (default: until the client gives up). */
  delayMs?: number;
  phase?: 'before' | 'after';
}

export interface ActiveFault extends FaultSpec {
  id: string;
  fired: number;
}

export interface CallLogEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  query: string;
  /** Bot name when the call carried a known token (or logged in to /auth as that bot). */
  bot?: string;
  /** HTTP status sent; 0 when no answer was sent (timeout, reset). */
  status: number;
  durationMs: number;
  fault?: FaultKind;
  errorCode?: string;
  /**
   * A register call's parameter names (query and body, values left out): a search by field (`fldN`) tells itself from
   * a read of the whole form (a register copy's sync), which the path alone does not.
   */
  registerParams?: string[];
}

export interface ReceivedComment {
  taskId: number;
  bot: string;
  /** When the emulator took it, to the millisecond (the comment's create_date has whole seconds, as Pyrus's). */
  at: string;
  /** The request body as the bot sent it. */
  request: Record<string, unknown>;
  /** The comment as stored on the task. */
  comment: Record<string, unknown>;
  /** True when it came from a webhook answer rather than POST /tasks/:id/comments. */
  viaWebhookAnswer?: boolean;
}

export interface QuotaSnapshot {
  bot: string;
  limit: number;
  windowMs: number;
  used: number;
  remaining: number;
  /** Milliseconds until the current window ends (0 when no window is open). */
  resetInMs: number;
  /** Calls answered 429 so far (all windows). */
  rejected: number;
  /** Calls counted so far (all windows). */
  total: number;
}

export interface DeliveryAttempt {
  attempt: number;
  /** "1/3", "2/3", "3/3" */
  retryHeader: string;
  /** Milliseconds since the first attempt started (real time, i.e. already scaled). */
  offsetMs: number;
  durationMs: number;
  status?: number;
  error?: string;
  responseBody?: string;
  ok: boolean;
}

export interface DeliveryRecord {
  id: number;
  bot: string;
  taskId: number;
  event: string;
  url: string;
  /** The exact body bytes sent, as UTF-8 text. */
  body: string;
  signature: string;
  startedAt: string;
  attempts: DeliveryAttempt[];
  outcome: 'pending' | 'delivered' | 'failed';
}

export interface SendDeliveryRequest {
  /** Bot name (or a bot object not registered with the emulator). */
  bot: string | EmulatorBot;
  taskId?: number;
  /** A task to send as-is (otherwise the stored task `taskId`). */
  task?: PyrusTask;
  event?: string;
  /** Overrides the bot's webhook URL. */
  url?: string;
  /** Overrides the access_token put in the body (default: a fresh token of the bot). */
  accessToken?: string;
  /**
   * The exact body to send (signed as it is), instead of the JSON the emulator would write: hostile payloads such as
   * JSON nested deeper than JSON.stringify goes. The task (`taskId`) must be known for the bot to comment on it.
   */
  body?: string;
}

export interface PyrusEmulatorOptions {
  /** Port for start() (default 0 = ephemeral); host default 127.0.0.1. */
  port?: number;
  host?: string;
  /** A directory with bots.json, tasks/, forms/, catalogs/ (see README). */
  seedDir?: string;
  bots?: EmulatorBotInput[];
  tasks?: PyrusTask[];
  forms?: Record<string, unknown>[];
  catalogs?: Record<string, unknown>[];
  /** Calls per window per bot account (default 5000). */
  quotaLimit?: number;
  /** Quota window in ms (default 600 000). */
  quotaWindowMs?: number;
  /**
   * 'account' (the default): each account has a quota of its own. 'company': every account of type 'bot' draws on one
   * window, read back as `quota(COMPANY_QUOTA)`, as a company's bots share its quota; accounts of type 'user' keep their
   * own (they stand in for people, whose clicks in Pyrus's app take no API quota).
   */
  quotaScope?: 'account' | 'company';
  /** Token lifetime in ms (default 24 h). */
  tokenTtlMs?: number;
  /** Issuing token N+1 for a bot silently revokes its oldest (0 = no limit, the default). */
  maxTokensPerBot?: number;
  /** Multiplies every webhook time (60 s timeout, 61 s / 122 s retries). Default 1. */
  timeScale?: number;
  /** Send a delivery when a comment moves a task to a step waiting on a bot with a webhook URL (default true). */
  autoDeliver?: boolean;
  /**
   * With autoDeliver, also send the delivery when a bot's comment (an account of type 'bot', or a bot's webhook answer)
   * moved the task (default true). False: only a person's vote brings the bots of the next step a webhook, as when
   * Pyrus does not call a bot after another bot's vote; the service then finds the task through its inbox sweep.
   */
  botToBotWebhooks?: boolean;
  /** Apply a 2xx webhook answer with a JSON comment body as a comment by the bot (default true). */
  applyWebhookAnswers?: boolean;
  /** Random source for fault rates (default Math.random). */
  random?: () => number;
  /** Keep at most this many entries in the calls log, dropping the oldest (default 100 000). */
  maxCalls?: number;
  /** Log lines (default: none). `true` logs to console. */
  log?: boolean | ((line: string) => void);
}

/** What `POST /_emulator/settings` changes on a running emulator (each optional) and `GET` shows. */
export interface EmulatorSettings {
  autoDeliver: boolean;
  botToBotWebhooks: boolean;
  applyWebhookAnswers: boolean;
  timeScale: number;
}

export interface EmulatorState {
  url: string;
  bots: { name: string; login: string; userId: number; webhookUrl?: string; type: 'bot' | 'user' }[];
  calls: CallLogEntry[];
  comments: ReceivedComment[];
  quota: QuotaSnapshot[];
  deliveries: DeliveryRecord[];
  faults: ActiveFault[];
  tasks: { id: number; form_id?: number; current_step?: number; closed: boolean; comments: number }[];
  settings: EmulatorSettings;
}

/** An answer the router computed, before faults and headers are applied. */
export interface EmulatorResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class EmulatorHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}
