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

// The locks and all the checks of a decision in one round trip (the function is in migration 1795900000000): run on
// every decision, so prepared.
const CHECKS = prepared('SELECT exact, probable, budget FROM payment_checks($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)');

export interface PaymentCheck {
  /**
   * Transaction-scoped advisory locks taken first (the supplier's, a cost centre's): two deciders holding the same key
   * take turns, and the second one's checks see what the first committed.
   */
  lockKeys?: string[];
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
 * The payment history as a handler sees it, bound to the decision's transaction. `check` takes transaction-scoped
 * advisory locks first, so two workers deciding for the same supplier or budget take turns and the second sees the first.
 */
export class PaymentHistory {
  constructor(private readonly em: EntityManager) {}

  /** Which of these tasks the history already holds. */
  async knownTaskIds(taskIds: number[]): Promise<number[]> {
    if (taskIds.length === 0) return [];
    const rows: Array<{ task_id: string }> = await this.em.query('SELECT task_id FROM payments WHERE task_id = ANY($1::bigint[])', [
      taskIds,
    ]);
    return rows.map((r) => Number(r.task_id));
  }

  /**
   * After taking `lockKeys`: exact duplicates (same supplier, same normalised invoice number), probable ones (same
   * supplier, amount and currency, invoice dates within the window) and the budget standing, in one statement.
   * Rejected and cancelled requests are no duplicates; only approved and paid ones use the budget.
   */
  async check(c: PaymentCheck): Promise<CheckResult> {
    const [row]: Array<{ exact: PastPayment[]; probable: PastPayment[]; budget: BudgetStanding | null }> = await this.em.query(CHECKS, [
      c.lockKeys ?? [],
      c.supplierKey,
      c.invoiceNumberNorm,
      c.taskId,
      c.amount,
      c.currency,
      c.invoiceDate,
      c.windowDays,
      c.budget?.scope ?? null,
      c.budget?.scopeKey ?? null,
      c.budget?.period ?? null,
    ]);
    return { exact: row.exact, probable: row.probable, budget: row.budget ?? undefined };
  }
}
