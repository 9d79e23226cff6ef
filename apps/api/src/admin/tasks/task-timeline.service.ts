import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BotRegistry } from '@app/bots';
import { botsInScope } from '../bots-in-scope';

export type TimelineEventKind =
  'delivery' | 'job-attempt' | 'decision' | 'comment-posted' | 'pyrus-call' | 'erp-call' | 'payment' | 'notification';

export interface TimelineEvent {
  at: string;
  kind: TimelineEventKind;
  bot: string;
  [detail: string]: unknown;
}

/**
 * Everything the service did with one task, in time order: each delivery, job attempt, decision (with its reasons),
 * call to Pyrus and the ERP, payment row and notification. One query, so the pieces come from one snapshot.
 */
const TIMELINE_SQL = `
  SELECT at, kind, bot, detail FROM (
    SELECT received_at AS at, 'delivery' AS kind, bot, jsonb_build_object(
             'deliveryId', id, 'event', event, 'status', status, 'retryHeader', retry_header, 'repeatCount', repeat_count,
             'lastError', last_error, 'requestId', request_id) AS detail
      FROM deliveries WHERE bot = ANY($1::text[]) AND task_id = $2
    UNION ALL
    SELECT started_at, 'job-attempt', bot, jsonb_build_object(
             'queue', queue, 'jobId', job_id, 'jobName', job_name, 'attempt', attempt, 'finishedAt', finished_at,
             'outcome', outcome, 'error', error, 'deliveryId', delivery_id, 'paymentId', payment_id)
      FROM job_attempts WHERE bot = ANY($1::text[]) AND task_id = $2
    UNION ALL
    SELECT started_at, 'decision', bot, jsonb_build_object(
             'deliveryId', delivery_id, 'handler', handler, 'outcome', outcome, 'reason', reason, 'comment', comment,
             'attempts', attempts, 'error', error, 'deliveredVia', delivered_via)
      FROM processed_tasks WHERE bot = ANY($1::text[]) AND task_id = $2
    UNION ALL
    SELECT posted_at, 'comment-posted', bot, jsonb_build_object(
             'deliveryId', delivery_id, 'deliveredVia', delivered_via, 'pyrusStatus', pyrus_status, 'pyrusCommentId', pyrus_comment_id)
      FROM processed_tasks WHERE bot = ANY($1::text[]) AND task_id = $2 AND posted_at IS NOT NULL
    UNION ALL
    SELECT at, CASE target WHEN 'pyrus' THEN 'pyrus-call' ELSE 'erp-call' END, bot, jsonb_build_object(
             'operation', operation, 'status', status, 'outcome', outcome, 'error', error, 'durationMs', duration_ms,
             'deliveryId', delivery_id, 'paymentId', payment_id)
      FROM outbound_calls WHERE bot = ANY($1::text[]) AND task_id = $2
    UNION ALL
    SELECT coalesce(decided_at, created_at), 'payment', bot, jsonb_build_object(
             'paymentId', id, 'status', status, 'reason', decision_reason, 'supplierKey', supplier_key,
             'supplierName', supplier_name, 'invoiceNumber', invoice_number, 'invoiceDate', invoice_date, 'amount', amount::text,
             'currency', currency, 'costCentre', cost_centre, 'erpDocumentId', erp_document_id, 'erpOrderedAt', erp_ordered_at,
             'source', source)
      -- The payment row is the task's, shared by the payment bots of its route: shown whichever bot wrote it last.
      FROM payments WHERE task_id = $2
    UNION ALL
    SELECT n.created_at, 'notification', p.bot, jsonb_build_object(
             'paymentId', p.id, 'channel', n.channel, 'recipient', n.recipient, 'status', n.status, 'error', n.error,
             'providerId', n.provider_id)
      FROM notifications n JOIN payments p ON p.id = n.payment_id WHERE p.task_id = $2
  ) events
  ORDER BY at, kind`;

@Injectable()
export class TaskTimelineService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bots: BotRegistry,
  ) {}

  async timeline(taskId: number, bot?: string): Promise<{ taskId: number; events: TimelineEvent[] }> {
    const rows: Array<{ at: Date; kind: TimelineEventKind; bot: string; detail: Record<string, unknown> }> = await this.db.query(
      TIMELINE_SQL,
      [botsInScope(this.bots, bot), taskId],
    );
    if (rows.length === 0) {
      throw new NotFoundException({ code: 'NOT_FOUND', message: `No record of task ${taskId}${bot ? ` for bot "${bot}"` : ''}` });
    }
    return { taskId, events: rows.map((r) => ({ at: r.at.toISOString(), kind: r.kind, bot: r.bot, ...r.detail })) };
  }
}
