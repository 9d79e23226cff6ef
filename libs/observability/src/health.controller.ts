import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorFunction, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { RedisHealthIndicator } from './redis.health';

/** Extra readiness checks an app provides (see HealthModule.forRoot). */
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    @Inject(READINESS_CHECKS) private readonly extraChecks: HealthIndicatorFunction[],
  ) {}

  /** The process is up and its event loop turns. */
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** Ready for work: Postgres and Redis answer, and the app's own checks pass (503 otherwise, saying which failed). */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.db.pingCheck('postgres', { timeout: 1000 }),
      () => this.redis.isHealthy('redis'),
      ...this.extraChecks,
    ]);
  }
}
