import { BudgetLimit } from './budget-limit.entity';
import { Delivery } from './delivery.entity';
import { JobAttempt } from './job-attempt.entity';
import { OutboundCall } from './outbound-call.entity';
import { Payment } from './payment.entity';
import { ProcessedTask } from './processed-task.entity';

export * from './budget-limit.entity';
export * from './delivery.entity';
export * from './job-attempt.entity';
export * from './outbound-call.entity';
export * from './payment.entity';
export * from './processed-task.entity';

export const entities = [BudgetLimit, Delivery, JobAttempt, OutboundCall, Payment, ProcessedTask];
