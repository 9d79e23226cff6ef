import { InjectQueue, OnQueueFailed, Process, Processor } from '@nestjs/bull';
import { BeforeApplicationShutdown } from '@nestjs/common';
import { Job, Queue } from 'bull';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DELIVERIES_QUEUE, PROCESS_DELIVERY_JOB, ProcessDeliveryJob } from '@app/queue';
import { JobAttemptsRecorder } from '../telemetry/job-attempts.recorder';
import { DeliveryService, isRetryable } from './delivery.service';

/** Bull's failedReason for a job over maxStalledCount (node_modules/bull/lib/queue.js). */
const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/** Thin: unpack the job, call the service, let errors throw so Bull retries with backoff. */
@Processor(DELIVERIES_QUEUE)
export class DeliveryProcessor implements BeforeApplicationShutdown {
  constructor(
    @InjectQueue(DELIVERIES_QUEUE) private readonly queue: Queue<ProcessDeliveryJob>,
    private readonly deliveries: DeliveryService,
    private readonly attempts: JobAttemptsRecorder,
    @InjectPinoLogger(DeliveryProcessor.name) private readonly logger: PinoLogger,
  ) {}

  // Decorators are evaluated at import, before Nest config exists; the config validates the same variable at boot.
  @Process({ name: PROCESS_DELIVERY_JOB, concurrency: Number(process.env.WORKER_CONCURRENCY ?? 10) })
  async handle(job: Job<ProcessDeliveryJob>): Promise<void> {
    await this.attempts.track(DELIVERIES_QUEUE, job, { deliveryId: job.data.deliveryId }, async () => {
      try {
        await this.deliveries.process(job.data);
      } catch (err) {
        // A 4xx or a permanent error is not retried blindly: stop the job here.
        if (!isRetryable(err)) await job.discard();
        throw err;
      }
    });
  }

  /**
   * SIGTERM: stop taking jobs and let the active ones finish while Postgres and Redis are still open (they close in
   * the later onApplicationShutdown phase).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }

  /** After the last attempt (or a discard) the delivery is marked failed, and the token leaves Redis. */
  @OnQueueFailed()
  async onFailed(job: Job<ProcessDeliveryJob>, err: Error): Promise<void> {
    const attempts = job.opts.attempts ?? 1;
    // Bull fails a job whose lock ran out twice (maxStalledCount) without counting an attempt, and retries it no more:
    // final, or the reconciliation would queue a job that kills its worker again and again.
    const stalledTooOften = err.message === STALLED_TOO_OFTEN;
    if (!stalledTooOften && isRetryable(err) && job.attemptsMade < attempts) return;
    this.logger.error(
      { deliveryId: job.data.deliveryId, requestId: job.data.requestId, err: err.message, attempts: job.attemptsMade },
      'Delivery failed for good',
    );
    await this.deliveries.markFailed(job.data.deliveryId, err);
    const { accessToken: _dropped, ...rest } = job.data;
    await job.update(rest).catch(() => undefined);
  }
}
