import { Process, Processor } from '@nestjs/bull';
import { Job } from 'bull';
import { CREATE_PAYMENT_ORDER_JOB, FOLLOWUPS_QUEUE, NOTIFY_VENDOR_JOB, PaymentFollowUpJob } from '@app/queue';
import { JobAttemptsRecorder } from '../telemetry/job-attempts.recorder';
import { FollowUpService } from './follow-up.service';

/** Thin: one service call per job; errors throw so Bull retries with backoff, and the last failure stays visible. */
@Processor(FOLLOWUPS_QUEUE)
export class FollowUpProcessor {
  constructor(
    private readonly followUps: FollowUpService,
    private readonly attempts: JobAttemptsRecorder,
  ) {}

  @Process({ name: CREATE_PAYMENT_ORDER_JOB, concurrency: 5 })
  createPaymentOrder(job: Job<PaymentFollowUpJob>): Promise<void> {
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    return this.attempts.track(FOLLOWUPS_QUEUE, job, { paymentId: job.data.paymentId }, () =>
      this.followUps.createPaymentOrder(job.data.paymentId, lastAttempt),
    );
  }

  @Process({ name: NOTIFY_VENDOR_JOB, concurrency: 5 })
  notifyVendor(job: Job<PaymentFollowUpJob>): Promise<void> {
    return this.attempts.track(FOLLOWUPS_QUEUE, job, { paymentId: job.data.paymentId }, () =>
      this.followUps.notifyVendor(job.data.paymentId),
    );
  }
}
