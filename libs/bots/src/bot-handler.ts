import type { ClassConstructor } from 'class-transformer';
import type { EntityManager } from 'typeorm';
import { BotConfig } from '@app/config';
import { PyrusCaller, PyrusTask, TaskCommentRequest } from '@app/pyrus';

/**
 * What every bot's handler sees of one delivery: the task and event, the bot's identity and typed settings, and the
 * decision's transaction. Whatever else a handler uses (a history, the form register, the ERP) it gets by injection
 * in its own module.
 */
export interface BotContext<S extends object = object> {
  bot: { name: string; login: string };
  event: string;
  task: PyrusTask;
  /** Pyrus's id of the bot user, when the webhook carried it. */
  botUserId?: number;
  /** The bot's `settings` from the bots file, as an instance of the handler's settings class, validated at boot. */
  settings: S;
  /** The decision's transaction: what a handler reads or locks here commits with the decision and its outbox row. */
  em: EntityManager;
  /** How to call Pyrus as this bot for this delivery (the webhook's token while there is one, else the bot's sign-in). */
  caller: PyrusCaller;
  /**
   * True when the decision is only shown (the admin API's dry-run replay) and `em` is rolled back: the handler must not
   * act outside `em` (an ERP call, a row written on its own connection), only say what it would decide.
   */
  dryRun?: boolean;
}

/**
 * A handler's decision. `record` is what the handler's own `recordDecision` writes with it (the payment bot's payment
 * row, say); the worker never reads it.
 */
export type BotDecision<R = unknown> =
  { kind: 'comment'; comment: TaskCommentRequest; reason: string; record?: R } | { kind: 'skip'; reason: string };

export type CommentDecision<R = unknown> = Extract<BotDecision<R>, { kind: 'comment' }>;

/** A configured bot as its handler sees it outside a delivery: its entry in the bots file and its typed settings. */
export interface BotOf<S extends object = object> {
  config: BotConfig;
  settings: S;
}

/**
 * Work a decision asks for once it reached Pyrus, run by the worker's follow-up queue with retries. The job id is
 * `${kind}:${key}`, so the same follow-up declared twice (a retried delivery) is queued once: the key names what the
 * work is about (a payment), and the handler's `runFollowUp` makes a repeated run of a done step a no-op.
 */
export interface FollowUp {
  /** The job's name in the queue (metrics and the call log group by it). */
  kind: string;
  key: string;
  data?: Record<string, unknown>;
  /** What the call log ties this follow-up's attempts to, beyond its bot and task. */
  callLog?: { paymentId?: string };
  /**
   * Keeps being retried while its error is retryable, for FOLLOWUP_PATIENCE_MS with a backoff capped at
   * FOLLOWUP_RETRY_MAX_DELAY_MS, instead of the queue's JOB_ATTEMPTS: for work a task waits on (a delayed ERP order)
   * that must outlast an outage. It still fails for good at once on an error that says `retryable: false`.
   */
  patient?: boolean;
}

/**
 * What a follow-up asks of the worker when it is done. `decideAgain`: the task is to be decided again through the
 * normal delivery path (a delivery stored and queued as if Pyrus had sent it), because what the follow-up did (an ERP
 * order created) lets the bot vote now; the vote is claimed like any decision, so a webhook meanwhile makes no second.
 */
export interface FollowUpResult {
  decideAgain?: boolean;
}

/**
 * A local copy of a form register that a handler's decisions read instead of searching Pyrus on every decision. The
 * worker keeps it (RegisterSync): it reads the register and hands the tasks to `store` in one transaction per pass.
 */
export interface RegisterCopySpec {
  formId: number;
  /** Writes what the copy keeps of these register tasks (as the register returns them, without comments). */
  store(em: EntityManager, tasks: PyrusTask[]): Promise<void>;
  /** After a full pass: removes the copy's rows of every task not among these (deleted in Pyrus, or moved away). */
  keepOnly(em: EntityManager, taskIds: number[]): Promise<void>;
}

/** One kind of bot: a folder under libs/bots/src with its module, whose line in BOT_MODULES (bots.module.ts) registers it. */
export interface BotHandler<S extends object = object, R = unknown> {
  /** The value of `handler` in the bots file. */
  readonly name: string;
  /**
   * The class a bot's `settings` are validated against at boot (class-validator decorators, nested classes with
   * @ValidateNested and @Type); the handler receives the instance.
   */
  readonly settingsClass: ClassConstructor<S>;
  decide(context: BotContext<S>): BotDecision<R> | Promise<BotDecision<R>>;
  /**
   * Writes the handler's own rows for a comment decision, in the decision's transaction: they commit with the outbox
   * row, or roll back with it when another delivery took the decision's claim.
   */
  recordDecision?(em: EntityManager, bot: BotOf<S>, taskId: number, decision: CommentDecision<R>): Promise<void>;
  /** The follow-ups a decision asks for, asked once the decision reached Pyrus (and again if that job is retried). */
  followUpsOf?(bot: BotOf<S>, taskId: number): Promise<FollowUp[]>;
  /**
   * Runs one follow-up; a throw fails the attempt and the queue retries it, unless the error says `retryable: false`
   * (then the job fails for good at once). `lastAttempt` is true when no retry is left, so the handler can tell the
   * task that the work is late.
   */
  runFollowUp?(bot: BotOf<S>, followUp: FollowUp, options: { lastAttempt: boolean }): Promise<FollowUpResult | void>;
  /**
   * The follow-ups whose work is not done yet, of decisions made before `olderThan` (and recently enough to still be
   * wanted): the worker's reconciliation queues again each whose job is no longer in Redis (lost with Redis's data),
   * under the same job id. One whose job failed for good is left failed, for an operator to see and retry.
   */
  outstandingFollowUps?(bot: BotOf<S>, olderThan: Date): Promise<Array<{ taskId: number; followUp: FollowUp }>>;
  /**
   * The form register this bot's decisions read from a local copy, if any. The worker keeps the copy: one worker at a
   * time, a full pass at its start, then every REGISTER_SYNC_INTERVAL_MS one read of the tasks modified since the last
   * pass, as the first bot configured with that form.
   */
  registerCopyOf?(bot: BotOf<S>): RegisterCopySpec | undefined;
  /** The decision recorded for this task will never reach Pyrus (a 4xx, or the retries spent). */
  onDecisionFailed?(bot: BotOf<S>, taskId: number, reason: string): Promise<void>;
}

export const BOT_HANDLERS = Symbol('BOT_HANDLERS');
