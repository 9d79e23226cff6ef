import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BotContext, BotDecision } from '../bot-handler';
import { budgetOf, describeBudget } from '../payments/budget';
import { DEFAULT_DUPLICATE_WINDOW_DAYS } from '../payments/duplicates';
import { paymentLockKeys, readInvoice } from '../payments/invoice';
import { PaymentHistory } from '../payments/payment-history';
import { PaymentCheckHandler } from '../payments/payment-check.handler';
import { PaymentDraft } from '../payments/payment-record';
import { missingFieldsDecision, sendBack } from '../payments/send-back';
import { BudgetCheckSettings } from './budget-check.settings';

/**
 * Pyrus's budget-limits scenario on a stage of its own: the spending limit of the supplier or cost centre for the
 * invoice's period. Approves (the payment row becomes 'approved', which is what holds budget), or says by how much the
 * limit is exceeded and sends the request back to the people of an earlier stage. Deciders of one supplier or cost
 * centre take turns on an advisory lock, so two requests racing for the last of a budget cannot both pass.
 */
@Injectable()
export class BudgetCheckHandler extends PaymentCheckHandler<BudgetCheckSettings> {
  readonly name = 'budget-check';
  readonly settingsClass = BudgetCheckSettings;
  protected readonly holdsBudget = true;

  constructor(@InjectDataSource() db: DataSource) {
    super(db);
  }

  async decide({ task, botUserId, settings, em }: BotContext<BudgetCheckSettings>): Promise<BotDecision<PaymentDraft>> {
    const { invoice, missing } = readInvoice(task, settings);
    if (!invoice) return missingFieldsDecision(settings.texts, missing);
    const budget = budgetOf(settings.budget, invoice);
    if (!budget) return missingFieldsDecision(settings.texts, ['cost centre']);
    const { budget: standing } = await new PaymentHistory(em).check({
      ...invoice,
      lockKeys: paymentLockKeys(invoice),
      windowDays: DEFAULT_DUPLICATE_WINDOW_DAYS,
      taskId: task.id,
      budget,
    });
    const draft: PaymentDraft = { formId: task.form_id, ...invoice, status: 'approved' };
    const { where, note, over } = describeBudget(settings.budget, invoice, standing);
    if (over) return sendBack(task, settings, { ...over, draft, botUserId });
    const figures = note ?? `No budget limit is set for ${where} in ${invoice.currency}.`;
    const text = (settings.texts?.approved ?? 'Within budget. {budget}').replace('{budget}', figures);
    return {
      kind: 'comment',
      comment: { text, approval_choice: 'approved' },
      reason: standing ? 'within budget' : 'no budget limit set',
      record: draft,
    };
  }
}
