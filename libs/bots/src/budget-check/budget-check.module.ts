import { Module } from '@nestjs/common';
import { BudgetCheckHandler } from './budget-check.handler';

/** Pyrus's budget-limits bot: a handler that needs only the payment history, in the decision's transaction. */
@Module({ providers: [BudgetCheckHandler], exports: [BudgetCheckHandler] })
export class BudgetCheckModule {
  static readonly handler = BudgetCheckHandler;
}
