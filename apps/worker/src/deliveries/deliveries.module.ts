import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BotsModule } from '@app/bots';
import { Delivery, ProcessedTask } from '@app/database';
import { PyrusModule } from '@app/pyrus';
import { QueueModule } from '@app/queue';
import { DeliveryJourneyModule } from '@app/deliveries';
import { FollowUpProcessor } from '../followups/follow-up.processor';
import { FollowUpService } from '../followups/follow-up.service';
import { InboxModule } from '../inbox/inbox.module';
import { BotsSignInHealthIndicator } from './bots-sign-in.health';
import { DeliveryProcessor } from './delivery.processor';
import { DeliveryService } from './delivery.service';
import { TaskLockService } from './task-lock.service';
import { DeliveryReconciler } from './delivery.reconciler';

@Module({
  imports: [
    TypeOrmModule.forFeature([Delivery, ProcessedTask]),
    BotsModule,
    PyrusModule,
    QueueModule,
    DeliveryJourneyModule,
    TerminusModule,
    // A follow-up that asks for its task to be decided again stores the delivery through the inbox catch-up.
    InboxModule,
  ],
  providers: [
    DeliveryProcessor,
    DeliveryService,
    TaskLockService,
    DeliveryReconciler,
    BotsSignInHealthIndicator,
    FollowUpProcessor,
    FollowUpService,
  ],
  exports: [DeliveryService, DeliveryReconciler, BotsSignInHealthIndicator],
})
export class DeliveriesModule {}
