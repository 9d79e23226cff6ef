import { BudgetLimit } from './budget-limit.entity';
import { Delivery } from './delivery.entity';
import { Payment } from './payment.entity';
import { ProcessedTask } from './processed-task.entity';

export * from './budget-limit.entity';
export * from './delivery.entity';
export * from './payment.entity';
export * from './processed-task.entity';

export const entities = [BudgetLimit, Delivery, Payment, ProcessedTask];
