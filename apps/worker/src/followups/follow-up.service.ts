import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JobOptions, Queue } from 'bull';
import { BotRegistry, FollowUp } from '@app/bots';
import { AppConfiguration, BotConfig } from '@app/config';
import { FOLLOWUPS_QUEUE, FollowUpJob, patientJobOptions } from '@app/queue';
import { InboxSweeper } from '../inbox/inbox.sweeper';

/**
 * The generic follow-up queue: queues what a bot's handler declares for a decision that reached Pyrus, and runs each
 * job through that handler. Job ids are `<kind>:<key>`, so a follow-up declared twice (the posting job retried) is
 * queued once; the handler makes a rerun of a done step a no-op. A job that fails its last attempt stays in the queue
 * as failed (removeOnFail is off), where an operator sees and retries it. A follow-up its handler declares patient
 * gets the attempts and the capped backoff of FOLLOWUP_PATIENCE_MS instead of the queue's default.
 */
@Injectable()
export class FollowUpService {
  private readonly patient: JobOptions;

  constructor(
    @InjectQueue(FOLLOWUPS_QUEUE) private readonly queue: Queue<FollowUpJob>,
    private readonly bots: BotRegistry,
    private readonly catchUp: InboxSweeper,
    config: ConfigService<AppConfiguration, true>,
  ) {
    this.patient = patientJobOptions(config.get('queue', { infer: true }));
  }

  /** Queues the follow-ups the bot's handler asks for after its decision on the task. */
  async queueAfterDecision(bot: BotConfig, taskId: number, requestId?: string): Promise<void> {
    const handler = this.bots.handlerOf(bot);
    if (!handler.followUpsOf) return;
    const followUps = await handler.followUpsOf(this.bots.botOf(bot), taskId);
    if (!followUps.length) return;
    await this.queue.addBulk(followUps.map((followUp) => this.jobOf(bot, taskId, followUp, requestId)));
  }

  /**
   * Queues again, under the same job id, every follow-up a handler reports as not done whose job is no longer in Redis
   * (lost with its data), or completed although the work is not done. A failed job stays failed: that is the visible
   * state an operator acts on. Returns how many were queued.
   */
  async requeueOutstanding(olderThan: Date): Promise<number> {
    let requeued = 0;
    for (const bot of this.bots.all()) {
      const handler = this.bots.handlerOf(bot);
      if (!handler.outstandingFollowUps) continue;
      for (const { taskId, followUp } of await handler.outstandingFollowUps(this.bots.botOf(bot), olderThan)) {
        const job = this.jobOf(bot, taskId, followUp);
        const existing = await this.queue.getJob(job.opts.jobId);
        if (existing) {
          if ((await existing.getState()) !== 'completed') continue;
          await existing.remove();
        }
        await this.queue.add(job.name, job.data, job.opts);
        requeued += 1;
      }
    }
    return requeued;
  }

  /**
   * Runs one attempt of a follow-up job through its bot's handler; a throw fails the attempt. When the handler asks for
   * the task to be decided again, a delivery of the task is stored and queued (the inbox sweep's catch-up), so the
   * decision takes the normal path and its claim; failing to store it fails the attempt, and the retry asks again.
   */
  async run(job: FollowUpJob, lastAttempt: boolean): Promise<void> {
    const bot = this.bots.find(job.bot);
    if (!bot) throw new Error(`Bot "${job.bot}" is no longer configured`);
    const handler = this.bots.handlerOf(bot);
    if (!handler.runFollowUp) throw new Error(`The handler of bot "${job.bot}" runs no follow-up "${job.kind}"`);
    const { kind, key, data, callLog } = job;
    const result = await handler.runFollowUp(
      this.bots.botOf(bot),
      { kind, key, ...(data ? { data } : {}), ...(callLog ? { callLog } : {}) },
      { lastAttempt },
    );
    if (result?.decideAgain) await this.catchUp.decideAgain(bot, job.taskId);
  }

  /**
   * A follow-up as its Bull job: named by its kind, with the id `<kind>:<key>` that makes it one job however often
   * queued; a patient one with its own attempts and backoff, the others with the queue's.
   */
  private jobOf(bot: BotConfig, taskId: number, { kind, key, data, callLog, patient }: FollowUp, requestId?: string) {
    return {
      name: kind,
      data: { bot: bot.name, taskId, kind, key, ...(data ? { data } : {}), ...(callLog ? { callLog } : {}), requestId } as FollowUpJob,
      opts: { jobId: `${kind}:${key}`, ...(patient ? this.patient : {}) },
    };
  }
}
