import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EntityManager } from 'typeorm';
import { AppConfiguration } from '@app/config';
import { prepared } from '@app/database';
import { findField, FormRegisterRequest, PyrusCaller, PyrusTask } from '@app/pyrus';
import { FormRegisterSearch } from './form-register-search';
import { Invoice, InvoiceSettings, money, readInvoice, readLabel, taskLink } from './invoice';
import { CheckResult, PastPayment, PaymentHistory } from './payment-history';
import { wasRejected } from './register-copy';

/** Probable duplicates: invoice dates at most this many days apart, unless the settings say otherwise. */
export const DEFAULT_DUPLICATE_WINDOW_DAYS = 30;

export type RegisterMatch = PastPayment & { exact: boolean };

/** The local copy serves while its last pass is at most this many sync intervals old; an older one is not trusted. */
const STALE_AFTER_INTERVALS = 5;
/** ... and never less than this: a full pass of a large register takes a while. */
const STALE_AFTER_MIN_MS = 5 * 60_000;

/**
 * The duplicates the payment history does not know: requests in the form register (made before the bots, or on another
 * bot's watch). The history's own duplicates come from PaymentHistory.check, in the decision's locked statement.
 */
@Injectable()
export class RegisterDuplicates {
  /** 0 when no copy is kept (REGISTER_SYNC_INTERVAL_MS=0): every decision searches the register. */
  private readonly staleAfterMs: number;

  constructor(
    private readonly register: FormRegisterSearch,
    config: ConfigService<AppConfiguration, true>,
  ) {
    const intervalMs = config.get('queue', { infer: true }).registerSyncIntervalMs;
    this.staleAfterMs = intervalMs > 0 ? Math.max(STALE_AFTER_INTERVALS * intervalMs, STALE_AFTER_MIN_MS) : 0;
  }

  /**
   * The supplier's requests in the form register that the history does not know: from the local copy of the register
   * (table `register_invoices`, kept by the worker's register sync) when it has one fresh enough, with no call to
   * Pyrus; else by searching the register. Read in the decision's transaction, so "the history does not know" is
   * judged against the same snapshot as the decision.
   */
  async find(
    task: PyrusTask,
    invoice: Invoice,
    settings: InvoiceSettings,
    options: { caller: PyrusCaller; history: PaymentHistory; em: EntityManager; windowDays: number },
  ): Promise<RegisterMatch[]> {
    const formId = task.form_id;
    if (!formId) return [];
    if (this.staleAfterMs) {
      const copied = await fromCopy(options.em, formId, task.id, invoice, options.windowDays, this.staleAfterMs);
      if (copied) return copied;
    }
    return this.search(formId, task, invoice, settings, options);
  }

  /**
   * The search of the register itself, for a form without a fresh copy. The register's own filters compare values as
   * typed, so none of them can tell that `ООО "Луч"` is `ООО «Луч»`.
   * Two searches, whose results are compared locally, find them however they were typed:
   * - by the supplier: its tax id as digits (a number-like value compares as a number, so `7701000002` finds
   *   `7701000002`) or as typed, or else its name as typed: a same-invoice request from any date;
   * - by the amount and the invoice date within the window: numbers and dates, which no spelling changes, so this
   *   finds the probable duplicates, and the exact ones of the same invoice, whatever the supplier's spelling.
   * Both include closed tasks (`include_archived`), as the copy does: a request paid and closed is the duplicate that
   * matters most. Rejected ones do not count.
   */
  private async search(
    formId: number,
    task: PyrusTask,
    invoice: Invoice,
    settings: InvoiceSettings,
    { caller, history, windowDays }: { caller: PyrusCaller; history: PaymentHistory; windowDays: number },
  ): Promise<RegisterMatch[]> {
    const searches: FormRegisterRequest[] = [];
    const bySupplier = supplierFilter(task, invoice, settings);
    if (bySupplier) searches.push({ ...bySupplier, include_archived: 'y', item_count: 500 });
    const amountField = findField(task, settings.fields.amount)?.field;
    const dateField = findField(task, settings.fields.invoiceDate)?.field;
    if (amountField && dateField) {
      // A day wider on each side: whether Pyrus's gt/lt include their bound is unconfirmed; the window is checked here.
      const dates = `gt${shiftDate(invoice.invoiceDate, -windowDays - 1)},lt${shiftDate(invoice.invoiceDate, windowDays + 1)}`;
      searches.push({
        [`fld${amountField.id}`]: invoice.amount,
        [`fld${dateField.id}`]: dates,
        include_archived: 'y',
        item_count: 500,
      } as FormRegisterRequest);
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

// Whether the form has a fresh copy (made by a full pass, its last pass recent) and, if so, the copy's matches, in one
// round trip; run on every decision of a form with a copy, so prepared.
const FROM_COPY = prepared(`
  SELECT f.fresh, r.task_id, r.invoice_number, to_char(r.invoice_date, 'YYYY-MM-DD') AS invoice_date, r.amount::text AS amount,
         r.currency, r.invoice_number_norm = $3 AS exact
    FROM (SELECT EXISTS (SELECT 1 FROM register_syncs s
                          WHERE s.form_id = $1 AND s.full_pass_at IS NOT NULL
                            AND s.synced_as_of > now() - make_interval(secs => $9::double precision / 1000)) AS fresh) f
    LEFT JOIN register_invoices r
      ON f.fresh AND r.form_id = $1 AND r.supplier_key = $2 AND NOT r.rejected AND r.task_id <> $7
     AND (r.invoice_number_norm = $3
          OR (r.amount = $4::numeric AND r.currency = $5 AND r.invoice_date BETWEEN $6::date - $8::int AND $6::date + $8::int))
     AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.task_id = r.task_id)
   ORDER BY r.task_id`);

/**
 * The copy's answer to the same question, in one statement: the supplier's requests of the form, other than this one,
 * that nobody rejected and the history does not hold, with the same invoice number (normalised) or the same amount and
 * currency and invoice dates at most `windowDays` apart. Undefined when the form has no copy fresher than `staleAfterMs`.
 */
async function fromCopy(
  em: EntityManager,
  formId: number,
  taskId: number,
  invoice: Invoice,
  windowDays: number,
  staleAfterMs: number,
): Promise<RegisterMatch[] | undefined> {
  const rows: Array<{
    fresh: boolean;
    task_id: string | null;
    invoice_number: string;
    invoice_date: string;
    amount: string;
    currency: string;
    exact: boolean;
  }> = await em.query(FROM_COPY, [
    formId,
    invoice.supplierKey,
    invoice.invoiceNumberNorm,
    invoice.amount,
    invoice.currency,
    invoice.invoiceDate,
    taskId,
    Math.floor(windowDays),
    staleAfterMs,
  ]);
  if (!rows[0]?.fresh) return undefined;
  return rows
    .filter((r) => r.task_id !== null)
    .map((r): RegisterMatch => ({
      taskId: Number(r.task_id),
      invoiceNumber: r.invoice_number,
      invoiceDate: r.invoice_date,
      amount: r.amount,
      currency: r.currency,
      status: 'in the register',
      exact: r.exact,
    }));
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

function daysApart(a: string, b: string): number {
  return Math.abs(Date.parse(a) - Date.parse(b)) / 86_400_000;
}
