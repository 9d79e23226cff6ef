import { EntityManager } from 'typeorm';
import { PyrusTask } from '@app/pyrus';
import { RegisterCopySpec } from '../bot-handler';
import { Invoice, InvoiceSettings, readInvoice } from './invoice';

/** Rows written per statement: 20 000 register tasks are a few round trips, not 20 000. */
const BATCH = 1000;

/**
 * The local copy of a payment form's register (table `register_invoices`): each task's invoice as the duplicate check
 * compares it, normalised with the same rules as the payment history, read with the settings of the first bot
 * configured with the form. A task whose invoice fields are incomplete has no row (it cannot match anything).
 */
export function invoiceRegisterCopy(formId: number, settings: InvoiceSettings): RegisterCopySpec {
  return {
    formId,
    async store(em: EntityManager, tasks: PyrusTask[]): Promise<void> {
      for (let i = 0; i < tasks.length; i += BATCH) await storeBatch(em, formId, settings, tasks.slice(i, i + BATCH));
    },
    async keepOnly(em: EntityManager, taskIds: number[]): Promise<void> {
      await em.query('DELETE FROM register_invoices WHERE form_id = $1 AND NOT (task_id = ANY($2::bigint[]))', [formId, taskIds]);
    },
  };
}

async function storeBatch(em: EntityManager, formId: number, settings: InvoiceSettings, tasks: PyrusTask[]): Promise<void> {
  const rows: Array<{ task: PyrusTask; invoice: Invoice }> = [];
  const incomplete: number[] = [];
  for (const task of tasks) {
    const { invoice } = readInvoice(task, settings);
    if (invoice && comparable(invoice)) rows.push({ task, invoice });
    else incomplete.push(task.id);
  }
  if (incomplete.length)
    await em.query('DELETE FROM register_invoices WHERE form_id = $1 AND task_id = ANY($2::bigint[])', [formId, incomplete]);
  if (!rows.length) return;
  await em.query(
    `INSERT INTO register_invoices (form_id, task_id, supplier_key, invoice_number, invoice_number_norm, invoice_date, amount,
                                    currency, rejected, last_modified_date, synced_at)
     SELECT $1, r.* , now()
       FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::date[], $7::numeric[], $8::text[], $9::boolean[],
                   $10::timestamptz[]) AS r
     ON CONFLICT (form_id, task_id) DO UPDATE SET
       supplier_key = excluded.supplier_key, invoice_number = excluded.invoice_number,
       invoice_number_norm = excluded.invoice_number_norm, invoice_date = excluded.invoice_date, amount = excluded.amount,
       currency = excluded.currency, rejected = excluded.rejected, last_modified_date = excluded.last_modified_date,
       synced_at = excluded.synced_at`,
    [
      formId,
      rows.map((r) => r.task.id),
      rows.map((r) => r.invoice.supplierKey),
      rows.map((r) => r.invoice.invoiceNumber),
      rows.map((r) => r.invoice.invoiceNumberNorm),
      rows.map((r) => r.invoice.invoiceDate),
      rows.map((r) => r.invoice.amount),
      rows.map((r) => r.invoice.currency),
      rows.map((r) => wasRejected(r.task)),
      rows.map((r) => r.task.last_modified_date ?? null),
    ],
  );
}

/** A date the duplicate check can compare and an amount that is a number; else the task can match nothing. */
const comparable = (invoice: Invoice) => /^\d{4}-\d{2}-\d{2}$/.test(invoice.invoiceDate ?? '') && Number.isFinite(Number(invoice.amount));

/** Anyone's "rejected" on any step: such a request is no duplicate. */
export const wasRejected = (task: PyrusTask) => (task.approvals ?? []).some((step) => step.some((a) => a.approval_choice === 'rejected'));
