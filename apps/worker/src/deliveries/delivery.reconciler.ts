import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AppConfiguration } from '@app/config';
import { withTryAdvisoryLock } from '@app/database';
import { DeliveryJourney, ReconcileResult } from '@app/deliveries';
import { errorMessage, MetricsService } from '@app/observability';
import { FollowUpService } from '../followups/follow-up.service';
import { PeriodicRun } from '../periodic-run';

/** One reconciliation at a time across all workers; a fixed arbitrary advisory-lock id. */
const RECONCILE_LOCK_ID = 727_002;

/**
 * Keeps PostgreSQL and Redis in step: a delivery stored but not finished must have a live Bull job. It has none when
 * the api answered 503 and Pyrus gave up, when the api died between storing and queueing, or when Redis lost its
 * data (a restart without persistence, FLUSHALL, a failover to an empty replica). Every RECONCILE_INTERVAL_MS one
 * worker queues such deliveries again under their own job id. A job that turns out to be a second one for its delivery
 * is harmless: it waits on the task's lock and then finds the delivery decided. The follow-ups that handlers report as
 * not done are reconciled the same way.
 */
@Injectable()
export class DeliveryReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly periodic: PeriodicRun;
  private readonly minAgeMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly journey: DeliveryJourney,
    private readonly followUps: FollowUpService,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(DeliveryReconciler.name) private readonly logger: PinoLogger,
    config: ConfigService<AppConfiguration, true>,
  ) {
    const settings = config.get('queue', { infer: true });
    this.minAgeMs = settings.reconcileMinAgeMs;
    this.periodic = new PeriodicRun(
      () => this.reconcile(),
      settings.reconcileIntervalMs,
      (err) => this.logger.warn({ err: errorMessage(err) }, 'Reconciliation failed; will try again'),
    );
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.periodic.stop();
  }

  /** Null when another worker holds the reconciliation lock. */
  async reconcile(): Promise<(ReconcileResult & { followUpsRequeued: number }) | null> {
    const done = await withTryAdvisoryLock(this.db, RECONCILE_LOCK_ID, async (runner) => {
      const deliveries = await this.journey.reconcile(this.minAgeMs, runner);
      // Follow-ups live only in Redis too: the handlers say which are not done, and those whose job is gone go back.
      const followUpsRequeued = await this.followUps.requeueOutstanding(new Date(Date.now() - this.minAgeMs));
      return { ...deliveries, followUpsRequeued };
    });
    if (!done) return null;
    if (done.value.requeued > 0) this.metrics.deliveriesRequeued.inc(done.value.requeued);
    if (done.value.followUpsRequeued > 0) {
      this.metrics.followUpsRequeued.inc(done.value.followUpsRequeued);
      this.logger.warn({ requeued: done.value.followUpsRequeued }, 'Queued again follow-ups whose job was not in Redis');
    }
    return done.value;
  }
}
