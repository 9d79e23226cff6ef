import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bull';
import { BotRegistry } from '@app/bots';
import { BotConfig } from '@app/config';
import { FOLLOWUPS_QUEUE, FollowUpJob } from '@app/queue';

/**
 * The generic follow-up queue: queues what a bot's handler declares for a decision that reached Pyrus, and runs each
 * job through that handler. Job ids are `<kind>:<key>`, so a follow-up declared twice (the posting job retried) is
 * queued once; the handler makes a rerun of a done step a no-op. A job that fails its last attempt stays in the queue
 * as failed (removeOnFail is off), where an operator sees and retries it.
 */
@Injectable()
export class FollowUpService {
  constructor(
    @InjectQueue(FOLLOWUPS_QUEUE) private readonly queue: Queue<FollowUpJob>,
    private readonly bots: BotRegistry,
  ) {}

  /** Queues the follow-ups the bot's handler asks for after its decision on the task. */
  async queueAfterDecision(bot: BotConfig, taskId: number, requestId?: string): Promise<void> {
    const handler = this.bots.handlerOf(bot);
    if (!handler.followUpsOf) return;
    const followUps = await handler.followUpsOf(this.bots.botOf(bot), taskId);
    if (!followUps.length) return;
    await this.queue.addBulk(
      followUps.map(({ kind, key, data, callLog }) => ({
        name: kind,
        data: { bot: bot.name, taskId, kind, key, ...(data ? { data } : {}), ...(callLog ? { callLog } : {}), requestId },
        opts: { jobId: `${kind}:${key}` },
      })),
    );
  }

  /** Runs one attempt of a follow-up job through its bot's handler; a throw fails the attempt. */
  async run(job: FollowUpJob, lastAttempt: boolean): Promise<void> {
    const bot = this.bots.find(job.bot);
    if (!bot) throw new Error(`Bot "${job.bot}" is no longer configured`);
    const handler = this.bots.handlerOf(bot);
    if (!handler.runFollowUp) throw new Error(`The handler of bot "${job.bot}" runs no follow-up "${job.kind}"`);
    const { kind, key, data, callLog } = job;
    await handler.runFollowUp(
      this.bots.botOf(bot),
      { kind, key, ...(data ? { data } : {}), ...(callLog ? { callLog } : {}) },
      { lastAttempt },
    );
  }
}
