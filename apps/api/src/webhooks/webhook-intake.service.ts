import { InjectQueue } from '@nestjs/bull';
import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bull';
import { PinoLogger, InjectPinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AppConfiguration } from '@app/config';
import { withTimeout } from '@app/observability';
import { BotHookRequest, deliveryDedupeKey, redactSecrets } from '@app/pyrus';
import { DELIVERIES_QUEUE, PROCESS_DELIVERY_JOB, ProcessDeliveryJob } from '@app/queue';

export interface DeliveryMeta {
  bodyBytes: number;
  retryHeader: string | null;
  userAgent: string | null;
  requestId: string;
}

/** Stores a verified delivery, then queues it: persist first, acknowledge after. */
@Injectable()
export class WebhookIntakeService {
  private readonly addTimeoutMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(DELIVERIES_QUEUE) private readonly queue: Queue<ProcessDeliveryJob>,
    @InjectPinoLogger(WebhookIntakeService.name) private readonly logger: PinoLogger,
    config: ConfigService<AppConfiguration, true>,
  ) {
    this.addTimeoutMs = config.get('queue', { infer: true }).addTimeoutMs;
  }

  /**
   * Resolves once the delivery is in Postgres and its job in Redis; throws 503 when either is unavailable, so
   * Pyrus retries. A repeat of a stored delivery queues nothing new unless the first never reached the queue.
   */
  async accept(bot: string, payload: BotHookRequest, meta: DeliveryMeta): Promise<{ deliveryId: string; repeated: boolean }> {
    const stored = await this.store(bot, payload, meta);
    const log = { deliveryId: stored.id, bot, taskId: payload.task_id, retry: meta.retryHeader };
    if (stored.queuedAt) {
      this.logger.info(log, 'Repeated delivery; already queued');
      return { deliveryId: stored.id, repeated: true };
    }
    await this.enqueue(stored.id, payload.access_token, meta.requestId);
    this.logger.info(log, stored.inserted ? 'Delivery stored and queued' : 'Repeated delivery queued');
    return { deliveryId: stored.id, repeated: !stored.inserted };
  }

  private async store(bot: string, payload: BotHookRequest, meta: DeliveryMeta) {
    try {
      // One statement: insert, or count the repeat; `xmax = 0` is true only for a freshly inserted row.
      const rows: Array<{ id: string; queued_at: Date | null; inserted: boolean }> = await this.db.query(
        `INSERT INTO deliveries (bot, task_id, event, dedupe_key, retry_header, user_agent, request_id, body_bytes, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (bot, task_id, dedupe_key) DO UPDATE SET repeat_count = deliveries.repeat_count + 1
         RETURNING id, queued_at, (xmax = 0) AS inserted`,
        [
          bot,
          payload.task_id,
          payload.event ?? 'comment',
          deliveryDedupeKey(payload),
          meta.retryHeader,
          meta.userAgent,
          meta.requestId,
          meta.bodyBytes,
          redactSecrets(payload),
        ],
      );
      const row = rows[0];
      return { id: row.id, queuedAt: row.queued_at, inserted: row.inserted };
    } catch (err) {
      this.logger.error({ err: describe(err), bot, taskId: payload.task_id }, 'Could not store the delivery');
      throw unavailable('DATABASE_UNAVAILABLE', 'The delivery could not be stored; retry later');
    }
  }

  private async enqueue(deliveryId: string, accessToken: string | undefined, requestId: string): Promise<void> {
    try {
      // ioredis would buffer commands while disconnected; fail fast instead and let Pyrus retry.
      if (this.queue.client.status !== 'ready') throw new Error(`Redis connection is ${this.queue.client.status}`);
      await withTimeout(
        this.queue.add(PROCESS_DELIVERY_JOB, { deliveryId, accessToken, requestId }, { jobId: deliveryId }),
        this.addTimeoutMs,
        'Redis did not take the job in time',
      );
    } catch (err) {
      this.logger.error({ err: describe(err), deliveryId }, 'Delivery stored but not queued; the sweeper will queue it');
      throw unavailable('QUEUE_UNAVAILABLE', 'The delivery is stored but could not be queued; retry later');
    }
    try {
      await this.db.query('UPDATE deliveries SET queued_at = now() WHERE id = $1 AND queued_at IS NULL', [deliveryId]);
    } catch (err) {
      // The job is in Redis; at worst the sweeper adds it again under the same job id, which changes nothing.
      this.logger.warn({ err: describe(err), deliveryId }, 'Queued, but could not record it');
    }
  }
}

function unavailable(code: string, message: string) {
  return new ServiceUnavailableException({ code, message });
}

/** Error text without stack or connection details (no URL, so no password, reaches the log). */
function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
