import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { AllExceptionsFilter, HealthModule, LoggingModule, MetricsModule } from '@app/observability';
import { AdminModule } from './admin/admin.module';
import { WEBHOOK_ROUTE, WebhooksModule } from './webhooks/webhooks.module';

/**
 * The HTTP process: receives webhooks and produces jobs, and serves the admin API. It posts nothing to Pyrus; only a
 * dry-run replay reads from it (the form register), as the bot. GET /metrics on the same port.
 */
@Module({})
export class ApiModule {
  static forRoot(env: Record<string, string | undefined> = process.env): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        AppConfigModule.forRoot(env),
        LoggingModule.forRoot({ ownAccessLog: [WEBHOOK_ROUTE] }),
        DatabaseModule,
        HealthModule.forRoot(),
        MetricsModule.forRoot(),
        WebhooksModule,
        AdminModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
