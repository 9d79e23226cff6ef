import { Delivery } from './delivery.entity';
import { ProcessedTask } from './processed-task.entity';

export * from './delivery.entity';
export * from './processed-task.entity';

export const entities = [Delivery, ProcessedTask];
