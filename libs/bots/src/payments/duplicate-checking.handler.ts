import { DataSource } from 'typeorm';
import { BotContext, BotDecision, BotOf, RegisterCopySpec } from '../bot-handler';
import { DEFAULT_DUPLICATE_WINDOW_DAYS, describeDuplicates, RegisterDuplicates } from './duplicates';
import { Invoice, paymentLockKeys, readInvoice } from './invoice';
import { CheckResult, PaymentCheck, PaymentHistory } from './payment-history';
import { PaymentCheckHandler } from './payment-check.handler';
import { PaymentDraft } from './payment-record';
import { invoiceRegisterCopy } from './register-copy';
import { CheckSettings, missingFieldsDecision, sendBack } from './send-back';

/** The settings of a bot that checks for duplicates: a check bot's, and the window of probable duplicates. */
export type DuplicateCheckingSettings = CheckSettings & { duplicateWindowDays?: number };

/**
 * The bots that check for duplicates (duplicate-check, and the payment-approval preset that adds the budget): the form
 * register they read, kept as a local copy when the settings name the form, and the check itself.
 */
export abstract class DuplicateCheckingHandler<S extends DuplicateCheckingSettings> extends PaymentCheckHandler<S> {
  constructor(
    private readonly register: RegisterDuplicates,
    db: DataSource,
  ) {
    super(db);
  }

  /** The form register its duplicate check reads: a local copy kept by the worker, when the settings name the form. */
  registerCopyOf({ settings }: BotOf<S>): RegisterCopySpec | undefined {
    return settings.formId === undefined ? undefined : invoiceRegisterCopy(settings.formId, settings);
  }

  /**
   * Reads the invoice, then looks for its duplicates in the register and, under the supplier's locks, the history;
   * `budgetOf`, when given, has the budget checked in the same statement. Either the decision is made already (a
   * comment naming the empty fields, or the request sent back with its duplicates listed), or the invoice passed and
   * `draft` is its row with `status`.
   */
  protected async checkInvoice(
    { task, botUserId, settings, em, caller }: BotContext<S>,
    status: PaymentDraft['status'],
    budgetOf?: (invoice: Invoice) => PaymentCheck['budget'],
  ): Promise<{ decision: BotDecision<PaymentDraft> } | { invoice: Invoice; found: CheckResult; draft: PaymentDraft }> {
    const { invoice, missing } = readInvoice(task, settings);
    if (!invoice) return { decision: missingFieldsDecision(settings.texts, missing) };
    const history = new PaymentHistory(em);
    const windowDays = settings.duplicateWindowDays ?? DEFAULT_DUPLICATE_WINDOW_DAYS;
    // Requests the history does not hold yet (before the bot, or on another bot's watch) are in the form register.
    const inRegister = await this.register.find(task, invoice, settings, { caller, history, em, windowDays });
    const budget = budgetOf?.(invoice);
    const found = await history.check({ ...invoice, lockKeys: paymentLockKeys(invoice), windowDays, taskId: task.id, budget });
    const draft: PaymentDraft = { formId: task.form_id, ...invoice, status };
    const duplicates = describeDuplicates(found, inRegister);
    if (duplicates) return { decision: sendBack(task, settings, { ...duplicates, draft, botUserId }) };
    return { invoice, found, draft };
  }
}
