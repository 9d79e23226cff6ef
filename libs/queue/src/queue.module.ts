import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration } from '@app/config';
import { PATIENT_BACKOFF, patientBackoffStrategy } from './patient-retry';
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
          url: config.get('redis', { infer: true }).url,
          // Bull's own reconnect delay grows to 20 s, so jobs would sit up to 20 s after Redis is back; 2 s at most, as
          // ioredis does by default for the shared client.
          redis: { retryStrategy: (times: number) => Math.min(times * 100, 2000) },
          prefix: queue.prefix,
          settings: {
            // A dead worker's job is taken up again once its lock has run out and two stalled checks have seen it:
            // about the lock plus up to three intervals after the crash (see QUEUE_LOCK_DURATION_MS and
            // QUEUE_STALLED_INTERVAL_MS).
            lockDuration: queue.lockDurationMs,
            // Bull's own rule, written out: renewed at half its life, so a renewal may come up to half the lock late
            // (an event loop held up by a GC or a blocking call) before another worker can take the job.
            lockRenewTime: queue.lockDurationMs / 2,
            stalledInterval: queue.stalledIntervalMs,
            // Bull's default. A job whose lock runs out a second time fails instead of going back to the queue: a job
            // that kills its worker (out of memory) cannot take every worker down in turn. An operator retries it.
            maxStalledCount: 1,
            // A patient job (a follow-up its handler declares so) waits longer between attempts, up to a cap, and gets
            // as many as fit in FOLLOWUP_PATIENCE_MS (patientJobOptions).
            backoffStrategies: {
              [PATIENT_BACKOFF]: patientBackoffStrategy({ delayMs: queue.backoffMs, maxDelayMs: queue.followUpRetryMaxDelayMs }),
            },
          },
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
