import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BotContext, BotDecision } from '../bot-handler';
import { budgetOf, describeBudget } from '../payments/budget';
import { DuplicateCheckingHandler } from '../payments/duplicate-checking.handler';
import { RegisterDuplicates } from '../payments/duplicates';
import { PaymentDraft } from '../payments/payment-record';
import { sendBack } from '../payments/send-back';
import { PaymentApprovalSettings } from './payment-approval.settings';

/**
 * A preset of the duplicate-check and budget-check bots for a route with one bot stage: both checks in one vote, in
 * one locked statement. It approves when there is no duplicate and the request is within budget (the payment row
 * becomes 'approved' and holds budget), else sends the request back saying why.
 */
@Injectable()
export class PaymentApprovalHandler extends DuplicateCheckingHandler<PaymentApprovalSettings> {
  readonly name = 'payment-approval';
  readonly settingsClass = PaymentApprovalSettings;
  protected readonly holdsBudget = true;

  constructor(register: RegisterDuplicates, @InjectDataSource() db: DataSource) {
    super(register, db);
  }

  async decide(context: BotContext<PaymentApprovalSettings>): Promise<BotDecision<PaymentDraft>> {
    const { task, botUserId, settings } = context;
    const limits = settings.budget;
    const checked = await this.checkInvoice(context, 'approved', limits && ((invoice) => budgetOf(limits, invoice)));
    if ('decision' in checked) return checked.decision;
    const { invoice, found, draft } = checked;
    const standing = limits && budgetOf(limits, invoice) ? describeBudget(limits, invoice, found.budget) : undefined;
    if (standing?.over) return sendBack(task, settings, { ...standing.over, draft, botUserId });
    const budgetNote = standing?.note ? ` ${standing.note}` : '';
    const text = (settings.texts?.approved ?? 'Approved: no duplicate payment found.{budget}').replace('{budget}', budgetNote);
    return { kind: 'comment', comment: { text, approval_choice: 'approved' }, reason: 'no duplicate, within budget', record: draft };
  }
}
