import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration } from '@app/config';
import { DELIVERIES_QUEUE, FOLLOWUPS_QUEUE } from './queue.constants';
import { RedisService } from './redis.service';

/** Bull on Redis, with the retry policy of every job in one place. */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfiguration, true>) => {
        const queue = config.get('queue', { infer: true });
        return {
          redis: config.get('redis', { infer: true }).url,
          prefix: queue.prefix,
          defaultJobOptions: {
            attempts: queue.attempts,
            backoff: { type: 'exponential', delay: queue.backoffMs },
            removeOnComplete: 1000,
            // Failed jobs stay visible (and retryable) until an operator clears them.
            removeOnFail: false,
          },
        };
      },
    }),
    BullModule.registerQueue({ name: DELIVERIES_QUEUE }, { name: FOLLOWUPS_QUEUE }),
  ],
  providers: [RedisService],
  exports: [BullModule, RedisService],
})
export class QueueModule {}
