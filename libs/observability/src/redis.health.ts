import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Queue } from 'bull';
import { DELIVERIES_QUEUE } from '@app/queue';

/** Redis is up when the queue's own connection answers PING within a second. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @InjectQueue(DELIVERIES_QUEUE) private readonly queue: Queue,
  ) {}

  async isHealthy(key = 'redis') {
    const session = this.health.check(key);
    const client = this.queue.client;
    if (client.status !== 'ready') return session.down({ message: `connection is ${client.status}` });
    try {
      await withTimeout(client.ping(), 1000);
      return session.up();
    } catch (err) {
      return session.down({ message: (err as Error).message });
    }
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
