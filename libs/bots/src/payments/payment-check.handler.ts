import type { ClassConstructor } from 'class-transformer';
import { DataSource, EntityManager } from 'typeorm';
import { BotContext, BotDecision, BotHandler, BotOf, CommentDecision } from '../bot-handler';
import { PaymentDraft, recordPayment, returnApprovalToPending } from './payment-record';
import { CheckSettings } from './send-back';

/**
 * What the bots that check a payment request (duplicate-check, budget-check, the payment-approval preset) share: the
 * task's payment row written with the decision, and an approval Pyrus never took put back to pending, so it holds no
 * budget.
 */
export abstract class PaymentCheckHandler<S extends CheckSettings> implements BotHandler<S, PaymentDraft> {
  abstract readonly name: string;
  abstract readonly settingsClass: ClassConstructor<S>;

  constructor(private readonly db: DataSource) {}

  abstract decide(context: BotContext<S>): Promise<BotDecision<PaymentDraft>>;

  async recordDecision(em: EntityManager, bot: BotOf, taskId: number, decision: CommentDecision<PaymentDraft>): Promise<void> {
    if (decision.record) await recordPayment(em, bot.config.name, taskId, decision.record, decision.reason);
  }

  async onDecisionFailed(bot: BotOf, taskId: number, reason: string): Promise<void> {
    await returnApprovalToPending(this.db.manager, bot.config.name, taskId, reason);
  }
}
