import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { AppConfiguration } from '@app/config';
import { RedisConnectionMonitor, redisAddress } from './redis-connection.monitor';

/**
 * One plain Redis connection per process for state that all processes share (Pyrus tokens, the quota), beside
 * Bull's own connections. Keys start with QUEUE_PREFIX, like Bull's.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  readonly keyPrefix: string;

  constructor(config: ConfigService<AppConfiguration, true>) {
    const { url } = config.get('redis', { infer: true });
    this.client = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false });
    // The one warning when Redis goes and the one line when it is back, for the whole process: Bull's connections
    // report their errors to their queue, which ignores them, so this client speaks for all of them.
    new RedisConnectionMonitor(redisAddress(url)).watch(this.client);
    this.keyPrefix = config.get('queue', { infer: true }).prefix;
  }

  key(...parts: string[]): string {
    return [this.keyPrefix, ...parts].join(':');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
