import { DynamicModule, ModuleMetadata, Module, Provider } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { QueueModule } from '@app/queue';
import { HealthController, READINESS_CHECKS } from './health.controller';
import { RedisHealthIndicator } from './redis.health';

/**
 * /health/live and /health/ready (Postgres and Redis). An app adds its own readiness checks by providing
 * READINESS_CHECKS (the worker adds the bots' Pyrus sign-in).
 */
@Module({})
export class HealthModule {
  static forRoot(extra: { imports?: ModuleMetadata['imports']; checks?: Provider } = {}): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), QueueModule, ...(extra.imports ?? [])],
      controllers: [HealthController],
      providers: [RedisHealthIndicator, extra.checks ?? { provide: READINESS_CHECKS, useValue: [] }],
    };
  }
}
