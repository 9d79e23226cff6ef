import { Process, Processor } from '@nestjs/bull';
import { Job } from 'bull';
import { FOLLOWUPS_QUEUE, FollowUpJob } from '@app/queue';
import { JobAttemptsRecorder } from '../telemetry/job-attempts.recorder';
import { FollowUpService } from './follow-up.service';

/**
 * Thin: one service call per job, whatever its name (a follow-up's kind, declared by a bot's handler); errors throw
 * so Bull retries with backoff (unless the error says `retryable: false`), and the last failure stays visible. The
 * concurrency covers every kind of follow-up at once.
 */
@Processor(FOLLOWUPS_QUEUE)
export class FollowUpProcessor {
  constructor(
    private readonly followUps: FollowUpService,
    private readonly attempts: JobAttemptsRecorder,
  ) {}

  @Process({ name: '*', concurrency: 10 })
  run(job: Job<FollowUpJob>): Promise<void> {
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const subject = { bot: job.data.bot, taskId: job.data.taskId, ...job.data.callLog };
    return this.attempts.track(FOLLOWUPS_QUEUE, job, subject, async () => {
      try {
        await this.followUps.run(job.data, lastAttempt);
      } catch (err) {
        // An error that says no retry can help (a service refusing the request with a 4xx) fails the job for good now.
        if (notRetryable(err)) await job.discard();
        throw err;
      }
    });
  }
}

function notRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'retryable' in err && err.retryable === false;
}
