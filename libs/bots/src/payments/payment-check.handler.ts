import type { ClassConstructor } from 'class-transformer';
import { DataSource, EntityManager } from 'typeorm';
import { BotContext, BotDecision, BotHandler, BotOf, CommentDecision } from '../bot-handler';
import { PaymentDraft, recordPayment, returnApprovalToPending } from './payment-record';
import { CheckSettings } from './send-back';

/**
 * What the bots that check a payment request (duplicate-check, budget-check, the payment-approval preset) share: the
 * task's payment row written with the decision, and, for a bot whose approval holds budget, an approval Pyrus never
 * took put back to pending, so it holds no budget. A bot that holds none leaves the row alone: the approval on it may be
 * another bot's that did reach Pyrus.
 */
export abstract class PaymentCheckHandler<S extends CheckSettings> implements BotHandler<S, PaymentDraft> {
  abstract readonly name: string;
  abstract readonly settingsClass: ClassConstructor<S>;
  /** Its approval makes the row 'approved', which counts against the budget. */
  protected abstract readonly holdsBudget: boolean;

  constructor(private readonly db: DataSource) {}

  abstract decide(context: BotContext<S>): Promise<BotDecision<PaymentDraft>>;

  async recordDecision(em: EntityManager, bot: BotOf, taskId: number, decision: CommentDecision<PaymentDraft>): Promise<void> {
    if (decision.record) await recordPayment(em, bot.config.name, taskId, decision.record, decision.reason);
  }

  async onDecisionFailed(bot: BotOf, taskId: number, reason: string): Promise<void> {
    if (!this.holdsBudget) return;
    await returnApprovalToPending(this.db.manager, bot.config.name, taskId, reason);
  }
}
