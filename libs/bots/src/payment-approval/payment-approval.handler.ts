import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BotContext, BotDecision, BotOf, RegisterCopySpec } from '../bot-handler';
import { budgetOf, describeBudget } from '../payments/budget';
import { DEFAULT_DUPLICATE_WINDOW_DAYS, describeDuplicates, RegisterDuplicates } from '../payments/duplicates';
import { paymentLockKeys, readInvoice } from '../payments/invoice';
import { PaymentHistory } from '../payments/payment-history';
import { PaymentCheckHandler } from '../payments/payment-check.handler';
import { invoiceRegisterCopy } from '../payments/register-copy';
import { PaymentDraft } from '../payments/payment-record';
import { missingFieldsDecision, sendBack } from '../payments/send-back';
import { PaymentApprovalSettings } from './payment-approval.settings';

/**
 * A preset of the duplicate-check and budget-check bots for a route with one bot stage: both checks in one vote, in
 * one locked statement. It approves when there is no duplicate and the request is within budget (the payment row
 * becomes 'approved' and holds budget), else sends the request back saying why.
 */
@Injectable()
export class PaymentApprovalHandler extends PaymentCheckHandler<PaymentApprovalSettings> {
  readonly name = 'payment-approval';
  readonly settingsClass = PaymentApprovalSettings;
  protected readonly holdsBudget = true;

  constructor(
    private readonly register: RegisterDuplicates,
    @InjectDataSource() db: DataSource,
  ) {
    super(db);
  }

  /** The form register its duplicate check reads: a local copy kept by the worker, when the settings name the form. */
  registerCopyOf({ settings }: BotOf<PaymentApprovalSettings>): RegisterCopySpec | undefined {
    return settings.formId === undefined ? undefined : invoiceRegisterCopy(settings.formId, settings);
  }

  async decide({ task, botUserId, settings, em, caller }: BotContext<PaymentApprovalSettings>): Promise<BotDecision<PaymentDraft>> {
    const { invoice, missing } = readInvoice(task, settings);
    if (!invoice) return missingFieldsDecision(settings.texts, missing);
    const history = new PaymentHistory(em);
    const windowDays = settings.duplicateWindowDays ?? DEFAULT_DUPLICATE_WINDOW_DAYS;
    // Requests the history does not hold yet (before the bot, or on another bot's watch) are in the form register.
    const inRegister = await this.register.find(task, invoice, settings, { caller, history, em, windowDays });
    const budget = settings.budget && budgetOf(settings.budget, invoice);
    const found = await history.check({ ...invoice, lockKeys: paymentLockKeys(invoice), windowDays, taskId: task.id, budget });
    const draft: PaymentDraft = { formId: task.form_id, ...invoice, status: 'approved' };
    const duplicates = describeDuplicates(found, inRegister);
    if (duplicates) return sendBack(task, settings, { ...duplicates, draft, botUserId });
    const standing = settings.budget && budget ? describeBudget(settings.budget, invoice, found.budget) : undefined;
    if (standing?.over) return sendBack(task, settings, { ...standing.over, draft, botUserId });
    const budgetNote = standing?.note ? ` ${standing.note}` : '';
    const text = (settings.texts?.approved ?? 'Approved: no duplicate payment found.{budget}').replace('{budget}', budgetNote);
    return { kind: 'comment', comment: { text, approval_choice: 'approved' }, reason: 'no duplicate, within budget', record: draft };
  }
}
