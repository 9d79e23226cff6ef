import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Job, Queue } from 'bull';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AppConfiguration } from '@app/config';
import { DeliveredVia, Delivery, insertDeliveries, naturalKey, NewDelivery, prepared, SqlRunner, StoredDeliveryRow } from '@app/database';
import { errorMessage, withTimeout } from '@app/observability';
import { BotHookRequest, deliveryDedupeKey, redactWebhookBody, StorablePayload, TaskCommentRequest } from '@app/pyrus';
import { DELIVERIES_QUEUE, PROCESS_DELIVERY_JOB, ProcessDeliveryJob } from '@app/queue';
import { Batcher } from './batcher';

/** A verified delivery to store and queue: from a webhook, or made up by the inbox sweep from a task it read. */
export interface Admission {
  bot: string;
  /** Already made storable (toStorablePayload); the access token is redacted here, before storing. */
  storable: StorablePayload;
  retryHeader: string | null;
  userAgent: string | null;
  requestId: string;
  bodyBytes: number;
  /** Epoch ms until which the caller waits to answer with the decision (see ProcessDeliveryJob.answerBy). */
  answerBy?: number;
}

export interface Admitted {
  deliveryId: string;
  /** False for a repeat (Pyrus's retry, or the sweep finding what a webhook stored) of a delivery already stored. */
  inserted: boolean;
  /** False when the delivery was already queued earlier, so nothing was added. */
  queuedNow: boolean;
}

/** Why one admission was not taken. `retryable` tells the caller whether a retry (Pyrus's, the sweep's) can help. */
export class AdmissionError extends Error {
  constructor(
    readonly code: 'DATABASE_UNAVAILABLE' | 'QUEUE_UNAVAILABLE' | 'PAYLOAD_REFUSED',
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** What the api's side of the hand-over found: the comment to answer with, or whether the delivery was decided at all. */
export interface InlineClaim {
  comment?: TaskCommentRequest;
  /** A decision (or a skip) is recorded: without a comment, it is not this api's to answer with, and none will come. */
  decided: boolean;
}

export interface ReconcileResult {
  /** Unfinished deliveries old enough to look at. */
  checked: number;
  /** Of those, queued again because their job was missing or will never run. */
  requeued: number;
}

// The record and the delivery in one statement: one round trip, and never one without the other.
const FINISH_POSTED = prepared(
  `WITH posted AS (
     UPDATE processed_tasks SET outcome = 'posted', pyrus_status = 200, pyrus_comment_id = $3, posted_at = now(), finished_at = now(), error = NULL
      WHERE id = $2)
   UPDATE deliveries SET status = 'processed', last_error = NULL WHERE id = $1`,
);
// Answered in the webhook's answer: Pyrus applies it as it takes the answer, so it counts as posted, with no comment id.
const FINISH_ANSWERED_INLINE = prepared(
  `WITH answered AS (
     UPDATE processed_tasks SET outcome = 'posted', posted_at = now(), finished_at = now(), error = NULL
      WHERE id = $2 AND delivered_via = 'inline')
   UPDATE deliveries SET status = 'processed', last_error = NULL WHERE id = $1`,
);
// The api's side of the hand-over: takes a recorded decision nobody delivered yet, or finds it taken by an api before
// (the same answer for Pyrus's retry), and returns the comment to answer with; nothing when the worker took it.
// `decided` tells a repeat that finds nothing to answer with whether a decision may still come. A posted decision with
// no delivered_via was posted by a worker older than the hand-over: the API has it.
const CLAIM_INLINE = prepared(
  `WITH claimed AS (
     UPDATE processed_tasks SET delivered_via = 'inline'
      WHERE delivery_id = $1 AND comment IS NOT NULL
        AND ((outcome = 'posting' AND delivered_via IS NULL) OR (outcome IN ('posting', 'posted') AND delivered_via = 'inline'))
     RETURNING comment)
   SELECT (SELECT comment FROM claimed) AS comment, EXISTS (SELECT 1 FROM processed_tasks WHERE delivery_id = $1) AS decided`,
);
// The worker's side: takes the decision for the API unless an api answered with it; says who has it either way.
const CLAIM_FOR_API = prepared(
  `UPDATE processed_tasks SET delivered_via = coalesce(delivered_via, 'api') WHERE id = $1 RETURNING delivered_via`,
);
// A skipped delivery's record replaces an earlier one of the same delivery (a failed or skipped one decided afresh).
const FINISH_SKIPPED = `WITH skipped AS (
     INSERT INTO processed_tasks (delivery_id, bot, task_id, handler, outcome, reason, received_at, started_at, finished_at)
     VALUES ($1, $2, $3, $4, 'skipped', $5, $6, now(), now())
     ON CONFLICT (delivery_id) DO UPDATE SET
       bot = EXCLUDED.bot, task_id = EXCLUDED.task_id, handler = EXCLUDED.handler, outcome = 'skipped', reason = EXCLUDED.reason,
       comment = NULL, claim_key = NULL, delivered_via = NULL, error = NULL, pyrus_status = NULL, started_at = now(), finished_at = now())
   UPDATE deliveries SET status = 'skipped' WHERE id = $1`;
// Gives the claim back too: the outcome leaves the claim index's 'posting'/'posted'.
// A decision an api took for its answer reached Pyrus whatever failed after: it ends posted, never failed, so a replay
// cannot make a second comment. One UPDATE decides on the row as it stands once locked: an api's claim committing
// meanwhile is seen (two UPDATEs would both judge the row before that claim, and neither would change it). Returns
// whether the delivery ended that way.
const MARK_FAILED = `WITH ended AS (
     UPDATE processed_tasks SET
       outcome = CASE WHEN delivered_via = 'inline' THEN 'posted' ELSE 'failed' END,
       posted_at = CASE WHEN delivered_via = 'inline' THEN now() ELSE posted_at END,
       error = CASE WHEN delivered_via = 'inline' THEN NULL ELSE $2 END,
       finished_at = now()
      WHERE delivery_id = $1 AND outcome = 'posting'
     RETURNING outcome)
   UPDATE deliveries SET
     status = CASE WHEN EXISTS (SELECT 1 FROM ended WHERE outcome = 'posted') THEN 'processed' ELSE 'failed' END,
     last_error = CASE WHEN EXISTS (SELECT 1 FROM ended WHERE outcome = 'posted') THEN NULL ELSE $2 END
    WHERE id = $1 AND status = 'received'
   RETURNING status`;

/** Rows one flush may write; 11 parameters each, far below PostgreSQL's 65535. */
const MAX_BATCH = 500;
/**
 * Bull states of a job that will never run again by itself. Any other state is left alone: Bull reads a state in
 * several calls, so a job moving between two lists (active to delayed, for its retry) can read as "stuck" meanwhile.
 */
const FINISHED_JOB_STATES = new Set(['completed', 'failed']);
/**
 * SQLSTATE classes of a statement PostgreSQL refused for its content: data exceptions (22: a character it cannot
 * hold, a number out of range), program limits (54: too deep, too large). A retry of the same row fails the same way.
 */
const REFUSED_CONTENT = /^(22|54)/;

interface Incoming extends Admission {
  dedupeKey: string;
  countRepeats: boolean;
}

/**
 * The one owner of a delivery's way from stored to queued to decided: the api's intake, the inbox sweep, the
 * reconciliation, the admin replay and the worker all go through here, so "in PostgreSQL, then in Bull under the
 * delivery's id" holds for every path, and a status changes in one place. Concurrent admissions share one INSERT, one Redis round trip and one UPDATE (group commit).
 */
@Injectable()
export class DeliveryJourney {
  private readonly addTimeoutMs: number;
  private readonly admissions = new Batcher<Incoming, Admitted>((items) => this.admitBatch(items), MAX_BATCH);
  /** The queued marks of batches queued while one UPDATE runs go together in the next one. */
  private readonly queuedMarks = new Batcher<string[], void>(async (marks) => {
    await this.markQueued(marks.flat());
    return marks.map(() => undefined);
  }, MAX_BATCH);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(DELIVERIES_QUEUE) private readonly queue: Queue<ProcessDeliveryJob>,
    @InjectPinoLogger(DeliveryJourney.name) private readonly logger: PinoLogger,
    config: ConfigService<AppConfiguration, true>,
  ) {
    this.addTimeoutMs = config.get('queue', { infer: true }).addTimeoutMs;
  }

  /**
   * Resolves once the delivery is in PostgreSQL and its job in Redis; rejects with an AdmissionError otherwise. A
   * repeat of a stored delivery queues nothing new unless the first never reached the queue. `countRepeats: false`
   * for a caller that is not Pyrus (the inbox sweep), so repeat_count keeps meaning "Pyrus's retries".
   */
  admit(admission: Admission, options: { countRepeats?: boolean } = {}): Promise<Admitted> {
    const dedupeKey = deliveryDedupeKey(admission.storable.payload);
    return this.admissions.submit({ ...admission, dedupeKey, countRepeats: options.countRepeats ?? true });
  }

  private async admitBatch(items: Incoming[]): Promise<Array<Admitted | Error>> {
    // Postgres counts a repeat through ON CONFLICT only within one statement's own flavour of it.
    const counted = items.filter((i) => i.countRepeats);
    const uncounted = items.filter((i) => !i.countRepeats);
    const results = new Map<Incoming, Admitted | Error>();
    for (const [group, countRepeats] of [
      [counted, true],
      [uncounted, false],
    ] as const) {
      if (group.length === 0) continue;
      const stored = await this.store(group, countRepeats);
      const queued = await this.queueNew(stored.filter((s): s is StoredItem => !(s instanceof Error)));
      group.forEach((item, i) => results.set(item, stored[i] instanceof Error ? stored[i] : queued.get(stored[i])!));
    }
    return items.map((item) => results.get(item)!);
  }

  /**
   * One INSERT for the batch; repeats (in the table or within the batch) only bump repeat_count. When PostgreSQL
   * refuses the batch for one row's content, each row is stored on its own, so only that row fails.
   */
  private async store(items: Incoming[], countRepeats: boolean): Promise<Array<StoredItem | AdmissionError>> {
    const keyOf = (i: Incoming) => naturalKey(i.bot, i.storable.payload.task_id, i.dedupeKey);
    const firstOf = new Map<string, { index: number; repeats: number }>();
    items.forEach((item, index) => {
      const seen = firstOf.get(keyOf(item));
      if (seen) seen.repeats += 1;
      else firstOf.set(keyOf(item), { index, repeats: 0 });
    });
    const unique = [...firstOf.values()].map(({ index, repeats }) => toRow(items[index], repeats));
    let rows: Array<StoredDeliveryRow | AdmissionError>;
    try {
      rows = await insertDeliveries(this.db, unique, { countRepeats });
    } catch (err) {
      if (!refusedForContent(err) || unique.length === 1) {
        rows = unique.map(() => storeError(err));
        this.logger.error({ err: errorMessage(err), deliveries: items.length }, 'Could not store deliveries');
      } else {
        this.logger.warn(
          { err: errorMessage(err), deliveries: unique.length },
          'PostgreSQL refused a batch of deliveries; storing them one by one',
        );
        rows = await Promise.all(
          unique.map((row) =>
            insertDeliveries(this.db, [row], { countRepeats }).then(
              ([r]) => r,
              (rowErr: unknown) => {
                this.logger.warn({ err: errorMessage(rowErr), bot: row.bot, taskId: row.taskId }, 'PostgreSQL refused a delivery');
                return storeError(rowErr);
              },
            ),
          ),
        );
      }
    }
    const byKey = new Map<string, StoredDeliveryRow | AdmissionError>();
    unique.forEach((row, i) => byKey.set(naturalKey(row.bot, row.taskId, row.dedupeKey), rows[i]));
    return items.map((item, index) => {
      const row = byKey.get(keyOf(item))!;
      if (row instanceof AdmissionError) return row;
      const isFirst = firstOf.get(keyOf(item))!.index === index;
      return { item, row, inserted: row.inserted && isFirst };
    });
  }

  /** Adds a job for each stored delivery not queued yet; when Redis does not take them, each gets a retryable error. */
  private async queueNew(stored: StoredItem[]): Promise<Map<StoredItem, Admitted | AdmissionError>> {
    const toQueue = [...new Map(stored.filter((s) => !s.row.queuedAt).map((s) => [s.row.id, s])).values()];
    let queueError: AdmissionError | undefined;
    if (toQueue.length > 0) {
      try {
        await this.addJobs(
          toQueue.map((s) => ({
            deliveryId: s.row.id,
            bot: s.item.bot,
            taskId: s.item.storable.payload.task_id,
            accessToken: s.item.storable.payload.access_token,
            requestId: s.item.requestId,
            ...(s.item.answerBy !== undefined ? { answerBy: s.item.answerBy } : {}),
          })),
        );
      } catch (err) {
        this.logger.error(
          { err: errorMessage(err), deliveries: toQueue.length },
          'Deliveries stored but not queued; the reconciliation will queue them',
        );
        queueError = new AdmissionError('QUEUE_UNAVAILABLE', 'The delivery is stored but could not be queued; retry later', true);
      }
    }
    const queuedIds = new Set(queueError ? [] : toQueue.map((s) => s.row.id));
    if (queuedIds.size > 0) void this.queuedMarks.submit([...queuedIds]);
    return new Map(
      stored.map((s) => [
        s,
        !s.row.queuedAt && !queuedIds.has(s.row.id) && queueError
          ? queueError
          : { deliveryId: s.row.id, inserted: s.inserted, queuedNow: queuedIds.has(s.row.id) },
      ]),
    );
  }

  /** The job id is the delivery id, so a second add of the same delivery is a no-op while Bull holds the first. */
  private async addJobs(jobs: ProcessDeliveryJob[]): Promise<void> {
    this.failFastWithoutRedis();
    await withTimeout(
      this.queue.addBulk(jobs.map((data) => ({ name: PROCESS_DELIVERY_JOB, data, opts: { jobId: data.deliveryId } }))),
      this.addTimeoutMs,
      'Redis did not take the jobs in time',
    );
  }

  /** ioredis would buffer commands while disconnected; fail fast instead and let the caller retry. */
  private failFastWithoutRedis(): void {
    if (this.queue.client.status !== 'ready') throw new Error(`Redis connection is ${this.queue.client.status}`);
  }

  /** Not awaited by the answer: the jobs are in Redis, and queued_at is for the audit, not for the reconciliation. */
  private async markQueued(ids: string[], runner: SqlRunner = this.db): Promise<void> {
    try {
      await runner.query('UPDATE deliveries SET queued_at = now() WHERE id = ANY($1::uuid[]) AND queued_at IS NULL', [ids]);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), deliveries: ids.length }, 'Queued, but could not record it');
    }
  }

  /** Decided and on the task: the record says which comment, the delivery is done. */
  async finishPosted(deliveryId: string, recordId: string, commentId: number | null): Promise<void> {
    await this.db.query(FINISH_POSTED, [deliveryId, recordId, commentId]);
  }

  /**
   * The hand-over claim, api side: the decision of this delivery, now the api's to answer with, when it is recorded
   * and the worker has not taken it for the API (or an api answered with it before: Pyrus's retry gets the same
   * answer). Both sides move delivered_via only from NULL, so exactly one of them delivers.
   */
  async claimInline(deliveryId: string): Promise<InlineClaim> {
    const [row] = await this.db.query<Array<{ comment: TaskCommentRequest | null; decided: boolean }>>(CLAIM_INLINE, [deliveryId]);
    return row.comment ? { comment: row.comment, decided: true } : { decided: row.decided };
  }

  /** The hand-over claim, worker side: 'api' when the worker is to post the decision, 'inline' when an api answered with it. */
  async claimForApi(recordId: string): Promise<DeliveredVia> {
    const [rows] = await this.db.query<[Array<{ delivered_via: DeliveredVia }>, number]>(CLAIM_FOR_API, [recordId]);
    if (!rows[0]) throw new Error(`The decision record ${recordId} is gone`);
    return rows[0].delivered_via;
  }

  /** An api answered the webhook with the decision: the record and the delivery are done, with no API call. */
  async finishAnsweredInline(deliveryId: string, recordId: string): Promise<void> {
    await this.db.query(FINISH_ANSWERED_INLINE, [deliveryId, recordId]);
  }

  /** The inbox sweep found the comment of a decision answered inline on the task: Pyrus applied it, and this is its id. */
  async confirmAnsweredInline(recordId: string, commentId: number): Promise<void> {
    await this.db.query(
      `UPDATE processed_tasks SET pyrus_comment_id = $2 WHERE id = $1 AND delivered_via = 'inline' AND pyrus_comment_id IS NULL`,
      [recordId, commentId],
    );
  }

  /**
   * A decision answered inline that Pyrus never applied (every attempt of the webhook lost its answer, and the task
   * still waits with nothing new): its record fails, which frees its claim, and the delivery goes back to the worker,
   * queued without an api waiting, so the decision is made again and posted through the API. False when the record
   * or the delivery moved meanwhile.
   */
  async reopenUnappliedInline(job: ProcessDeliveryJob, recordId: string): Promise<boolean> {
    const [, changed] = await this.db.query<[unknown[], number]>(
      `WITH released AS (
         UPDATE processed_tasks SET outcome = 'failed', error = $3, finished_at = now()
          WHERE id = $2 AND delivery_id = $1 AND outcome = 'posted' AND delivered_via = 'inline' AND pyrus_comment_id IS NULL
            AND EXISTS (SELECT 1 FROM deliveries WHERE id = $1 AND status = 'processed')
         RETURNING id)
       UPDATE deliveries SET status = 'received', last_error = $3 WHERE id = $1 AND status = 'processed' AND EXISTS (SELECT 1 FROM released)`,
      [job.deliveryId, recordId, 'Pyrus never applied the answer to its webhook; deciding again, to post through the API'],
    );
    if (changed === 0) return false;
    try {
      await withTimeout(this.requeueUnlessLive([job]), this.addTimeoutMs, 'Redis did not take the job in time');
      await this.markQueued([job.deliveryId]);
    } catch (err) {
      // It is 'received' now: the reconciliation queues it, as any received delivery without a job.
      this.logger.warn(
        { err: errorMessage(err), deliveryId: job.deliveryId },
        'Reopened, but not queued; the reconciliation will queue it',
      );
    }
    return true;
  }

  /** Nothing to post: the vote is no longer awaited, the claim is another delivery's, or the handler stays silent. */
  async finishSkipped(delivery: Pick<Delivery, 'id' | 'bot' | 'taskId' | 'receivedAt'>, handler: string, reason: string): Promise<void> {
    await this.db.query(FINISH_SKIPPED, [delivery.id, delivery.bot, delivery.taskId, handler, reason, delivery.receivedAt]);
  }

  /**
   * Given up (a 4xx, or the last retry spent): the delivery and its decision fail, and the decision's claim is freed;
   * except a decision an api answered with, which reached Pyrus: that delivery ends processed ('answered-inline').
   * 'not-received': the delivery had already ended (another run of its job finished it), and nothing changed.
   */
  async markFailed(deliveryId: string, reason: string): Promise<'failed' | 'answered-inline' | 'not-received'> {
    const [rows] = await this.db.query<[Array<{ status: string }>, number]>(MARK_FAILED, [deliveryId, reason]);
    if (!rows[0]) return 'not-received';
    return rows[0].status === 'processed' ? 'answered-inline' : 'failed';
  }

  /** A failed delivery whose job someone retried by hand (Bull Board): 'received' again, to be decided afresh. */
  async reopenForRetry(deliveryId: string): Promise<void> {
    await this.setReceived(deliveryId, 'failed');
  }

  private async setReceived(deliveryId: string, from: 'failed' | 'skipped'): Promise<boolean> {
    const [, changed] = await this.db.query<[unknown[], number]>(
      `UPDATE deliveries SET status = 'received', last_error = NULL WHERE id = $1 AND status = $2`,
      [deliveryId, from],
    );
    return changed > 0;
  }

  /**
   * Records, as a failed delivery, a task the inbox sweep read but can never store (its JSON too deep): the audit shows
   * it, and the sweep's next passes leave the task until it changes. One row per version of the task.
   */
  async recordRefused(refused: Omit<Admission, 'storable'> & { payload: BotHookRequest }, reason: string): Promise<void> {
    const { payload } = refused;
    const event = payload.event ?? 'comment';
    await this.db.query(
      `INSERT INTO deliveries (bot, task_id, event, dedupe_key, retry_header, user_agent, request_id, body_bytes, payload, status, last_error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, 'failed', $10)
       ON CONFLICT (bot, task_id, dedupe_key) DO NOTHING`,
      [
        refused.bot,
        payload.task_id,
        event,
        `${event}:refused:${payload.task?.last_modified_date ?? 'undated'}`,
        refused.retryHeader,
        refused.userAgent,
        refused.requestId,
        refused.bodyBytes,
        JSON.stringify({ task_id: payload.task_id, event, refused: true }),
        reason,
      ],
    );
  }

  /**
   * Finds deliveries still 'received' after `minAgeMs` whose Bull job is gone (never added, or lost with Redis's data)
   * or will never run again (completed or failed while the delivery is unfinished), and queues each again under its
   * own id. Runs in pages of `pageSize`, oldest first. Jobs added again carry no webhook token: the worker signs in as
   * the bot.
   */
  async reconcile(minAgeMs: number, runner: SqlRunner = this.db, pageSize = 500): Promise<ReconcileResult> {
    const result: ReconcileResult = { checked: 0, requeued: 0 };
    // The cursor keeps received_at as PostgreSQL's text: a JS Date has milliseconds, the column microseconds, and a
    // cursor rounded down would bring back the same page for ever when a group commit stored a page's worth at once.
    let after: { receivedAt: string; id: string } | undefined;
    for (;;) {
      const rows = (await runner.query(
        `SELECT id, request_id, bot, task_id, received_at::text AS received_at FROM deliveries
         WHERE status = 'received' AND received_at < now() - make_interval(secs => $1::float8 / 1000)
           AND ($2::timestamptz IS NULL OR (received_at, id) > ($2::timestamptz, $3::uuid))
         ORDER BY received_at, id LIMIT $4`,
        [minAgeMs, after?.receivedAt ?? null, after?.id ?? null, pageSize],
      )) as Array<{ id: string; request_id: string; bot: string; task_id: string; received_at: string }>;
      result.checked += rows.length;
      const jobs = rows.map((r) => ({ deliveryId: r.id, requestId: r.request_id, bot: r.bot, taskId: Number(r.task_id) }));
      const requeued = await this.requeueUnlessLive(jobs);
      result.requeued += requeued.length;
      if (requeued.length > 0) {
        this.logger.warn({ deliveries: requeued.length }, 'Queued again unfinished deliveries whose job was not in Redis');
        await this.markQueued(requeued, runner);
      }
      if (rows.length < pageSize) return result;
      const last = rows[rows.length - 1];
      after = { receivedAt: last.received_at, id: last.id };
    }
  }

  /**
   * Hands a delivery that ended (failed or skipped) back to the worker: 'received' again and queued under its own id.
   * False when it was not in `from` any more (someone else moved it). When Redis does not take the job, the status
   * goes back and the error is thrown.
   */
  async reopen(job: ProcessDeliveryJob, from: 'failed' | 'skipped'): Promise<boolean> {
    if (!(await this.setReceived(job.deliveryId, from))) return false;
    try {
      await withTimeout(this.requeueUnlessLive([job]), this.addTimeoutMs, 'Redis did not take the job in time');
    } catch (err) {
      await this.db.query(`UPDATE deliveries SET status = $2 WHERE id = $1 AND status = 'received'`, [job.deliveryId, from]);
      throw err;
    }
    return true;
  }

  /**
   * Adds each job again unless Bull holds a live one under the delivery's id; a finished job under that id is removed
   * first, since Bull ignores an add whose id it still holds. Returns the ids added.
   */
  private async requeueUnlessLive(jobs: ProcessDeliveryJob[]): Promise<string[]> {
    const added: string[] = [];
    this.failFastWithoutRedis();
    const existing = await Promise.all(jobs.map((j) => this.queue.getJob(j.deliveryId)));
    for (const [i, data] of jobs.entries()) {
      const job = existing[i];
      if (job) {
        if (!FINISHED_JOB_STATES.has(await job.getState())) continue;
        await removeFinished(job);
      }
      await this.queue.add(PROCESS_DELIVERY_JOB, data, { jobId: data.deliveryId });
      added.push(data.deliveryId);
    }
    return added;
  }
}

interface StoredItem {
  item: Incoming;
  row: StoredDeliveryRow;
  inserted: boolean;
}

function toRow(item: Incoming, repeats: number): NewDelivery {
  const { payload, replacedChars, rawSha256 } = item.storable;
  return {
    bot: item.bot,
    taskId: payload.task_id,
    event: payload.event ?? 'comment',
    dedupeKey: item.dedupeKey,
    retryHeader: item.retryHeader,
    userAgent: item.userAgent,
    requestId: item.requestId,
    bodyBytes: item.bodyBytes,
    payload: redactWebhookBody(payload),
    repeats,
    replacedChars,
    bodySha256: rawSha256,
  };
}

function refusedForContent(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && REFUSED_CONTENT.test(code);
}

/** PostgreSQL's own words stay in the log (store() writes them); the caller gets a fixed message. */
function storeError(err: unknown): AdmissionError {
  return refusedForContent(err)
    ? new AdmissionError(
        'PAYLOAD_REFUSED',
        'PostgreSQL cannot store this delivery as it is (its content, not an outage); a retry will not help',
        false,
      )
    : new AdmissionError('DATABASE_UNAVAILABLE', 'The delivery could not be stored; retry later', true);
}

/** A job that another process removes or retries meanwhile is not ours to fail over. */
async function removeFinished(job: Job): Promise<void> {
  await job.remove().catch(() => undefined);
}
