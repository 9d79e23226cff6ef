import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type BudgetScope = 'supplier' | 'cost_centre';
export type BudgetPeriod = 'month' | 'quarter' | 'year';

/** A spending limit: approved and paid requests of the scope in one period may not exceed `amount`. */
@Entity({ name: 'budget_limits' })
export class BudgetLimit {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  scope: BudgetScope;

  @Column({ name: 'scope_key', type: 'text' })
  scopeKey: string;

  @Column({ type: 'text' })
  period: BudgetPeriod;

  @Column({ type: 'text' })
  currency: string;

  @Column({ type: 'numeric', precision: 18, scale: 2 })
  amount: string;
}
