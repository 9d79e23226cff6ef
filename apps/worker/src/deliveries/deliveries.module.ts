import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BotsModule } from '@app/bots';
import { Delivery, ProcessedTask } from '@app/database';
import { PyrusModule } from '@app/pyrus';
import { QueueModule } from '@app/queue';
import { DeliveryProcessor } from './delivery.processor';
import { DeliveryService } from './delivery.service';
import { TaskLockService } from './task-lock.service';
import { UnqueuedDeliverySweeper } from './unqueued-delivery.sweeper';

@Module({
  imports: [TypeOrmModule.forFeature([Delivery, ProcessedTask]), BotsModule, PyrusModule, QueueModule],
  providers: [DeliveryProcessor, DeliveryService, TaskLockService, UnqueuedDeliverySweeper],
  exports: [DeliveryService, UnqueuedDeliverySweeper],
})
export class DeliveriesModule {}
