import { InjectQueue } from '@nestjs/bull';
import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bull';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AppConfiguration } from '@app/config';
import { withTryAdvisoryLock } from '@app/database';
import { PeriodicRun } from '../periodic-run';
import { DELIVERIES_QUEUE, PROCESS_DELIVERY_JOB, ProcessDeliveryJob } from '@app/queue';
import { errorMessage } from '@app/observability';

/** One sweep at a time across all workers; a fixed arbitrary advisory-lock id. */
const SWEEP_LOCK_ID = 727_002;
const BATCH = 500;

/**
 * Queues deliveries that were stored but never reached Redis (the api answered 503 and Pyrus gave up, or the api
 * died between the two). Such jobs carry no webhook token; the worker signs in as the bot.
 */
@Injectable()
export class UnqueuedDeliverySweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly periodic: PeriodicRun;
  private readonly minAgeMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(DELIVERIES_QUEUE) private readonly queue: Queue<ProcessDeliveryJob>,
    @InjectPinoLogger(UnqueuedDeliverySweeper.name) private readonly logger: PinoLogger,
    config: ConfigService<AppConfiguration, true>,
  ) {
    const settings = config.get('queue', { infer: true });
    this.minAgeMs = settings.sweepMinAgeMs;
    this.periodic = new PeriodicRun(() => this.sweep(), settings.sweepIntervalMs, (err) =>
      this.logger.warn({ err: errorMessage(err) }, 'Sweep failed; will try again'),
    );
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.periodic.stop();
  }

  /** Queues every stored, unqueued delivery older than SWEEP_MIN_AGE_MS; returns how many. */
  async sweep(): Promise<number> {
    const swept = await withTryAdvisoryLock(this.db, SWEEP_LOCK_ID, async (runner) => {
      let total = 0;
      for (;;) {
        const rows: Array<{ id: string; request_id: string; bot: string; task_id: string }> = await runner.query(
          `SELECT id, request_id, bot, task_id FROM deliveries
           WHERE status = 'received' AND received_at < now() - make_interval(secs => $1::float8 / 1000) AND queued_at IS NULL
           ORDER BY received_at LIMIT $2`,
          [this.minAgeMs, BATCH],
        );
        for (const row of rows) {
          await this.queue.add(PROCESS_DELIVERY_JOB, { deliveryId: row.id, requestId: row.request_id, bot: row.bot, taskId: Number(row.task_id) }, { jobId: row.id });
          await runner.query('UPDATE deliveries SET queued_at = now() WHERE id = $1', [row.id]);
        }
        total += rows.length;
        if (rows.length < BATCH) return total;
      }
    });
    const total = swept?.value ?? 0;
    if (total > 0) this.logger.warn({ queued: total }, 'Queued deliveries that were stored but never queued');
    return total;
  }
}
