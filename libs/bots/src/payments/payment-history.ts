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

// Live requests of the supplier ($1) with the same normalised invoice number ($2), other tasks ($3) only.
const EXACT_DUPLICATES = `SELECT ${PAST_COLUMNS} FROM payments
   WHERE supplier_key = $1 AND invoice_number_norm = $2 AND task_id <> $3 AND status NOT IN ('rejected', 'cancelled')
   ORDER BY task_id LIMIT 20`;
// The same amount ($4) and currency ($5), invoice dates within $7 days of $6, another invoice number.
const PROBABLE_DUPLICATES = `SELECT ${PAST_COLUMNS} FROM payments
   WHERE supplier_key = $1 AND amount = $4::numeric AND currency = $5
     AND invoice_date BETWEEN $6::date - $7::int AND $6::date + $7::int
     AND task_id <> $3 AND status NOT IN ('rejected', 'cancelled')
     AND invoice_number_norm IS DISTINCT FROM $2
   ORDER BY task_id LIMIT 20`;
// The limit of scope $8, key $9, for the period ($10) containing $6, and what is approved or paid in it.
const budgetStanding = (column: 'supplier_key' | 'cost_centre') => `
  WITH lim AS (
     SELECT amount FROM budget_limits WHERE scope = $8 AND scope_key = $9 AND period = $10 AND currency = $5
   ), used AS (
     SELECT coalesce(sum(amount), 0) AS used FROM payments
     WHERE ${column} = $9 AND currency = $5 AND status IN ('approved', 'paid') AND task_id <> $3
       AND invoice_date >= date_trunc($10, $6::date) AND invoice_date < date_trunc($10, $6::date) + ('1 ' || $10)::interval
   )
   SELECT json_build_object('limit', lim.amount::text, 'used', used.used::text,
            'over', CASE WHEN used.used + $4::numeric > lim.amount THEN (used.used + $4::numeric - lim.amount)::text END)
   FROM lim, used`;
/** All the checks of a decision in one round trip: the duplicates as JSON arrays, the budget as an object or null. */
const checks = (budget: string) =>
  prepared(
    `SELECT (SELECT coalesce(json_agg(e ORDER BY e."taskId"), '[]') FROM (${EXACT_DUPLICATES}) e) AS exact,
            (SELECT coalesce(json_agg(p ORDER BY p."taskId"), '[]') FROM (${PROBABLE_DUPLICATES}) p) AS probable,
            (${budget}) AS budget`,
  );
const CHECKS: Record<BudgetScope | 'none', string> = {
  none: checks('SELECT NULL::json'),
  supplier: checks(budgetStanding('supplier_key')),
  cost_centre: checks(budgetStanding('cost_centre')),
};

// Run on every decision: prepared, so Postgres plans it once per connection.
const LOCK = prepared('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))');

export interface PaymentCheck {
  supplierKey: string;
  invoiceNumberNorm: string;
  amount: string;
  currency: string;
  invoiceDate: string;
  /** Probable duplicates: invoice dates at most this many days apart. */
  windowDays: number;
  /** The request's own task, never its own duplicate nor counted in its budget. */
  taskId: number;
  /** The budget to check, if any: its scope, the scope's key (a supplier key or a cost centre) and period. */
  budget?: { scope: BudgetScope; scopeKey: string; period: BudgetPeriod };
}

export interface CheckResult {
  exact: PastPayment[];
  probable: PastPayment[];
  /** Undefined when no budget was asked for or the scope has no limit for the period and currency. */
  budget?: BudgetStanding;
}

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

  /**
   * Exact duplicates (same supplier, same normalised invoice number), probable ones (same supplier, amount and
   * currency, invoice dates within the window) and the budget standing, in one statement. Rejected and cancelled
   * requests are no duplicates; only approved and paid ones use the budget.
   */
  async check(c: PaymentCheck): Promise<CheckResult> {
    const params: unknown[] = [c.supplierKey, c.invoiceNumberNorm, c.taskId, c.amount, c.currency, c.invoiceDate, c.windowDays];
    if (c.budget) params.push(c.budget.scope, c.budget.scopeKey, c.budget.period);
    const [row]: Array<{ exact: PastPayment[]; probable: PastPayment[]; budget: BudgetStanding | null }> = await this.em.query(
      CHECKS[c.budget?.scope ?? 'none'],
      params,
    );
    return { exact: row.exact, probable: row.probable, budget: row.budget ?? undefined };
  }
}
