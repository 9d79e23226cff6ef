import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BotRegistry } from '@app/bots';
import { botsInScope } from '../bots-in-scope';
import { ISO_TIME, newestFirstPage, Page } from '../pagination';
import { ListDeliveriesQuery } from './deliveries.dto';

export interface DeliverySummary {
  id: string;
  bot: string;
  taskId: number;
  event: string;
  status: string;
  receivedAt: string;
  queuedAt: string | null;
  repeatCount: number;
  lastError: string | null;
  requestId: string;
  bodyBytes: number;
}

/** A delivery as get() reads it: the summary, the request's headers and the redacted payload. */
interface DeliveryRow extends DeliverySummary {
  dedupeKey: string;
  retryHeader: string | null;
  userAgent: string | null;
  payload: unknown;
}

/** The decision, the job attempts and the outbound calls are passed through as the database gives them. */
type Row = Record<string, unknown>;

const SUMMARY_COLUMNS = `id, bot, task_id::float8 AS "taskId", event, status, ${ISO_TIME('received_at')} AS "receivedAt", ${ISO_TIME('queued_at')} AS "queuedAt",
  repeat_count AS "repeatCount", last_error AS "lastError", request_id AS "requestId", body_bytes AS "bodyBytes"`;

/** Deliveries as stored: newest first, by (received_at, id), with the filters an auditor needs. */
@Injectable()
export class DeliveriesQueryService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bots: BotRegistry,
  ) {}

  async list(q: ListDeliveriesQuery): Promise<Page<DeliverySummary>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const arg = (value: unknown) => `$${params.push(value)}`;
    if (q.taskId !== undefined) {
      where.push(`bot = ANY(${arg(botsInScope(this.bots, q.bot))}::text[])`, `task_id = ${arg(q.taskId)}`);
    } else if (q.bot) {
      where.push(`bot = ${arg(q.bot)}`);
    }
    if (q.status) where.push(`status = ${arg(q.status)}`);
    if (q.receivedFrom) where.push(`received_at >= ${arg(q.receivedFrom)}::timestamptz`);
    if (q.receivedTo) where.push(`received_at < ${arg(q.receivedTo)}::timestamptz`);
    return newestFirstPage<DeliverySummary>(this.db, {
      from: 'deliveries',
      columns: SUMMARY_COLUMNS,
      time: 'received_at',
      where,
      params,
      limit: q.limit,
      cursor: q.cursor,
    });
  }

  /** One delivery: its headers, the redacted payload, the decision, and what the workers did with it. */
  async get(id: string) {
    const [delivery] = await this.db.query<DeliveryRow[]>(
      `SELECT ${SUMMARY_COLUMNS}, dedupe_key AS "dedupeKey", retry_header AS "retryHeader", user_agent AS "userAgent", payload
         FROM deliveries WHERE id = $1`,
      [id],
    );
    if (!delivery) throw new NotFoundException({ code: 'NOT_FOUND', message: `No delivery ${id}` });
    const { retryHeader, userAgent, requestId, ...rest } = delivery;
    const [decision] = await this.db.query<Row[]>(
      `SELECT id, handler, outcome, reason, comment, delivered_via AS "deliveredVia", pyrus_status AS "pyrusStatus",
              pyrus_comment_id::float8 AS "pyrusCommentId", attempts, error, started_at AS "startedAt", posted_at AS "postedAt", finished_at AS "finishedAt"
         FROM processed_tasks WHERE delivery_id = $1`,
      [id],
    );
    const attempts = await this.db.query<Row[]>(
      `SELECT queue, job_id AS "jobId", job_name AS "jobName", attempt, started_at AS "startedAt", finished_at AS "finishedAt", outcome, error
         FROM job_attempts WHERE bot = $1 AND task_id = $2 AND delivery_id = $3 ORDER BY started_at, id`,
      [delivery.bot, delivery.taskId, id],
    );
    const calls = await this.db.query<Row[]>(
      `SELECT target, operation, status, outcome, error, duration_ms AS "durationMs", at
         FROM outbound_calls WHERE bot = $1 AND task_id = $2 AND delivery_id = $3 ORDER BY at, id`,
      [delivery.bot, delivery.taskId, id],
    );
    return {
      ...rest,
      headers: { 'x-pyrus-retry': retryHeader, 'user-agent': userAgent, 'x-request-id': requestId },
      decision: decision ?? null,
      attempts,
      calls,
    };
  }
}
