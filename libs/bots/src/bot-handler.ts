import { TaskCommentRequest, PyrusTask } from '@app/pyrus';

/** What a handler sees: plain data, no HTTP, queues or retries. */
export interface BotContext {
  bot: { name: string; login: string };
  event: string;
  task: PyrusTask;
  /** Pyrus's id of the bot user, when the webhook carried it. */
  botUserId?: number;
  /** The bot's `settings` from the bots file. */
  settings: Record<string, unknown>;
}

export type BotDecision =
  | { kind: 'comment'; comment: TaskCommentRequest; reason: string }
  | { kind: 'skip'; reason: string };

/** One kind of bot. Register an implementation in BOT_HANDLERS (libs/bots/src/bots.module.ts). */
export interface BotHandler {
  /** The value of `handler` in the bots file. */
  readonly name: string;
  decide(context: BotContext): BotDecision | Promise<BotDecision>;
}

export const BOT_HANDLERS = Symbol('BOT_HANDLERS');
