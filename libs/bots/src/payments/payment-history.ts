import { EntityManager } from 'typeorm';
import { BudgetPeriod, BudgetScope, prepared } from '@app/database';

export interface PastPayment {
  taskId: number;
  invoiceNumber: string | null;
  invoiceDate: string | null;
  amount: string;
  currency: string;
  status: string;
}

export interface BudgetStanding {
  limit: string;
  /** Approved and paid in the period, this task excluded. */
  used: string;
  /** used + this request - limit, when positive. */
  over: string | null;
}

const PAST_COLUMNS = `task_id AS "taskId", invoice_number AS "invoiceNumber", to_char(invoice_date, 'YYYY-MM-DD') AS "invoiceDate",
  amount::text AS amount, currency, status`;

// Run on every decision: prepared, so Postgres plans each once per connection.
const LOCK = prepared('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))');
const EXACT_DUPLICATES = prepared(
  `SELECT ${PAST_COLUMNS} FROM payments
   WHERE supplier_key = $1 AND invoice_number_norm = $2 AND task_id <> $3 AND status NOT IN ('rejected', 'cancelled')
   ORDER BY task_id LIMIT 20`,
);
const PROBABLE_DUPLICATES = prepared(
  `SELECT ${PAST_COLUMNS} FROM payments
   WHERE supplier_key = $1 AND amount = $2::numeric AND currency = $3
     AND invoice_date BETWEEN $4::date - $5::int AND $4::date + $5::int
     AND task_id <> $6 AND status NOT IN ('rejected', 'cancelled')
     AND invoice_number_norm IS DISTINCT FROM $7
   ORDER BY task_id LIMIT 20`,
);
const budgetStanding = (column: 'supplier_key' | 'cost_centre') =>
  prepared(
    `WITH lim AS (
       SELECT amount FROM budget_limits WHERE scope = $1 AND scope_key = $2 AND period = $3 AND currency = $4
     ), used AS (
       SELECT coalesce(sum(amount), 0) AS used FROM payments
       WHERE ${column} = $2 AND currency = $4 AND status IN ('approved', 'paid') AND task_id <> $7
         AND invoice_date >= date_trunc($3, $5::date) AND invoice_date < date_trunc($3, $5::date) + ('1 ' || $3)::interval
     )
     SELECT lim.amount::text AS "limit", used.used::text AS used,
            CASE WHEN used.used + $6::numeric > lim.amount THEN (used.used + $6::numeric - lim.amount)::text END AS over
     FROM lim, used`,
  );
const BUDGET_STANDING: Record<BudgetScope, string> = { supplier: budgetStanding('supplier_key'), cost_centre: budgetStanding('cost_centre') };

/**
 * The payment history as a handler sees it, bound to the decision's transaction. `lock` takes a transaction-scoped
 * advisory lock, so two workers deciding for the same supplier or budget take turns and the second sees the first.
 */
export class PaymentHistory {
  constructor(private readonly em: EntityManager) {}

  async lock(...keys: string[]): Promise<void> {
    // Always in one order, so two deciders never wait on each other's second lock.
    for (const key of [...new Set(keys)].sort()) {
      await this.em.query(LOCK, [key]);
    }
  }

  /** Which of these tasks the history already holds. */
  async knownTaskIds(taskIds: number[]): Promise<number[]> {
    if (taskIds.length === 0) return [];
    const rows: Array<{ task_id: string }> = await this.em.query('SELECT task_id FROM payments WHERE task_id = ANY($1::bigint[])', [taskIds]);
    return rows.map((r) => Number(r.task_id));
  }

  /** Live requests of the supplier with the same normalised invoice number, other tasks only. */
  exactDuplicates(supplierKey: string, invoiceNumberNorm: string, taskId: number): Promise<PastPayment[]> {
    return this.em.query(EXACT_DUPLICATES, [supplierKey, invoiceNumberNorm, taskId]);
  }

  /** Live requests of the supplier for the same amount and currency, invoice dates within the window. */
  probableDuplicates(supplierKey: string, amount: string, currency: string, invoiceDate: string, windowDays: number, taskId: number, invoiceNumberNorm: string): Promise<PastPayment[]> {
    return this.em.query(PROBABLE_DUPLICATES, [supplierKey, amount, currency, invoiceDate, windowDays, taskId, invoiceNumberNorm]);
  }

  /** The limit of the scope for the period containing `day`, and what is used; undefined when there is no limit. */
  async budget(scope: BudgetScope, scopeKey: string, period: BudgetPeriod, currency: string, day: string, amount: string, taskId: number): Promise<BudgetStanding | undefined> {
    const rows: BudgetStanding[] = await this.em.query(BUDGET_STANDING[scope], [scope, scopeKey, period, currency, day, amount, taskId]);
    return rows[0];
  }
}
