import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BotContext, BotDecision, BotOf, RegisterCopySpec } from '../bot-handler';
import { DEFAULT_DUPLICATE_WINDOW_DAYS, describeDuplicates, RegisterDuplicates } from '../payments/duplicates';
import { paymentLockKeys, readInvoice } from '../payments/invoice';
import { PaymentHistory } from '../payments/payment-history';
import { PaymentCheckHandler } from '../payments/payment-check.handler';
import { invoiceRegisterCopy } from '../payments/register-copy';
import { PaymentDraft } from '../payments/payment-record';
import { missingFieldsDecision, sendBack } from '../payments/send-back';
import { DuplicateCheckSettings } from './duplicate-check.settings';

/**
 * Pyrus's first payment scenario on a stage of its own: is this invoice paid or requested already? Exact duplicates
 * (same supplier and invoice number) and probable ones (same supplier, amount and currency, invoice dates close) in the
 * payment history and the form register. Approves, or sends the request back listing each duplicate, its link and why
 * it matched. The task's payment row records the outcome ('pending' when it passes: no budget is held here).
 */
@Injectable()
export class DuplicateCheckHandler extends PaymentCheckHandler<DuplicateCheckSettings> {
  readonly name = 'duplicate-check';
  readonly settingsClass = DuplicateCheckSettings;
  protected readonly holdsBudget = false;

  constructor(
    private readonly register: RegisterDuplicates,
    @InjectDataSource() db: DataSource,
  ) {
    super(db);
  }

  /** The form register its duplicate check reads: a local copy kept by the worker, when the settings name the form. */
  registerCopyOf({ settings }: BotOf<DuplicateCheckSettings>): RegisterCopySpec | undefined {
    return settings.formId === undefined ? undefined : invoiceRegisterCopy(settings.formId, settings);
  }

  async decide({ task, botUserId, settings, em, caller }: BotContext<DuplicateCheckSettings>): Promise<BotDecision<PaymentDraft>> {
    const { invoice, missing } = readInvoice(task, settings);
    if (!invoice) return missingFieldsDecision(settings.texts, missing);
    const history = new PaymentHistory(em);
    const windowDays = settings.duplicateWindowDays ?? DEFAULT_DUPLICATE_WINDOW_DAYS;
    const inRegister = await this.register.find(task, invoice, settings, { caller, history, em, windowDays });
    const found = await history.check({ ...invoice, lockKeys: paymentLockKeys(invoice), windowDays, taskId: task.id });
    const draft: PaymentDraft = { formId: task.form_id, ...invoice, status: 'pending' };
    const duplicates = describeDuplicates(found, inRegister);
    if (duplicates) return sendBack(task, settings, { ...duplicates, draft, botUserId });
    const text = settings.texts?.approved ?? 'No duplicate payment found.';
    return { kind: 'comment', comment: { text, approval_choice: 'approved' }, reason: 'no duplicate', record: draft };
  }
}
