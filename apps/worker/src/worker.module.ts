import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { AllExceptionsFilter, HealthModule, LoggingModule, MetricsModule, READINESS_CHECKS } from '@app/observability';
import { BotsSignInHealthIndicator } from './deliveries/bots-sign-in.health';
import { DeliveriesModule } from './deliveries/deliveries.module';
import { InboxModule } from './inbox/inbox.module';
import { RegistersModule } from './registers/registers.module';
import { TelemetryModule } from './telemetry/telemetry.module';

/** The job process: consumes the queues and talks to Pyrus; its HTTP port serves only health checks and metrics. */
@Module({})
export class WorkerModule {
  static forRoot(env: Record<string, string | undefined> = process.env): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        AppConfigModule.forRoot(env),
        LoggingModule.forRoot(),
        DatabaseModule,
        HealthModule.forRoot({
          imports: [DeliveriesModule],
          checks: {
            provide: READINESS_CHECKS,
            inject: [BotsSignInHealthIndicator],
            useFactory: (bots: BotsSignInHealthIndicator) => [() => bots.isHealthy()],
          },
        }),
        MetricsModule.forRoot(),
        TelemetryModule,
        DeliveriesModule,
        InboxModule,
        RegistersModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
