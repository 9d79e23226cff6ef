import { Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { EmailNotifier, ErpClient, ErpError, NotificationOutcome, SmsNotifier } from '@app/integrations';
import { errorMessage, MetricsService } from '@app/observability';
import { FieldSelector, FieldUpdate, PyrusCaller, PyrusClient } from '@app/pyrus';
import { BotOf, FollowUp } from '../bot-handler';
import { botCredentials } from '../bot-registry.service';
import { PaymentApprovalSettings } from './payment-approval.settings';

/** The follow-ups of an approved payment; job ids are `<kind>:<payment id>`, so each is queued once per payment. */
export const CREATE_PAYMENT_ORDER_JOB = 'create-payment-order';
export const NOTIFY_VENDOR_JOB = 'notify-vendor';

interface PaymentRow {
  id: string;
  bot: string;
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
  erp_ordered_at: Date | null;
  erp_reported_at: Date | null;
  erp_delay_notified_at: Date | null;
}

type PaymentBot = BotOf<PaymentApprovalSettings>;

/**
 * What follows an approval that reached Pyrus: the payment order in the ERP (then a comment on the task), and the
 * vendor's notifications. Each step records that it happened, so a retried job never repeats a done step: the ERP
 * also gets the payment id as its Idempotency-Key. The Pyrus client is looked up on first use, not injected (see
 * FormRegisterSearch for the cycle that avoids).
 */
@Injectable()
export class PaymentFollowUps {
  private client?: PyrusClient;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly modules: ModuleRef,
    private readonly erp: ErpClient,
    private readonly email: EmailNotifier,
    private readonly sms: SmsNotifier,
    @InjectPinoLogger(PaymentFollowUps.name) private readonly logger: PinoLogger,
    // Absent in the one-off commands, which run no follow-up.
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  /** The follow-ups the bot's settings ask for, when the task's payment is approved. */
  async of({ config, settings }: PaymentBot, taskId: number): Promise<FollowUp[]> {
    if (!settings.erp?.enabled && !settings.notify) return [];
    const [payment]: Array<{ id: string }> = await this.db.query(
      `SELECT id FROM payments WHERE bot = $1 AND task_id = $2 AND status = 'approved'`,
      [config.name, taskId],
    );
    if (!payment) return [];
    const kinds = [...(settings.erp?.enabled ? [CREATE_PAYMENT_ORDER_JOB] : []), ...(settings.notify ? [NOTIFY_VENDOR_JOB] : [])];
    return kinds.map((kind) => ({ kind, key: payment.id, callLog: { paymentId: payment.id } }));
  }

  async run(bot: PaymentBot, followUp: FollowUp, { lastAttempt }: { lastAttempt: boolean }): Promise<void> {
    switch (followUp.kind) {
      case CREATE_PAYMENT_ORDER_JOB:
        return this.createPaymentOrder(bot, followUp.key, lastAttempt);
      case NOTIFY_VENDOR_JOB:
        return this.notifyVendor(bot, followUp.key);
      default:
        throw new Error(`The payment bot has no follow-up "${followUp.kind}"`);
    }
  }

  /** Creates the order (unless there is one), then tells the task (unless it was told). */
  private async createPaymentOrder(bot: PaymentBot, paymentId: string, lastAttempt: boolean): Promise<void> {
    let payment = await this.payment(paymentId);
    if (!payment || payment.erp_reported_at) return;
    const erp = bot.settings.erp ?? { enabled: true };
    if (!payment.erp_document_id) {
      try {
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
        await this.db.query('UPDATE payments SET erp_document_id = $2, erp_ordered_at = now(), updated_at = now() WHERE id = $1', [
          paymentId,
          order.documentId,
        ]);
        this.logger.info({ paymentId, documentId: order.documentId, duplicate: order.duplicate }, 'Payment order created in the ERP');
      } catch (err) {
        const retryable = !(err instanceof ErpError) || err.retryable;
        if ((lastAttempt || !retryable) && !payment.erp_delay_notified_at) await this.reportDelay(payment, bot, erp.delayedText);
        throw err;
      }
      payment = (await this.payment(paymentId))!;
    }
    const text = (erp.createdText ?? 'Payment order {documentId} created in the ERP.').replace('{documentId}', payment.erp_document_id!);
    const fieldUpdates: FieldUpdate[] | undefined = erp.documentField ? [updateOf(erp.documentField, payment.erp_document_id)] : undefined;
    await this.pyrus().createComment(
      this.callerFor(bot, payment),
      Number(payment.task_id),
      { text, ...(fieldUpdates ? { field_updates: fieldUpdates } : {}) },
      { since: payment.erp_ordered_at! },
    );
    await this.db.query('UPDATE payments SET erp_reported_at = now(), updated_at = now() WHERE id = $1', [paymentId]);
  }

  /** Sends each configured notification once; a failed one that may succeed later fails the job for a retry. */
  private async notifyVendor(bot: PaymentBot, paymentId: string): Promise<void> {
    const payment = await this.payment(paymentId);
    if (!payment) return;
    const notify = bot.settings.notify;
    if (!notify) return;
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

  /** One comment, however often the ERP fails: the order is late, not lost. */
  private async reportDelay(payment: PaymentRow, bot: PaymentBot, delayedText?: string): Promise<void> {
    const text = delayedText ?? 'The payment order is delayed: the ERP is not accepting it now. It will be created when the ERP is back.';
    try {
      await this.pyrus().createComment(this.callerFor(bot, payment), Number(payment.task_id), { text }, { since: new Date() });
      await this.db.query('UPDATE payments SET erp_delay_notified_at = now() WHERE id = $1', [payment.id]);
    } catch (err) {
      this.logger.warn({ paymentId: payment.id, err: errorMessage(err) }, 'Could not tell the task that the order is delayed');
    }
  }

  private async payment(id: string): Promise<PaymentRow | undefined> {
    const rows: PaymentRow[] = await this.db.query(
      `SELECT *, to_char(invoice_date, 'YYYY-MM-DD') AS invoice_date FROM payments WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  private pyrus(): PyrusClient {
    this.client ??= this.modules.get(PyrusClient, { strict: false });
    return this.client;
  }

  private callerFor(bot: PaymentBot, payment: PaymentRow): PyrusCaller {
    return {
      bot: botCredentials(bot.config),
      context: { bot: bot.config.name, taskId: Number(payment.task_id), paymentId: payment.id },
    };
  }
}

function updateOf(selector: FieldSelector, value: unknown): FieldUpdate {
  if (typeof selector === 'number') return { id: selector, value };
  if (typeof selector === 'string') return { code: selector, value };
  const { id, code, name } = selector as { id?: number; code?: string; name?: string };
  return code !== undefined ? { code, value } : id !== undefined ? { id, value } : { name, value };
}
