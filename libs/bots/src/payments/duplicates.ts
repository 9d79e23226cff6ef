import { Injectable } from '@nestjs/common';
import { findField, FormRegisterRequest, PyrusCaller, PyrusTask } from '@app/pyrus';
import { FormRegisterSearch } from './form-register-search';
import { Invoice, InvoiceSettings, money, readInvoice, readLabel, taskLink } from './invoice';
import { CheckResult, PastPayment, PaymentHistory } from './payment-history';

/** Probable duplicates: invoice dates at most this many days apart, unless the settings say otherwise. */
export const DEFAULT_DUPLICATE_WINDOW_DAYS = 30;

export type RegisterMatch = PastPayment & { exact: boolean };

/**
 * The duplicates the payment history does not know: requests in the form register (made before the bots, or on another
 * bot's watch). The history's own duplicates come from PaymentHistory.check, in the decision's locked statement.
 */
@Injectable()
export class RegisterDuplicates {
  constructor(private readonly register: FormRegisterSearch) {}

  /**
   * The supplier's requests in the form register that the history does not know, compared here in normalised form:
   * the register's own filters compare values as typed, so none of them can tell that `ООО "Луч"` is `ООО «Луч»`.
   * Two searches, whose results are compared locally, find them however they were typed:
   * - by the supplier: its tax id as digits (a number-like value compares as a number, so `7701000002` finds
   *   `7701000002`) or as typed, or else its name as typed: a same-invoice request from any date;
   * - by the amount and the invoice date within the window: numbers and dates, which no spelling changes, so this
   *   finds the probable duplicates, and the exact ones of the same invoice, whatever the supplier's spelling.
   * Rejected ones do not count.
   */
  async find(
    task: PyrusTask,
    invoice: Invoice,
    settings: InvoiceSettings,
    { caller, history, windowDays }: { caller: PyrusCaller; history: PaymentHistory; windowDays: number },
  ): Promise<RegisterMatch[]> {
    if (!task.form_id) return [];
    const formId = task.form_id;
    const searches: FormRegisterRequest[] = [];
    const bySupplier = supplierFilter(task, invoice, settings);
    if (bySupplier) searches.push({ ...bySupplier, item_count: 500 });
    const amountField = findField(task, settings.fields.amount)?.field;
    const dateField = findField(task, settings.fields.invoiceDate)?.field;
    if (amountField && dateField) {
      // A day wider on each side: whether Pyrus's gt/lt include their bound is unconfirmed; the window is checked here.
      const dates = `gt${shiftDate(invoice.invoiceDate, -windowDays - 1)},lt${shiftDate(invoice.invoiceDate, windowDays + 1)}`;
      searches.push({ [`fld${amountField.id}`]: invoice.amount, [`fld${dateField.id}`]: dates, item_count: 500 } as FormRegisterRequest);
    }
    const found = new Map<number, PyrusTask>();
    for (const tasks of await Promise.all(searches.map((request) => this.register.search(caller, formId, request)))) {
      for (const t of tasks) if (t.id !== task.id) found.set(t.id, t);
    }
    const tasks = [...found.values()].sort((a, b) => a.id - b.id);
    const known = new Set(await history.knownTaskIds(tasks.map((t) => t.id)));
    const matches: RegisterMatch[] = [];
    for (const other of tasks) {
      if (known.has(other.id) || wasRejected(other)) continue;
      const theirs = readInvoice(other, settings).invoice;
      if (!theirs || theirs.supplierKey !== invoice.supplierKey) continue;
      const exact = theirs.invoiceNumberNorm === invoice.invoiceNumberNorm;
      const probable =
        theirs.amount === invoice.amount &&
        theirs.currency === invoice.currency &&
        daysApart(theirs.invoiceDate, invoice.invoiceDate) <= windowDays;
      if (exact || probable) {
        matches.push({
          taskId: other.id,
          invoiceNumber: theirs.invoiceNumber,
          invoiceDate: theirs.invoiceDate,
          amount: theirs.amount,
          currency: theirs.currency,
          status: 'in the register',
          exact,
        });
      }
    }
    return matches;
  }
}

/** The comment's lines and the decision's reason when the history or the register holds a duplicate; else undefined. */
export function describeDuplicates(history: Pick<CheckResult, 'exact' | 'probable'>, inRegister: RegisterMatch[]) {
  const { exact, probable } = history;
  if (!exact.length && !probable.length && !inRegister.length) return undefined;
  const registerExact = inRegister.filter((m) => m.exact);
  const registerProbable = inRegister.filter((m) => !m.exact);
  const lines = [
    ...[...exact, ...registerExact].map(
      (p) => `- ${taskLink(p.taskId)}: same supplier and invoice number "${p.invoiceNumber}" (${p.status})`,
    ),
    ...[...probable, ...registerProbable].map(
      (p) => `- ${taskLink(p.taskId)}: same supplier, amount ${money(p.amount)} ${p.currency}, invoice date ${p.invoiceDate} (${p.status})`,
    ),
  ];
  const kind = exact.length || registerExact.length ? 'a duplicate' : 'a probable duplicate';
  const ids = [...exact, ...probable, ...inRegister].map((p) => p.taskId).join(', ');
  return { why: `This request looks like ${kind} of an earlier one:\n${lines.join('\n')}`, reason: `duplicate of ${ids}` };
}

/**
 * The register filter that finds the supplier's requests: the tax id as digits, or as typed too when that differs (an
 * in-list filter, each compared whole), or else the name as typed (compared by prefix).
 */
function supplierFilter(task: PyrusTask, invoice: Invoice, settings: InvoiceSettings): Record<string, string> | undefined {
  if (invoice.supplierKey.startsWith('tax:') && settings.fields.supplierTaxId !== undefined) {
    const field = findField(task, settings.fields.supplierTaxId)?.field;
    const typed = readLabel(field);
    if (!field || !typed) return undefined;
    const digits = invoice.supplierKey.slice('tax:'.length);
    const spellings = typed === digits || typed.includes(',') ? [digits] : [digits, typed];
    return { [`fld${field.id}`]: spellings.join(',') };
  }
  const field = findField(task, settings.fields.supplier)?.field;
  const typed = readLabel(field);
  return field && typed ? { [`fld${field.id}`]: typed } : undefined;
}

/** "2024-03-01" plus `days` (negative: minus), as a date. */
function shiftDate(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

const wasRejected = (task: PyrusTask) => (task.approvals ?? []).some((step) => step.some((a) => a.approval_choice === 'rejected'));

function daysApart(a: string, b: string): number {
  return Math.abs(Date.parse(a) - Date.parse(b)) / 86_400_000;
}
