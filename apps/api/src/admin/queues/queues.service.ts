import { InjectQueue } from '@nestjs/bull';
import { Injectable, NotFoundException } from '@nestjs/common';
import { Job, Queue } from 'bull';
import { DELIVERIES_QUEUE, FOLLOWUPS_QUEUE } from '@app/queue';

export interface FailedJob {
  id: string;
  name: string;
  data: Record<string, unknown>;
  failedReason: string | undefined;
  attemptsMade: number;
  queuedAt: string;
  failedAt: string | null;
}

/** The Bull queues as an operator sees them: counts per state, failed jobs, and retrying them. */
@Injectable()
export class QueuesService {
  private readonly queues: Map<string, Queue>;

  constructor(@InjectQueue(DELIVERIES_QUEUE) deliveries: Queue, @InjectQueue(FOLLOWUPS_QUEUE) followUps: Queue) {
    this.queues = new Map([
      [DELIVERIES_QUEUE, deliveries],
      [FOLLOWUPS_QUEUE, followUps],
    ]);
  }

  async counts() {
    return Promise.all(
      [...this.queues].map(async ([name, queue]) => ({ name, paused: await queue.isPaused(), counts: await queue.getJobCounts() })),
    );
  }

  async failed(name: string, start: number, limit: number): Promise<{ total: number; items: FailedJob[] }> {
    const queue = this.queue(name);
    const [total, jobs] = await Promise.all([queue.getFailedCount(), queue.getFailed(start, start + limit - 1)]);
    return { total, items: jobs.filter(Boolean).map(describe) };
  }

  /**
   * Retries one failed job; 404 when the queue holds no failed job of that id. A failed delivery's job, run again,
   * decides the delivery afresh (the worker's DeliveryService.process).
   */
  async retry(name: string, jobId: string): Promise<{ retried: string[] }> {
    const queue = this.queue(name);
    const job = await queue.getJob(jobId);
    if (!job || !(await job.isFailed())) {
      throw new NotFoundException({ code: 'NOT_FOUND', message: `No failed job ${jobId} in queue ${name}` });
    }
    await job.retry();
    return { retried: [String(job.id)] };
  }

  /** Retries every failed job of the queue, in pages so a large backlog is not read in one go. */
  async retryAll(name: string): Promise<{ retried: string[] }> {
    const queue = this.queue(name);
    const retried: string[] = [];
    for (;;) {
      const jobs = (await queue.getFailed(0, 99)).filter((job) => job && !retried.includes(String(job.id)));
      // A job that stays failed after its retry is not taken twice: the loop ends when a page brings nothing new.
      if (jobs.length === 0) break;
      for (const job of jobs) {
        await job.retry();
        retried.push(String(job.id));
      }
    }
    return { retried };
  }

  private queue(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue)
      throw new NotFoundException({ code: 'NOT_FOUND', message: `No queue "${name}"; there are ${[...this.queues.keys()].join(', ')}` });
    return queue;
  }
}

function describe(job: Job): FailedJob {
  // The webhook's bearer token may still be in a job that failed before the worker dropped it: never shown.
  const { accessToken: _secret, ...data } = job.data as Record<string, unknown>;
  return {
    id: String(job.id),
    name: job.name,
    data,
    failedReason: job.failedReason,
    attemptsMade: job.attemptsMade,
    queuedAt: new Date(job.timestamp).toISOString(),
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}
