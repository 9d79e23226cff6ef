import type { ClassConstructor } from 'class-transformer';
import { PaymentStatus } from '@app/database';
import type { EntityManager } from 'typeorm';
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
}

/** The payment row a decision records (inserted, or updated when the task comes back to the bot). */
export interface PaymentDraft {
  formId?: number;
  supplierKey: string;
  supplierName?: string;
  invoiceNumber?: string;
  invoiceNumberNorm?: string;
  invoiceDate?: string;
  /** Decimal string, two places. */
  amount: string;
  currency: string;
  costCentre?: string;
  /** Where the follow-up notifications go. */
  vendorEmail?: string;
  vendorPhone?: string;
  status: PaymentStatus;
}

export type BotDecision =
  { kind: 'comment'; comment: TaskCommentRequest; reason: string; payment?: PaymentDraft } | { kind: 'skip'; reason: string };

/** One kind of bot: a folder under libs/bots/src with its module, whose line in BOT_MODULES (bots.module.ts) registers it. */
export interface BotHandler<S extends object = object> {
  /** The value of `handler` in the bots file. */
  readonly name: string;
  /**
   * The class a bot's `settings` are validated against at boot (class-validator decorators, nested classes with
   * @ValidateNested and @Type); the handler receives the instance.
   */
  readonly settingsClass: ClassConstructor<S>;
  decide(context: BotContext<S>): BotDecision | Promise<BotDecision>;
}

export const BOT_HANDLERS = Symbol('BOT_HANDLERS');
