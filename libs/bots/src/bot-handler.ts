import { PaymentStatus } from '@app/database';
import { FormRegisterRequest, PyrusTask, TaskCommentRequest } from '@app/pyrus';
import type { PaymentHistory } from './payments/payment-history';

/** What a handler sees: plain data, no HTTP, queues or retries. */
export interface BotContext {
  bot: { name: string; login: string };
  event: string;
  task: PyrusTask;
  /** Pyrus's id of the bot user, when the webhook carried it. */
  botUserId?: number;
  /** The bot's `settings` from the bots file. */
  settings: Record<string, unknown>;
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
export interface BotHandler {
  /** The value of `handler` in the bots file. */
  readonly name: string;
  decide(context: BotContext): BotDecision | Promise<BotDecision>;
  /** Problems with a bot's `settings`, checked at boot (an empty list when they are fine). */
  validateSettings?(settings: Record<string, unknown>): string[];
}

export const BOT_HANDLERS = Symbol('BOT_HANDLERS');
