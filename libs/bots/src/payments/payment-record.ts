import { EntityManager } from 'typeorm';
import { PaymentStatus, prepared } from '@app/database';

/** The payment row a decision records (inserted, or updated when another bot of the route or the same bot decides again). */
export interface PaymentDraft {
  formId?: number;
  supplierKey: string;
  supplierName?: string;
  invoiceNumber?: string;
  invoiceNumberNorm?: string;
  invoiceDate?: string;
  /** Decimal string, two places. */
  amount: string;
  currency: string;
  costCentre?: string;
  /** Where the follow-up notifications go. */
  vendorEmail?: string;
  vendorPhone?: string;
  /** 'approved' holds budget; 'pending' passed a check that holds none; 'rejected' failed one. */
  status: PaymentStatus;
}

// One payment row per invoice task, shared by the payment bots of a route: the first to decide inserts it, the others
// (and the same bot when the task comes back) update it. A check that passes without holding budget writes 'pending',
// which leaves an approval standing when the figures it was given for are unchanged (a request returned by a later
// stage and sent on as it was); changed figures drop it, so the budget is checked again. Run on every decision that
// has a payment, so prepared.
const PAYMENT_UPSERT =
  prepared(`INSERT INTO payments (bot, task_id, form_id, supplier_key, supplier_name, invoice_number, invoice_number_norm,
                         invoice_date, amount, currency, cost_centre, status, decision_reason, vendor_email, vendor_phone, decided_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now())
   ON CONFLICT (task_id) DO UPDATE SET
     bot = EXCLUDED.bot, form_id = EXCLUDED.form_id, supplier_key = EXCLUDED.supplier_key, supplier_name = EXCLUDED.supplier_name,
     invoice_number = EXCLUDED.invoice_number, invoice_number_norm = EXCLUDED.invoice_number_norm,
     invoice_date = EXCLUDED.invoice_date, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
     cost_centre = EXCLUDED.cost_centre,
     status = CASE WHEN EXCLUDED.status = 'pending' AND payments.status IN ('approved', 'paid')
                    AND payments.supplier_key = EXCLUDED.supplier_key AND payments.amount = EXCLUDED.amount
                    AND payments.currency = EXCLUDED.currency AND payments.invoice_date IS NOT DISTINCT FROM EXCLUDED.invoice_date
                    AND payments.cost_centre IS NOT DISTINCT FROM EXCLUDED.cost_centre
               THEN payments.status ELSE EXCLUDED.status END,
     decision_reason = EXCLUDED.decision_reason,
     vendor_email = EXCLUDED.vendor_email, vendor_phone = EXCLUDED.vendor_phone, decided_at = now(), updated_at = now()`);

/** Writes the decision's payment row in the decision's transaction (`em`). */
export async function recordPayment(em: EntityManager, bot: string, taskId: number, p: PaymentDraft, reason: string): Promise<void> {
  await em.query(PAYMENT_UPSERT, [
    bot,
    taskId,
    p.formId ?? null,
    p.supplierKey,
    p.supplierName ?? null,
    p.invoiceNumber ?? null,
    p.invoiceNumberNorm ?? null,
    p.invoiceDate ?? null,
    p.amount,
    p.currency,
    p.costCentre ?? null,
    p.status,
    reason,
    p.vendorEmail ?? null,
    p.vendorPhone ?? null,
  ]);
}

/**
 * An approval Pyrus never received must not hold budget: back to pending, decided again when the task returns. One
 * whose order is in the ERP already stays as it is.
 */
export async function returnApprovalToPending(em: EntityManager, bot: string, taskId: number, reason: string): Promise<void> {
  await em.query(
    `UPDATE payments SET status = 'pending', decision_reason = $3, updated_at = now()
     WHERE bot = $1 AND task_id = $2 AND status = 'approved' AND erp_document_id IS NULL`,
    [bot, taskId, `the decision did not reach Pyrus: ${reason}`],
  );
}
