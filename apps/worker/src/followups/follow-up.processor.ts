import { Process, Processor } from '@nestjs/bull';
import { Job } from 'bull';
import { CREATE_PAYMENT_ORDER_JOB, FOLLOWUPS_QUEUE, NOTIFY_VENDOR_JOB, PaymentFollowUpJob } from '@app/queue';
import { FollowUpService } from './follow-up.service';

/** Thin: one service call per job; errors throw so Bull retries with backoff, and the last failure stays visible. */
@Processor(FOLLOWUPS_QUEUE)
export class FollowUpProcessor {
  constructor(private readonly followUps: FollowUpService) {}

  @Process({ name: CREATE_PAYMENT_ORDER_JOB, concurrency: 5 })
  createPaymentOrder(job: Job<PaymentFollowUpJob>): Promise<void> {
    return this.followUps.createPaymentOrder(job.data.paymentId, job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
  }

  @Process({ name: NOTIFY_VENDOR_JOB, concurrency: 5 })
  notifyVendor(job: Job<PaymentFollowUpJob>): Promise<void> {
    return this.followUps.notifyVendor(job.data.paymentId);
  }
}
