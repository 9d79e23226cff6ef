import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BotContext, BotDecision } from '../bot-handler';
import { DuplicateCheckingHandler } from '../payments/duplicate-checking.handler';
import { RegisterDuplicates } from '../payments/duplicates';
import { PaymentDraft } from '../payments/payment-record';
import { DuplicateCheckSettings } from './duplicate-check.settings';

/**
 * Pyrus's first payment scenario on a stage of its own: is this invoice paid or requested already? Exact duplicates
 * (same supplier and invoice number) and probable ones (same supplier, amount and currency, invoice dates close) in the
 * payment history and the form register. Approves, or sends the request back listing each duplicate, its link and why
 * it matched. The task's payment row records the outcome ('pending' when it passes: no budget is held here).
 */
@Injectable()
export class DuplicateCheckHandler extends DuplicateCheckingHandler<DuplicateCheckSettings> {
  readonly name = 'duplicate-check';
  readonly settingsClass = DuplicateCheckSettings;
  protected readonly holdsBudget = false;

  constructor(register: RegisterDuplicates, @InjectDataSource() db: DataSource) {
    super(register, db);
  }

  async decide(context: BotContext<DuplicateCheckSettings>): Promise<BotDecision<PaymentDraft>> {
    const checked = await this.checkInvoice(context, 'pending');
    if ('decision' in checked) return checked.decision;
    const text = context.settings.texts?.approved ?? 'No duplicate payment found.';
    return { kind: 'comment', comment: { text, approval_choice: 'approved' }, reason: 'no duplicate', record: checked.draft };
  }
}
