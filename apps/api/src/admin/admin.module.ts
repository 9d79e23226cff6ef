import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfiguration } from '@app/config';
import { BotsModule } from '@app/bots';
import { DeliveryJourneyModule } from '@app/deliveries';
import { DELIVERIES_QUEUE, FOLLOWUPS_QUEUE, QueueModule, RedisService } from '@app/queue';
import { AuditLogController } from './audit/audit-log.controller';
import { AuditLogService } from './audit/audit-log.service';
import { AuditInterceptor } from './audit/audit.interceptor';
import { AdminAuthModule } from './auth/admin-auth.module';
import { AdminRateLimitStore } from './auth/admin-rate-limit.store';
import { AdminTokenVerifier } from './auth/admin-token.verifier';
import { BudgetLimitsController } from './budgets/budget-limits.controller';
import { BudgetLimitsService } from './budgets/budget-limits.service';
import { DeliveriesController } from './deliveries/deliveries.controller';
import { DeliveriesQueryService } from './deliveries/deliveries-query.service';
import { ReplayService } from './deliveries/replay.service';
import { PaymentsController } from './payments/payments.controller';
import { PaymentsQueryService } from './payments/payments-query.service';
import { bullBoardAccess } from './queues/bull-board.middleware';
import { QueuesController } from './queues/queues.controller';
import { QueuesService } from './queues/queues.service';
import { TasksController } from './tasks/tasks.controller';
import { TaskTimelineService } from './tasks/task-timeline.service';

export const BULL_BOARD_ROUTE = '/admin/queues/ui';

/** The admin REST API for audit and operations (/admin/*), and Bull Board at /admin/queues/ui. */
@Module({
  imports: [
    AdminAuthModule,
    BotsModule,
    QueueModule,
    DeliveryJourneyModule,
    ThrottlerModule.forRootAsync({
      imports: [QueueModule],
      inject: [ConfigService, RedisService],
      useFactory: (config: ConfigService<AppConfiguration, true>, redis: RedisService) => ({
        throttlers: [{ ttl: 60_000, limit: config.get('admin', { infer: true }).rateLimit }],
        storage: new AdminRateLimitStore(redis),
      }),
    }),
    BullBoardModule.forRootAsync({
      imports: [AdminAuthModule],
      inject: [AdminTokenVerifier, AuditLogService],
      useFactory: (verifier: AdminTokenVerifier, audit: AuditLogService) => ({
        route: BULL_BOARD_ROUTE,
        adapter: ExpressAdapter,
        middleware: bullBoardAccess(verifier, audit),
      }),
    }),
    BullBoardModule.forFeature({ name: DELIVERIES_QUEUE, adapter: BullAdapter }, { name: FOLLOWUPS_QUEUE, adapter: BullAdapter }),
  ],
  controllers: [DeliveriesController, TasksController, PaymentsController, BudgetLimitsController, QueuesController, AuditLogController],
  providers: [
    AuditInterceptor,
    DeliveriesQueryService,
    ReplayService,
    TaskTimelineService,
    PaymentsQueryService,
    BudgetLimitsService,
    QueuesService,
  ],
})
export class AdminModule {}
