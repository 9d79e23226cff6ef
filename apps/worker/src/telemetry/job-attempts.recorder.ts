import { Injectable } from '@nestjs/common';
import { Job } from 'bull';
import { errorMessage, MetricsService } from '@app/observability';
import { CallLogWriter } from './call-log.writer';

/** What a job is about; bot and task id, when not given, are read from the delivery or payment when the row is written. */
export interface JobSubject {
  bot?: string;
  taskId?: number;
  deliveryId?: string;
  paymentId?: string;
}

/** Times each job attempt: the duration histogram, the failed-attempts counter, and one job_attempts row. */
@Injectable()
export class JobAttemptsRecorder {
  constructor(
    private readonly metrics: MetricsService,
    private readonly callLog: CallLogWriter,
  ) {}

  /** Runs one attempt of `job` and records it; the result or the error passes through untouched. */
  async track<T>(queue: string, job: Job, subject: JobSubject, run: () => Promise<T>): Promise<T> {
    const startedAt = new Date();
    const t0 = performance.now();
    // attemptsMade counts the attempts that failed before this one.
    const attempt = job.attemptsMade + 1;
    const record = (outcome: 'completed' | 'failed', error?: unknown) => {
      const seconds = (performance.now() - t0) / 1000;
      this.metrics.jobDuration.observe({ queue, job_name: job.name, outcome }, seconds);
      if (outcome === 'failed') this.metrics.jobFailedAttempts.inc({ queue, job_name: job.name });
      this.callLog.recordJobAttempt({
        queue,
        jobId: String(job.id),
        jobName: job.name,
        attempt,
        bot: subject.bot,
        taskId: subject.taskId,
        deliveryId: subject.deliveryId ?? null,
        paymentId: subject.paymentId ?? null,
        startedAt,
        finishedAt: new Date(),
        outcome,
        error: error === undefined ? null : errorMessage(error),
      });
    };
    let result: T;
    try {
      result = await run();
    } catch (err) {
      record('failed', err);
      throw err;
    }
    record('completed');
    return result;
  }
}
