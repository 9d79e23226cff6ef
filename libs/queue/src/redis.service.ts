import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { AppConfiguration } from '@app/config';

/**
 * One plain Redis connection per process for state that all processes share (Pyrus tokens, the quota), beside
 * Bull's own connections. Keys start with QUEUE_PREFIX, like Bull's.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  readonly keyPrefix: string;

  constructor(config: ConfigService<AppConfiguration, true>) {
    this.client = new Redis(config.get('redis', { infer: true }).url, { maxRetriesPerRequest: 3, lazyConnect: false });
    this.keyPrefix = config.get('queue', { infer: true }).prefix;
  }

  key(...parts: string[]): string {
    return [this.keyPrefix, ...parts].join(':');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
