import type { ClassConstructor } from 'class-transformer';
import { PaymentStatus } from '@app/database';
import { FormRegisterRequest, PyrusTask, TaskCommentRequest } from '@app/pyrus';
import type { PaymentHistory } from './payments/payment-history';

/** What a handler sees: plain data, no HTTP, queues or retries. */
export interface BotContext<S extends object = object> {
  bot: { name: string; login: string };
  event: string;
  task: PyrusTask;
  /** Pyrus's id of the bot user, when the webhook carried it. */
  botUserId?: number;
  /** The bot's `settings` from the bots file, as an instance of the handler's settings class, validated at boot. */
  settings: S;
  /** The payment history, inside the decision's transaction. */
  payments: PaymentHistory;
  /** Searches the register of the task's form (as the bot); absent when the task has no form. */
  registerSearch?: RegisterSearch;
}

export type RegisterSearch = (request: FormRegisterRequest) => Promise<PyrusTask[]>;

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

/** One kind of bot. Register an implementation in BOT_HANDLERS (libs/bots/src/bots.module.ts). */
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
