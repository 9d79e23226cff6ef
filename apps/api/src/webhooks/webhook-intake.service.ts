import { InjectQueue } from '@nestjs/bull';
import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bull';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AppConfiguration } from '@app/config';
import { insertDeliveries, naturalKey, StoredDeliveryRow } from '@app/database';
import { errorMessage, withTimeout } from '@app/observability';
import { BotHookRequest, deliveryDedupeKey, redactWebhookBody } from '@app/pyrus';
import { DELIVERIES_QUEUE, PROCESS_DELIVERY_JOB, ProcessDeliveryJob } from '@app/queue';
import { Batcher } from './delivery-batcher';

export interface DeliveryMeta {
  bodyBytes: number;
  retryHeader: string | null;
  userAgent: string | null;
  requestId: string;
}

export interface AcceptedDelivery {
  deliveryId: string;
  /** False for a repeat (Pyrus's retry) of a delivery already stored. */
  inserted: boolean;
  /** False when the delivery was already queued earlier, so nothing was added. */
  queuedNow: boolean;
}

interface Incoming {
  bot: string;
  payload: BotHookRequest;
  dedupeKey: string;
  meta: DeliveryMeta;
}

/** Rows one flush may write; 9 parameters each, far below Postgres's 65535. */
const MAX_BATCH = 500;

/**
 * Stores verified deliveries, then queues them: persist first, acknowledge after. Concurrent deliveries share one
 * INSERT, one Redis round trip and one UPDATE (group commit), which is what lets one api process keep up with
 * bursts while every answer still means "in Postgres and in the queue".
 */
@Injectable()
export class WebhookIntakeService {
  private readonly addTimeoutMs: number;
  private readonly batcher = new Batcher<Incoming, AcceptedDelivery>((items) => this.flush(items), MAX_BATCH);
  /** The marks of batches queued while one UPDATE runs go together in the next one. */
  private readonly queuedMarks = new Batcher<string[], void>(async (marks) => {
    await this.markQueued(marks.flat());
    return marks.map(() => undefined);
  }, MAX_BATCH);

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
  accept(bot: string, payload: BotHookRequest, meta: DeliveryMeta): Promise<AcceptedDelivery> {
    return this.batcher.submit({ bot, payload, dedupeKey: deliveryDedupeKey(payload), meta });
  }

  private async flush(items: Incoming[]): Promise<Array<AcceptedDelivery | Error>> {
    const stored = await this.store(items);
    const toQueue = [...new Map(stored.filter((s) => !s.queuedAt).map((s) => [s.id, s])).values()];
    let queueError: Error | undefined;
    if (toQueue.length > 0) {
      try {
        await this.enqueue(
          toQueue.map((s) => ({
            deliveryId: s.id,
            bot: s.item.bot,
            taskId: s.item.payload.task_id,
            accessToken: s.item.payload.access_token,
            requestId: s.item.meta.requestId,
          })),
        );
      } catch (err) {
        this.logger.error({ err: errorMessage(err), deliveries: toQueue.length }, 'Deliveries stored but not queued; the sweeper will queue them');
        queueError = unavailable('QUEUE_UNAVAILABLE', 'The delivery is stored but could not be queued; retry later');
      }
    }
    const queuedIds = new Set(queueError ? [] : toQueue.map((s) => s.id));
    if (queuedIds.size > 0) void this.queuedMarks.submit([...queuedIds]);
    return stored.map((s) =>
      !s.queuedAt && !queuedIds.has(s.id) && queueError
        ? queueError
        : { deliveryId: s.id, inserted: s.inserted, queuedNow: queuedIds.has(s.id) },
    );
  }

  /** One INSERT for the batch; repeats (in the table or within the batch) only bump repeat_count. */
  private async store(items: Incoming[]) {
    const keyOf = (i: Incoming) => naturalKey(i.bot, i.payload.task_id, i.dedupeKey);
    const firstOf = new Map<string, { index: number; repeats: number }>();
    items.forEach((item, index) => {
      const seen = firstOf.get(keyOf(item));
      if (seen) seen.repeats += 1;
      else firstOf.set(keyOf(item), { index, repeats: 0 });
    });
    const unique = [...firstOf.values()];
    let rows: StoredDeliveryRow[];
    try {
      rows = await insertDeliveries(
        this.db,
        unique.map(({ index, repeats }) => {
          const { bot, payload, dedupeKey, meta } = items[index];
          return {
            bot,
            taskId: payload.task_id,
            event: payload.event ?? 'comment',
            dedupeKey,
            retryHeader: meta.retryHeader,
            userAgent: meta.userAgent,
            requestId: meta.requestId,
            bodyBytes: meta.bodyBytes,
            payload: redactWebhookBody(payload),
            repeats,
          };
        }),
      );
    } catch (err) {
      this.logger.error({ err: errorMessage(err), deliveries: items.length }, 'Could not store deliveries');
      throw unavailable('DATABASE_UNAVAILABLE', 'The delivery could not be stored; retry later');
    }
    const byKey = new Map(rows.map((r) => [naturalKey(r.bot, r.taskId, r.dedupeKey), r]));
    return items.map((item, index) => {
      const row = byKey.get(keyOf(item))!;
      const isFirst = firstOf.get(keyOf(item))!.index === index;
      return { item, id: row.id, queuedAt: row.queuedAt, inserted: row.inserted && isFirst };
    });
  }

  private async enqueue(jobs: ProcessDeliveryJob[]): Promise<void> {
    // ioredis would buffer commands while disconnected; fail fast instead and let Pyrus retry.
    if (this.queue.client.status !== 'ready') throw new Error(`Redis connection is ${this.queue.client.status}`);
    await withTimeout(
      this.queue.addBulk(jobs.map((data) => ({ name: PROCESS_DELIVERY_JOB, data, opts: { jobId: data.deliveryId } }))),
      this.addTimeoutMs,
      'Redis did not take the jobs in time',
    );
  }

  /** Not awaited by the answer: the jobs are in Redis; at worst the sweeper re-adds one under its own job id. */
  private async markQueued(ids: string[]): Promise<void> {
    try {
      await this.db.query('UPDATE deliveries SET queued_at = now() WHERE id = ANY($1::uuid[]) AND queued_at IS NULL', [ids]);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), deliveries: ids.length }, 'Queued, but could not record it');
    }
  }
}

function unavailable(code: string, message: string) {
  return new ServiceUnavailableException({ code, message });
}
