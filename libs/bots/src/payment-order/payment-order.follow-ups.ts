import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { EmailNotifier, ErpClient, NotificationOutcome, SmsNotifier } from '@app/integrations';
import { MetricsService } from '@app/observability';
import { BotOf, FollowUp, FollowUpResult } from '../bot-handler';
import { PaymentOrderSettings } from './payment-order.settings';

/** The payment order bot's follow-ups; job ids are `<kind>:<payment id>`, so each is queued once per payment. */
export const CREATE_PAYMENT_ORDER_JOB = 'create-payment-order';
export const NOTIFY_VENDOR_JOB = 'notify-vendor';

interface PaymentRow {
  id: string;
  task_id: string;
  supplier_key: string;
  supplier_name: string | null;
  invoice_number: string | null;
  invoice_date: string | null;
  amount: string;
  currency: string;
  cost_centre: string | null;
  vendor_email: string | null;
  vendor_phone: string | null;
  erp_document_id: string | null;
  erp_reported_at: Date | null;
}

type PaymentOrderBot = BotOf<PaymentOrderSettings>;

/** How far back the reconciliation looks for follow-ups not done: older ones are an operator's (`/admin/payments`). */
const OUTSTANDING_WINDOW = '7 days';

// The bot's delayed orders not made yet, and its approvals that reached Pyrus with the vendor's channels not tried
// (a send that failed for good has its row too). Both read through partial indexes (migration 1796750000000).
const OUTSTANDING = `
  SELECT id, task_id, 'order' AS work, false AS email_tried, false AS sms_tried, vendor_email, vendor_phone FROM payments
   WHERE bot = $1 AND erp_document_id IS NULL AND erp_delay_notified_at IS NOT NULL
     AND erp_delay_notified_at < $2 AND erp_delay_notified_at > $2::timestamptz - $3::interval
  UNION ALL
  SELECT p.id, p.task_id, 'notify',
         EXISTS (SELECT 1 FROM notifications n WHERE n.payment_id = p.id AND n.channel = 'email'),
         EXISTS (SELECT 1 FROM notifications n WHERE n.payment_id = p.id AND n.channel = 'sms'),
         p.vendor_email, p.vendor_phone FROM payments p
   WHERE p.bot = $1 AND p.erp_reported_at IS NOT NULL
     AND p.erp_reported_at < $2 AND p.erp_reported_at > $2::timestamptz - $3::interval`;

/**
 * A follow-up of the payment. The order is patient: the task's vote waits for it, so it keeps being tried through an ERP
 * outage (FOLLOWUP_PATIENCE_MS); the vendor's notification has the queue's retries.
 */
function followUpOf(kind: string, paymentId: string): FollowUp {
  return { kind, key: paymentId, callLog: { paymentId }, ...(kind === CREATE_PAYMENT_ORDER_JOB ? { patient: true } : {}) };
}

/**
 * What follows a payment order decision that reached Pyrus. Without a document id (the ERP did not take the order, and
 * the task was told it is delayed): `create-payment-order` retries the order, patiently, and, once it
 * exists, asks for the task to be decided again, so the approval with the document number takes the normal delivery
 * path and its claim. With one (the approval went out): `notify-vendor` tells the vendor. Each step records that it
 * happened (`erp_document_id`, `notifications`), so a retried job repeats none, and the ERP gets the payment id as
 * its Idempotency-Key.
 */
@Injectable()
export class PaymentOrderFollowUps {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly erp: ErpClient,
    private readonly email: EmailNotifier,
    private readonly sms: SmsNotifier,
    @InjectPinoLogger(PaymentOrderFollowUps.name) private readonly logger: PinoLogger,
    // Absent in the one-off commands, which run no follow-up.
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  /** Asked once the bot's decision reached Pyrus. */
  async of({ settings }: PaymentOrderBot, taskId: number): Promise<FollowUp[]> {
    const [payment] = await this.db.query<
      Array<{ id: string; erp_document_id: string | null; erp_delay_notified_at: Date | null } | undefined>
    >('SELECT id, erp_document_id, erp_delay_notified_at FROM payments WHERE task_id = $1', [taskId]);
    if (!payment) return [];
    // The task was told the order is delayed: the order is the follow-up's to make. (A comment naming missing fields
    // asks for nothing: the order waits for the fields.)
    if (!payment.erp_document_id) return payment.erp_delay_notified_at ? [followUpOf(CREATE_PAYMENT_ORDER_JOB, payment.id)] : [];
    // The decision that reached Pyrus with a document id is the approval that gave it.
    await this.db.query('UPDATE payments SET erp_reported_at = now(), updated_at = now() WHERE id = $1 AND erp_reported_at IS NULL', [
      payment.id,
    ]);
    return settings.notify?.email || settings.notify?.sms ? [followUpOf(NOTIFY_VENDOR_JOB, payment.id)] : [];
  }

  /**
   * The follow-ups whose work is not done, of the last OUTSTANDING_WINDOW before `olderThan`: an order the task was told
   * is delayed and that does not exist, and vendor notifications of an approval that reached Pyrus whose channel was
   * never tried. The reconciliation queues again each whose job is gone.
   */
  async outstanding({ config, settings }: PaymentOrderBot, olderThan: Date): Promise<Array<{ taskId: number; followUp: FollowUp }>> {
    const rows = await this.db.query<
      Array<{
        id: string;
        task_id: string;
        work: 'order' | 'notify';
        email_tried: boolean;
        sms_tried: boolean;
        vendor_email: string | null;
        vendor_phone: string | null;
      }>
    >(OUTSTANDING, [config.name, olderThan, OUTSTANDING_WINDOW]);
    const notify = settings.notify;
    return rows
      .filter(
        (r) => r.work === 'order' || (notify?.email && r.vendor_email && !r.email_tried) || (notify?.sms && r.vendor_phone && !r.sms_tried),
      )
      .map((r) => ({
        taskId: Number(r.task_id),
        followUp: followUpOf(r.work === 'order' ? CREATE_PAYMENT_ORDER_JOB : NOTIFY_VENDOR_JOB, r.id),
      }));
  }

  async run(bot: PaymentOrderBot, followUp: FollowUp): Promise<FollowUpResult | void> {
    switch (followUp.kind) {
      case CREATE_PAYMENT_ORDER_JOB:
        return this.createPaymentOrder(bot, followUp.key);
      case NOTIFY_VENDOR_JOB:
        return this.notifyVendor(bot, followUp.key);
      default:
        throw new Error(`The payment order bot has no follow-up "${followUp.kind}"`);
    }
  }

  /**
   * Creates the order unless it exists, then asks for the task to be decided again (the approval with the document
   * number). An ERP error fails the attempt: a retryable one is retried for FOLLOWUP_PATIENCE_MS, a 4xx fails the job
   * for good at once (ErpError.retryable is false); the task was told once, by the decision, that the order is late.
   */
  private async createPaymentOrder(bot: PaymentOrderBot, paymentId: string): Promise<FollowUpResult | void> {
    const payment = await this.payment(paymentId);
    // The approval with the document number reached Pyrus already: nothing is left to do.
    if (!payment || payment.erp_reported_at) return;
    if (!payment.erp_document_id) {
      const order = await this.erp.createPaymentOrder(
        {
          paymentId,
          taskId: Number(payment.task_id),
          supplierKey: payment.supplier_key,
          supplierName: payment.supplier_name ?? '',
          invoiceNumber: payment.invoice_number ?? '',
          invoiceDate: payment.invoice_date ?? '',
          amount: payment.amount,
          currency: payment.currency,
          ...(payment.cost_centre ? { costCentre: payment.cost_centre } : {}),
        },
        { bot: bot.config.name },
      );
      // A decision that created it meanwhile wrote the same id (same Idempotency-Key): the first write stands.
      await this.db.query(
        'UPDATE payments SET erp_document_id = $2, erp_ordered_at = now(), updated_at = now() WHERE id = $1 AND erp_document_id IS NULL',
        [paymentId, order.documentId],
      );
      this.logger.info({ paymentId, documentId: order.documentId, duplicate: order.duplicate }, 'Payment order created in the ERP');
    }
    return { decideAgain: true };
  }

  /** Sends each configured notification once; a failed one that may succeed later fails the job for a retry. */
  private async notifyVendor(bot: PaymentOrderBot, paymentId: string): Promise<void> {
    const payment = await this.payment(paymentId);
    const notify = bot.settings.notify;
    if (!payment || !notify) return;
    const sent = new Set(
      (
        await this.db.query<Array<{ channel: string }>>(`SELECT channel FROM notifications WHERE payment_id = $1 AND status = 'sent'`, [
          paymentId,
        ])
      ).map((r) => r.channel),
    );
    const values = {
      supplierName: payment.supplier_name ?? '',
      invoiceNumber: payment.invoice_number ?? '',
      invoiceDate: payment.invoice_date ?? '',
      amount: payment.amount,
      currency: payment.currency,
      taskId: payment.task_id,
    };
    const outcomes: NotificationOutcome[] = [];
    if (notify.email && payment.vendor_email && !sent.has('email')) {
      outcomes.push(await this.email.send({ to: payment.vendor_email, subject: notify.email.subject, text: notify.email.text, values }));
    }
    if (notify.sms && payment.vendor_phone && !sent.has('sms')) {
      outcomes.push(await this.sms.send({ to: payment.vendor_phone, text: notify.sms.text, values }));
    }
    for (const o of outcomes) {
      this.metrics?.notifications.inc({ channel: o.channel, outcome: o.status });
      await this.db.query(
        'INSERT INTO notifications (payment_id, channel, recipient, status, error, provider_id) VALUES ($1, $2, $3, $4, $5, $6)',
        [paymentId, o.channel, o.to, o.status, o.error ?? null, o.providerId ?? null],
      );
    }
    const retry = outcomes.find((o) => o.status === 'failed' && o.retryable);
    if (retry) throw new Error(`${retry.channel} to ${retry.to} failed: ${retry.error}`);
  }

  private async payment(id: string): Promise<PaymentRow | undefined> {
    const rows: PaymentRow[] = await this.db.query(
      `SELECT *, to_char(invoice_date, 'YYYY-MM-DD') AS invoice_date FROM payments WHERE id = $1`,
      [id],
    );
    return rows[0];
  }
}
