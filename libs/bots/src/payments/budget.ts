import { IsIn } from 'class-validator';
import type { BudgetPeriod, BudgetScope } from '@app/database';
import { Invoice, money } from './invoice';
import { BudgetStanding } from './payment-history';

export class PaymentBudgetSettings {
  @IsIn(['supplier', 'cost_centre'], { message: '"supplier" or "cost_centre" is expected' })
  scope!: BudgetScope;

  @IsIn(['month', 'quarter', 'year'], { message: '"month", "quarter" or "year" is expected' })
  period!: BudgetPeriod;
}

/** The budget a request is checked against, as PaymentHistory.check takes it; undefined without a cost centre to key it. */
export function budgetOf(budget: PaymentBudgetSettings, invoice: Invoice) {
  const scopeKey = budget.scope === 'supplier' ? invoice.supplierKey : invoice.costCentre;
  return scopeKey ? { ...budget, scopeKey } : undefined;
}

/**
 * What the budget standing says of a request: `note`, the figures for the approval's comment; `over`, when the limit is
 * exceeded, the comment's reason and the decision's. No standing (no limit set for the scope, period and currency)
 * gives neither.
 */
export function describeBudget(
  budget: PaymentBudgetSettings,
  invoice: Invoice,
  standing: BudgetStanding | undefined,
): { where: string; note?: string; over?: { why: string; reason: string } } {
  const { currency, amount } = invoice;
  const where = `${budget.scope === 'supplier' ? `supplier ${invoice.supplierName}` : `cost centre ${invoice.costCentre}`}, ${periodName(
    budget.period,
    invoice.invoiceDate,
  )}`;
  if (!standing) return { where };
  const figures = `limit ${money(standing.limit)} ${currency}, already approved ${money(standing.used)}, this request ${money(amount)}`;
  if (!standing.over) return { where, note: `Budget for ${where}: ${figures}.` };
  return {
    where,
    note: `Budget for ${where}: ${figures}.`,
    over: {
      why: `Budget exceeded for ${where}: ${figures}; over by ${money(standing.over)} ${currency}.`,
      reason: `budget exceeded by ${standing.over} ${currency}`,
    },
  };
}

function periodName(period: BudgetPeriod, day: string): string {
  const [year, month] = day.split('-').map(Number);
  if (period === 'year') return `${year}`;
  if (period === 'quarter') return `${year}-Q${Math.ceil(month / 3)}`;
  return `${year}-${String(month).padStart(2, '0')}`;
}
