import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AppConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { AllExceptionsFilter, HealthModule, LoggingModule } from '@app/observability';
import { WebhooksModule } from './webhooks/webhooks.module';

/** The HTTP process: receives webhooks and produces jobs; it never calls Pyrus. */
@Module({})
export class ApiModule {
  static forRoot(env: Record<string, string | undefined> = process.env): DynamicModule {
    return {
      module: ApiModule,
      imports: [AppConfigModule.forRoot(env), LoggingModule.forRoot(), DatabaseModule, HealthModule.forRoot(), WebhooksModule],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
