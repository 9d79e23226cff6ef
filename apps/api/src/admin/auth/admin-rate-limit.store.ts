import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { errorMessage, withTimeout } from '@app/observability';
import { RedisService } from '@app/queue';

type ThrottlerRecord = Awaited<ReturnType<ThrottlerStorageRedisService['increment']>>;

/**
 * The /admin rate limit's counters, in Redis: one count for all api replicas, and constant time per request (the
 * throttler's in-memory store keeps and scans one timestamp per request of the last minute). Keys carry QUEUE_PREFIX
 * like the rest of the service's. Redis down: 503, as for every other stopped dependency.
 */
@Injectable()
export class AdminRateLimitStore extends ThrottlerStorageRedisService {
  constructor(private readonly redisService: RedisService) {
    super(redisService.client);
  }

  override async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerRecord> {
    try {
      return await withTimeout(super.increment(this.redisService.key('admin-rate', key), ttl, limit, blockDuration, throttlerName), 1000);
    } catch (err) {
      throw new ServiceUnavailableException({
        code: 'RATE_LIMIT_UNAVAILABLE',
        message: `The rate limit's store (Redis) did not answer: ${errorMessage(err)}`,
      });
    }
  }
}
