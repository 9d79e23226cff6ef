import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { normaliseInvoiceNumber, normaliseName } from '@app/bots';
import { decodeCursor, ISO_TIME, newestFirstPage, Page, pageOf } from '../pagination';
import { ListPaymentsQuery, PaymentFilter, PaymentTotalsQuery } from './payments.dto';

export interface PaymentRow {
  id: string;
  bot: string;
  taskId: number;
  supplierKey: string;
  supplierName: string | null;
  invoiceNumber: string | null;
  invoiceDate: string | null;
  amount: string;
  currency: string;
  costCentre: string | null;
  status: string;
  decisionReason: string | null;
  decidedAt: string;
  erpDocumentId: string | null;
  source: string;
}

export interface PaymentTotal {
  period: string;
  supplierKey: string;
  supplierName: string | null;
  currency: string;
  status: string;
  payments: number;
  amount: string;
}

const PAYMENT_COLUMNS = `id, bot, task_id::float8 AS "taskId", supplier_key AS "supplierKey", supplier_name AS "supplierName",
  invoice_number AS "invoiceNumber", to_char(invoice_date, 'YYYY-MM-DD') AS "invoiceDate", amount::text AS amount, currency,
  cost_centre AS "costCentre", status, decision_reason AS "decisionReason", ${ISO_TIME('decided_at')} AS "decidedAt",
  erp_document_id AS "erpDocumentId", source`;

export const CSV_COLUMNS: Array<keyof PaymentRow> = [
  'id',
  'bot',
  'taskId',
  'supplierKey',
  'supplierName',
  'invoiceNumber',
  'invoiceDate',
  'amount',
  'currency',
  'costCentre',
  'status',
  'decisionReason',
  'decidedAt',
  'erpDocumentId',
  'source',
];

/**
 * A period as the totals show it (to_char's label), the date_trunc unit that starts it, and how to read a label back.
 * Within years 0001–9999, the range of from and to, labels sort as their periods do.
 */
const PERIODS = {
  month: { format: 'YYYY-MM', unit: 'month', label: /^(\d{4})-(0[1-9]|1[0-2])$/, firstMonth: (month: string) => Number(month) },
  quarter: { format: 'YYYY-"Q"Q', unit: 'quarter', label: /^(\d{4})-Q([1-4])$/, firstMonth: (quarter: string) => 3 * Number(quarter) - 2 },
  year: { format: 'YYYY', unit: 'year', label: /^(\d{4})()$/, firstMonth: () => 1 },
} as const;

/** The label of the period a month (YYYY-MM) falls in, as to_char writes it. */
function periodOf(groupBy: keyof typeof PERIODS, month: string): string {
  const [year, m] = [month.slice(0, 4), Number(month.slice(5, 7))];
  return groupBy === 'month' ? month : groupBy === 'quarter' ? `${year}-Q${Math.ceil(m / 3)}` : year;
}

/** The first day of the period a label names; undefined for a label to_char would not have written. */
function periodStart(groupBy: keyof typeof PERIODS, label: string): string | undefined {
  const { label: pattern, firstMonth } = PERIODS[groupBy];
  const match = pattern.exec(label);
  if (!match || Number(match[1]) < 1) return undefined;
  return `${match[1]}-${String(firstMonth(match[2])).padStart(2, '0')}-01`;
}

const ANY_TEXT = /^[\s\S]{0,400}$/;

/** The payment history: the list, its CSV export, and totals per supplier and period. */
@Injectable()
export class PaymentsQueryService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async list(q: ListPaymentsQuery): Promise<Page<PaymentRow>> {
    const { where, params } = this.filterOf(q);
    return newestFirstPage<PaymentRow>(this.db, {
      from: 'payments',
      columns: PAYMENT_COLUMNS,
      time: 'decided_at',
      where,
      params,
      limit: q.limit,
      cursor: q.cursor,
    });
  }

  /** Every matching payment, newest first, as a stream of rows straight from a Postgres cursor (constant memory). */
  async stream(q: PaymentFilter): Promise<{ rows: Readable; release: () => Promise<void> }> {
    const { where, params } = this.filterOf(q);
    const runner = this.db.createQueryRunner();
    try {
      const rows = await runner.stream(
        `SELECT ${PAYMENT_COLUMNS} FROM payments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY decided_at DESC, id DESC`,
        params,
      );
      return { rows, release: () => runner.release() };
    } catch (err) {
      await runner.release();
      throw err;
    }
  }

  /**
   * Sums of the trigger-kept monthly totals: a few rows per supplier and month, whatever the number of payments. Grouped
   * by the period's date_trunc and read in the order of its index (migration 1795700000000), so a page of all suppliers
   * reads its own rows and stops rather than summing and sorting the whole range first.
   */
  async totals(q: PaymentTotalsQuery): Promise<Page<PaymentTotal>> {
    if (q.from > q.to) throw new BadRequestException({ code: 'INVALID_REQUEST', message: 'from must not be after to' });
    const params: unknown[] = [];
    const arg = (value: unknown) => `$${params.push(value)}`;
    const { format, unit } = PERIODS[q.groupBy];
    const period = `date_trunc('${unit}', month::timestamp)`;
    const [from, to] = [arg(`${q.from}-01`), arg(`${q.to}-01`)];
    const where = [`month >= ${from}::date`, `month <= ${to}::date`];
    // Implied by the two above: the bounds of the period's index, the lower one replaced by the cursor's key on a later
    // page (both at once would make the planner multiply their selectivities, expect far fewer rows than there are,
    // and sum and sort the whole range rather than read the index in order).
    const bounds = [
      `${period} >= date_trunc('${unit}', ${from}::date::timestamp)`,
      `${period} <= date_trunc('${unit}', ${to}::date::timestamp)`,
    ];
    if (q.supplier) where.push(`supplier_key = ANY(${arg(supplierKeysFor(q.supplier))}::text[])`);
    if (q.status) where.push(`status = ${arg(q.status)}`);
    const having = ['sum(payments) > 0'];
    if (q.cursor) {
      const [label, ...rest] = decodeCursor(q.cursor, [ANY_TEXT, ANY_TEXT, ANY_TEXT, ANY_TEXT]);
      const start = periodStart(q.groupBy, label);
      if (!start) {
        // Not a label this grouping writes: compared as text, as the labels sort.
        having.push(`(to_char(${period}, '${format}'), supplier_key, currency, status) > (${[label, ...rest].map(arg).join(', ')})`);
      } else if (start >= (periodStart(q.groupBy, periodOf(q.groupBy, q.from)) ?? '')) {
        // After the cursor's row in (period, supplier, currency, status) order, on the index's columns, so that a later
        // page starts at its cursor. (A cursor before the range's first period leaves every row of the range.)
        const key = `(${arg(start)}::timestamp, ${rest.map(arg).join(', ')})`;
        bounds[0] = `(${period}, supplier_key, currency, status) >= ${key}`;
        where.push(`(${period}, supplier_key, currency, status) <> ${key}`);
      }
    }
    where.push(...bounds);
    const rows: PaymentTotal[] = await this.db.query(
      `SELECT to_char(${period}, '${format}') AS period, supplier_key AS "supplierKey", max(supplier_name) AS "supplierName",
              currency, status, sum(payments)::int AS payments, sum(amount)::text AS amount
         FROM payment_monthly_totals WHERE ${where.join(' AND ')}
        GROUP BY ${period}, supplier_key, currency, status HAVING ${having.join(' AND ')}
        ORDER BY ${period}, supplier_key, currency, status LIMIT ${arg(q.limit + 1)}`,
      params,
    );
    return pageOf(rows, q.limit, (row) => [row.period, row.supplierKey, row.currency, row.status]);
  }

  private filterOf(q: PaymentFilter): { where: string[]; params: unknown[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    const arg = (value: unknown) => `$${params.push(value)}`;
    if (q.bot) where.push(`bot = ${arg(q.bot)}`);
    if (q.supplier) where.push(`supplier_key = ANY(${arg(supplierKeysFor(q.supplier))}::text[])`);
    if (q.invoiceNumber) where.push(`invoice_number_norm = ${arg(normaliseInvoiceNumber(q.invoiceNumber))}`);
    if (q.status) where.push(`status = ${arg(q.status)}`);
    if (q.from) where.push(`decided_at >= ${arg(q.from)}::timestamptz`);
    if (q.to) where.push(`decided_at < ${arg(q.to)}::timestamptz`);
    return { where, params };
  }
}

/** What a supplier filter may mean: a key as stored, a tax id, or a name (normalised as the payment bot does). */
export function supplierKeysFor(input: string): string[] {
  const value = input.trim();
  if (/^(tax|name):/.test(value)) return [value];
  if (/^\d{5,}$/.test(value)) return [`tax:${value}`, `name:${value}`];
  return [`name:${normaliseName(value)}`];
}
