import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bull';
import { BotRegistry } from '@app/bots';
import { MetricsService, QueueDepth, QuotaReading } from '@app/observability';
import { QuotaLimiter } from '@app/pyrus';
import { DELIVERIES_QUEUE, FOLLOWUPS_QUEUE } from '@app/queue';

/**
 * What the worker's gauges read at scrape time, from Redis: Bull's job counts of each queue, and each bot account's
 * quota window. Nothing runs between scrapes.
 */
@Injectable()
export class WorkerGauges implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    @InjectQueue(DELIVERIES_QUEUE) private readonly deliveries: Queue,
    @InjectQueue(FOLLOWUPS_QUEUE) private readonly followUps: Queue,
    private readonly quota: QuotaLimiter,
    private readonly bots: BotRegistry,
  ) {}

  onModuleInit(): void {
    this.metrics.readQueuesWith(() => this.queueDepths());
    this.metrics.readQuotaWith(() => this.quotaReadings());
  }

  async queueDepths(): Promise<QueueDepth[]> {
    return Promise.all(
      [this.deliveries, this.followUps].map(async (queue) => {
        // ioredis would hold the command until Redis is back; a scrape must not wait for that.
        if (queue.client.status !== 'ready') throw new Error(`Redis connection is ${queue.client.status}`);
        return { queue: queue.name, counts: await queue.getJobCounts() };
      }),
    );
  }

  async quotaReadings(): Promise<QuotaReading[]> {
    return Promise.all(
      this.bots.all().map(async (bot) => {
        const { limit, remaining } = await this.quota.window(bot.login);
        return { bot: bot.name, limit, remaining };
      }),
    );
  }
}
