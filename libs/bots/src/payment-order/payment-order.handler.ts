import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource, EntityManager } from 'typeorm';
import { ErpClient, ErpError, PaymentOrder } from '@app/integrations';
import { PaymentStatus, prepared } from '@app/database';
import { FieldSelector, FieldUpdate, PyrusTask, TaskCommentRequest } from '@app/pyrus';
import { BotContext, BotDecision, BotHandler, BotOf, CommentDecision, FollowUp, FollowUpResult } from '../bot-handler';
import { Invoice, money, readInvoice } from '../payments/invoice';
import { PaymentDraft, recordPayment } from '../payments/payment-record';
import { personStepBeforeBotStage, returnTo } from '../payments/send-back';
import { PaymentOrderSettings } from './payment-order.settings';
import { PaymentOrderFollowUps } from './payment-order.follow-ups';

const DEFAULT_CREATED_TEXT = 'Payment order {documentId} created in the ERP.';
const DEFAULT_DELAYED_TEXT = 'The payment order is delayed: the ERP is not accepting it now. It will be created when the ERP is back.';
const DEFAULT_MISSING_FIELDS = 'Cannot create the payment order: {fields} missing. Fill them in and send the task again.';

/** What a decision writes in its transaction: the payment's status, and the order's document id or the delay told. */
export interface PaymentOrderRecord {
  paymentId: string;
  draft: PaymentDraft;
  documentId?: string;
  delayNotified?: boolean;
}

// The task's payment row, created when no other payment bot of the route made it; never changes a row that exists
// (its status may hold budget). Committed on its own, before the decision's transaction: its id is the ERP's
// Idempotency-Key, so it must outlive a decision that rolls back after the ERP took the order.
const ENSURE_PAYMENT = prepared(
  `INSERT INTO payments (bot, task_id, form_id, supplier_key, supplier_name, invoice_number, invoice_number_norm, invoice_date,
                         amount, currency, cost_centre, status, decision_reason, vendor_email, vendor_phone, decided_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', 'the payment order bot saw it first', $12, $13, now())
   ON CONFLICT (task_id) DO NOTHING`,
);
const LOCK_PAYMENT = prepared(
  `SELECT id, status, erp_document_id, erp_delay_notified_at, supplier_key, amount::text AS amount, currency,
          to_char(invoice_date, 'YYYY-MM-DD') AS invoice_date, cost_centre
   FROM payments WHERE task_id = $1 FOR UPDATE`,
);
/** What a dry run shows in place of the document id the ERP would give. */
const DRY_RUN_DOCUMENT_ID = '<document id from the ERP>';

interface PaymentState {
  id: string;
  status: PaymentStatus;
  erp_document_id: string | null;
  erp_delay_notified_at: Date | null;
  /** The figures an approval that holds budget was given for. */
  supplier_key: string;
  amount: string;
  currency: string;
  invoice_date: string | null;
  cost_centre: string | null;
}

/**
 * The payment order: placed after the people's approval, it creates the order in the ERP (the payment id as the
 * Idempotency-Key, so never two) and approves with one comment that gives the document number. While the ERP does
 * not take the order, it says once that the order is delayed and keeps its vote; a follow-up retries the order and,
 * once it exists, has the task decided again through the normal delivery path. After the approval reached Pyrus, the
 * vendor is notified (follow-up).
 */
@Injectable()
export class PaymentOrderHandler implements BotHandler<PaymentOrderSettings, PaymentOrderRecord> {
  readonly name = 'payment-order';
  readonly settingsClass = PaymentOrderSettings;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly erp: ErpClient,
    private readonly followUps: PaymentOrderFollowUps,
    @InjectPinoLogger(PaymentOrderHandler.name) private readonly logger: PinoLogger,
  ) {}

  async decide({ task, botUserId, settings, em, bot, dryRun }: BotContext<PaymentOrderSettings>): Promise<BotDecision<PaymentOrderRecord>> {
    const { invoice, missing } = readInvoice(task, settings);
    if (!invoice) {
      const text = (settings.texts?.missingFields ?? DEFAULT_MISSING_FIELDS).replace('{fields}', missing.join(', '));
      return { kind: 'comment', comment: { text }, reason: `missing fields: ${missing.join(', ')}` };
    }
    if (!dryRun) await this.ensurePayment(bot.name, task, invoice);
    // Locked until the decision commits: the follow-up that retries the order writes its document id after it.
    const [payment] = await em.query<Array<PaymentState | undefined>>(LOCK_PAYMENT, [task.id]);
    if (!payment) return this.approval(settings, DRY_RUN_DOCUMENT_ID, 'dry run: the payment row and the ERP order would be created now');
    // The people approved the payment; one already paid stays so.
    const draft: PaymentDraft = { formId: task.form_id, ...invoice, status: payment.status === 'paid' ? 'paid' : 'approved' };
    if (payment.erp_document_id) {
      return this.approval(settings, payment.erp_document_id, `payment order ${payment.erp_document_id} in the ERP`, {
        paymentId: payment.id,
        draft,
      });
    }
    // Budget was approved for other figures (a person changed the amount after the budget check): ordering these would
    // spend budget nobody checked. Back to the persons before that check, every stage from there asked again, so the
    // request passes the check anew.
    const changed = budgetFiguresChanged(payment, invoice);
    if (payment.status === 'approved' && changed.length) {
      const why = `The ${changed.join(', ')} changed after the budget was approved, so no payment order is made:`;
      return returnTo(personStepBeforeBotStage(task, botUserId), {
        why: `${why} the request goes through the budget check again.`,
        reason: `${changed.join(', ')} changed after the budget check`,
        record: { paymentId: payment.id, draft: { ...draft, status: 'pending' } },
        walkAgain: { task, botUserId },
      });
    }
    if (dryRun) return this.approval(settings, DRY_RUN_DOCUMENT_ID, 'dry run: the ERP order would be created now');
    let documentId: string;
    try {
      documentId = (await this.erp.createPaymentOrder(orderOf(payment.id, task.id, invoice), { bot: bot.name })).documentId;
    } catch (err) {
      if (!(err instanceof ErpError)) throw err;
      const ids = { bot: bot.name, taskId: task.id, paymentId: payment.id };
      this.logger.warn({ ...ids, code: err.code, err: err.message }, 'The ERP did not take the payment order');
      if (payment.erp_delay_notified_at) {
        return { kind: 'skip', reason: `the ERP order is still delayed (${err.code}); the task was told so before` };
      }
      return {
        kind: 'comment',
        comment: { text: settings.erp?.delayedText ?? DEFAULT_DELAYED_TEXT },
        reason: `ERP order delayed (${err.code}${err.retryable ? '' : ', not retryable'})`,
        record: { paymentId: payment.id, draft, delayNotified: true },
      };
    }
    return this.approval(settings, documentId, `payment order ${documentId} created in the ERP`, {
      paymentId: payment.id,
      draft,
      documentId,
    });
  }

  /** One comment: the document number (and the field that takes it) with the vote. */
  private approval(
    settings: PaymentOrderSettings,
    documentId: string,
    reason: string,
    record?: PaymentOrderRecord,
  ): BotDecision<PaymentOrderRecord> {
    const text = (settings.erp?.createdText ?? DEFAULT_CREATED_TEXT).replace('{documentId}', documentId);
    const documentField = settings.erp?.documentField;
    const comment: TaskCommentRequest = {
      text,
      ...(documentField !== undefined ? { field_updates: [updateOf(documentField, documentId)] } : {}),
      approval_choice: 'approved',
    };
    return { kind: 'comment', comment, reason, ...(record ? { record } : {}) };
  }

  /** The task's payment row, inserted (committed on its own, see ENSURE_PAYMENT) unless another bot made it. */
  private async ensurePayment(bot: string, task: PyrusTask, invoice: Invoice): Promise<void> {
    await this.db.query(ENSURE_PAYMENT, [
      bot,
      task.id,
      task.form_id ?? null,
      invoice.supplierKey,
      invoice.supplierName,
      invoice.invoiceNumber,
      invoice.invoiceNumberNorm,
      invoice.invoiceDate,
      invoice.amount,
      invoice.currency,
      invoice.costCentre ?? null,
      invoice.vendorEmail ?? null,
      invoice.vendorPhone ?? null,
    ]);
  }

  async recordDecision(em: EntityManager, bot: BotOf, taskId: number, decision: CommentDecision<PaymentOrderRecord>): Promise<void> {
    const record = decision.record;
    if (!record) return;
    await recordPayment(em, bot.config.name, taskId, record.draft, decision.reason);
    if (record.documentId) {
      await em.query(
        `UPDATE payments SET erp_document_id = $2, erp_ordered_at = now(), updated_at = now() WHERE id = $1 AND erp_document_id IS NULL`,
        [record.paymentId, record.documentId],
      );
    }
    if (record.delayNotified) {
      await em.query('UPDATE payments SET erp_delay_notified_at = now(), updated_at = now() WHERE id = $1', [record.paymentId]);
    }
  }

  followUpsOf(bot: BotOf<PaymentOrderSettings>, taskId: number): Promise<FollowUp[]> {
    return this.followUps.of(bot, taskId);
  }

  runFollowUp(bot: BotOf<PaymentOrderSettings>, followUp: FollowUp): Promise<FollowUpResult | void> {
    return this.followUps.run(bot, followUp);
  }

  outstandingFollowUps(bot: BotOf<PaymentOrderSettings>, olderThan: Date): Promise<Array<{ taskId: number; followUp: FollowUp }>> {
    return this.followUps.outstanding(bot, olderThan);
  }
}

function orderOf(paymentId: string, taskId: number, invoice: Invoice): PaymentOrder {
  return {
    paymentId,
    taskId,
    supplierKey: invoice.supplierKey,
    supplierName: invoice.supplierName,
    invoiceNumber: invoice.invoiceNumber,
    invoiceDate: invoice.invoiceDate,
    amount: invoice.amount,
    currency: invoice.currency,
    ...(invoice.costCentre ? { costCentre: invoice.costCentre } : {}),
  };
}

function updateOf(selector: FieldSelector, value: unknown): FieldUpdate {
  if (typeof selector === 'number') return { id: selector, value };
  if (typeof selector === 'string') return { code: selector, value };
  const { id, code, name } = selector as { id?: number; code?: string; name?: string };
  return code !== undefined ? { code, value } : id !== undefined ? { id, value } : { name, value };
}

/** Which of the figures a budget approval was given for differ from the invoice as it stands now. */
function budgetFiguresChanged(payment: PaymentState, invoice: Invoice): string[] {
  const differs: Array<[string, boolean]> = [
    ['supplier', payment.supplier_key !== invoice.supplierKey],
    [`amount (approved for ${money(payment.amount)}, now ${money(invoice.amount)})`, Number(payment.amount) !== Number(invoice.amount)],
    ['currency', payment.currency !== invoice.currency],
    ['invoice date', payment.invoice_date !== invoice.invoiceDate],
    ['cost centre', (payment.cost_centre ?? undefined) !== invoice.costCentre],
  ];
  return differs.filter(([, changed]) => changed).map(([name]) => name);
}
