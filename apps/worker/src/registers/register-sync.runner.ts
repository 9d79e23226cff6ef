import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfiguration } from '@app/config';
import { errorMessage, MetricsService } from '@app/observability';
import { PeriodicRun } from '../periodic-run';
import { RegisterSync } from './register-sync';

/**
 * Runs the register sync at the worker's start and every REGISTER_SYNC_INTERVAL_MS (0: never), and lets the metrics
 * read each copy's age at scrape time.
 */
@Injectable()
export class RegisterSyncRunner implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly periodic: PeriodicRun;
  private readonly intervalMs: number;

  constructor(
    private readonly sync: RegisterSync,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(RegisterSyncRunner.name) private readonly logger: PinoLogger,
    config: ConfigService<AppConfiguration, true>,
  ) {
    this.intervalMs = config.get('queue', { infer: true }).registerSyncIntervalMs;
    this.periodic = new PeriodicRun(
      () => this.sync.syncAll(),
      this.intervalMs,
      (err) => this.logger.warn({ err: errorMessage(err) }, 'Register sync failed; will try again'),
    );
  }

  onModuleInit(): void {
    this.metrics.readRegisterCopiesWith(() => this.sync.ages());
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs <= 0) {
      this.logger.info('The register copy is off (REGISTER_SYNC_INTERVAL_MS=0): the duplicate check searches the register');
      return;
    }
    if (this.sync.copies().length) this.periodic.start({ runNow: true });
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.periodic.stop();
  }
}
