import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { botCredentials, BotRegistry, claimOf, CommentDecision, DecisionMaker, HELD_CLAIMS_OF_D } from '@app/bots';
import { BotConfig } from '@app/config';
import { DeliveredVia, Delivery, DeliveryStatus, hydrate, prepared, ProcessedOutcome, ProcessedTask, selectColumns } from '@app/database';
import { BotHookRequest, findPostedComment, PyrusApiError, PyrusCaller, PyrusClient, TaskCommentRequest } from '@app/pyrus';
import { ProcessDeliveryJob } from '@app/queue';
import { DeliveryJourney, inlineKey, InlineReplies } from '@app/deliveries';
import { FollowUpService } from '../followups/follow-up.service';
import { TaskLockService } from './task-lock.service';
import { CallLogWriter } from '../telemetry/call-log.writer';
import { errorMessage, MetricsService } from '@app/observability';

// The outbox row: the decision and the comment to post, written before the call. Keyed by delivery, so a delivery
// decided afresh (a failed or skipped one replayed) overwrites its earlier record.
// The claim (uq_processed_tasks_claim) is taken by this same row: a second decision on the claim fails with 23505.
// delivered_via is 'api' at once when no api waits to answer with the decision, else NULL until the hand-over.
const outboxUpsert = (first: number) => {
  const $ = (n: number) => `$${first + n}`;
  return `INSERT INTO processed_tasks (delivery_id, bot, task_id, handler, outcome, reason, comment, received_at, started_at, attempts, claim_key, delivered_via)
   VALUES (${$(0)}, ${$(1)}, ${$(2)}, ${$(3)}, 'posting', ${$(4)}, ${$(5)}, ${$(6)}, ${$(7)}, ${$(8)}, ${$(9)}, ${$(10)})
   ON CONFLICT (delivery_id) DO UPDATE SET
     bot = EXCLUDED.bot, task_id = EXCLUDED.task_id, handler = EXCLUDED.handler, outcome = EXCLUDED.outcome,
     reason = EXCLUDED.reason, comment = EXCLUDED.comment, received_at = EXCLUDED.received_at,
     started_at = EXCLUDED.started_at, attempts = EXCLUDED.attempts, claim_key = EXCLUDED.claim_key,
     delivered_via = EXCLUDED.delivered_via, error = NULL, pyrus_status = NULL, finished_at = NULL
   RETURNING id`;
};
const CLAIM_INDEX = 'uq_processed_tasks_claim';
/** The call log's operation for a decision handed to Pyrus in a webhook's answer: no API call, no quota spent. */
export const WEBHOOK_ANSWER_OPERATION = 'answer to POST /bots/{bot}/webhook';
// Run on every decision, so prepared.
const RECORD_DECISION = prepared(outboxUpsert(1));

/** Runs one stored delivery through its bot's handler and posts the decision to Pyrus, exactly once. */
@Injectable()
export class DeliveryService {
  private readDeliverySql?: string;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(Delivery) private readonly deliveries: Repository<Delivery>,
    @InjectRepository(ProcessedTask) private readonly processed: Repository<ProcessedTask>,
    private readonly bots: BotRegistry,
    private readonly decisions: DecisionMaker,
    private readonly pyrus: PyrusClient,
    private readonly taskLock: TaskLockService,
    private readonly followUps: FollowUpService,
    private readonly journey: DeliveryJourney,
    private readonly inline: InlineReplies,
    private readonly metrics: MetricsService,
    private readonly callLog: CallLogWriter,
    @InjectPinoLogger(DeliveryService.name) private readonly logger: PinoLogger,
  ) {}

  async process(job: ProcessDeliveryJob): Promise<void> {
    // The api names bot and task in the job, so the lock needs no read before it; jobs queued without them do.
    const target =
      job.bot !== undefined && job.taskId !== undefined
        ? { bot: job.bot, taskId: job.taskId }
        : await this.deliveries.findOne({ select: { bot: true, taskId: true }, where: { id: job.deliveryId } });
    if (!target) {
      this.warnMissing(job);
      return;
    }
    await this.taskLock.withTaskLock(target.bot, target.taskId, async () => {
      // Read under the lock: another job for the same delivery may have finished meanwhile.
      const delivery = await this.deliveryWithRecord(job.deliveryId);
      if (!delivery) {
        this.warnMissing(job);
        return;
      }
      if (delivery.bot !== target.bot || delivery.taskId !== target.taskId) {
        throw new PermanentDeliveryError(`The job names task ${target.taskId} of "${target.bot}", its delivery another`);
      }
      if (delivery.status === DeliveryStatus.Failed) {
        // Bull runs a failed delivery's job again only when someone retried it by hand (the admin API, Bull Board):
        // decide it afresh.
        await this.journey.reopenForRetry(delivery.id);
        delivery.status = DeliveryStatus.Received;
      }
      if (delivery.status !== DeliveryStatus.Received) return;
      await this.decideAndPost(delivery, delivery.record ?? null, job);
    });
  }

  private warnMissing(job: ProcessDeliveryJob): void {
    this.logger.warn({ deliveryId: job.deliveryId, requestId: job.requestId }, 'Job for a delivery that does not exist');
  }

  /** The delivery, what was done with it so far, and the claims other deliveries of its task hold, in one round trip. */
  private async deliveryWithRecord(id: string): Promise<ReadDelivery | null> {
    const deliveries = this.deliveries.metadata;
    const records = this.processed.metadata;
    // Written once from the entities' metadata and prepared: TypeORM's query builder wrote it anew on every job.
    this.readDeliverySql ??= prepared(
      `SELECT ${selectColumns(deliveries, 'd')}, ${selectColumns(records, 'p')},
              ${HELD_CLAIMS_OF_D} AS held_claims
       FROM deliveries d LEFT JOIN processed_tasks p ON p.delivery_id = d.id
       WHERE d.id = $1`,
    );
    const [row]: Array<Record<string, unknown>> = await this.db.query(this.readDeliverySql, [id]);
    if (!row) return null;
    const delivery = hydrate<Delivery>(this.db, deliveries, row, 'd');
    const record = row.p_id === null ? undefined : hydrate<ProcessedTask>(this.db, records, row, 'p');
    return Object.assign(delivery, { record, heldClaims: row.held_claims as string[] });
  }

  /** Marks the delivery failed for good (a 4xx, or the last retry spent), and tells its bot's handler; a decision answered inline stands. */
  async markFailed(deliveryId: string, error: unknown): Promise<void> {
    const reason = errorMessage(error);
    // Answered inline, the decision stands; a delivery that had ended is not this failure's: nothing to undo either way.
    if ((await this.journey.markFailed(deliveryId, reason)) !== 'failed') return;
    const delivery = await this.deliveries.findOne({ select: { bot: true, taskId: true }, where: { id: deliveryId } });
    const bot = delivery && this.bots.find(delivery.bot);
    if (!delivery || !bot) return;
    // The handler undoes what the decision held (the payment bot's approval holds budget until it reaches Pyrus).
    await this.bots.handlerOf(bot).onDecisionFailed?.(this.bots.botOf(bot), delivery.taskId, reason);
  }

  private async decideAndPost(delivery: ReadDelivery, earlier: ProcessedTask | null, job: ProcessDeliveryJob): Promise<void> {
    const log = this.logger;
    const ids = { deliveryId: delivery.id, requestId: job.requestId ?? delivery.requestId, bot: delivery.bot, taskId: delivery.taskId };
    const bot = this.bots.find(delivery.bot);
    if (!bot) throw new PermanentDeliveryError(`Bot "${delivery.bot}" is no longer configured`);
    const payload = delivery.payload as unknown as BotHookRequest;

    let record: Outbox;
    // Posting attempts made before this one: after any, the comment may be on the task already.
    const attemptsBefore = earlier?.attempts ?? 0;
    // A failed or skipped delivery that an operator replays (or a failed job retried) is decided afresh: the budget
    // and the history may have changed since, and a failed approval went back to pending.
    if (!earlier || earlier.outcome === ProcessedOutcome.Failed || earlier.outcome === ProcessedOutcome.Skipped) {
      const skipReason = await this.decisions.reasonToSkip(delivery, { heldClaims: delivery.heldClaims });
      if (skipReason) {
        await this.journey.finishSkipped(delivery, bot.handler, skipReason);
        await this.tellWaitingApi(delivery, job, 'none');
        log.info({ ...ids, reason: skipReason }, 'Skipped: no decision needed');
        return;
      }
      // Decision, the handler's own rows and the outbox row (with its claim) commit together: locks a handler takes (a
      // supplier's budget) cover all three, and a claim taken meanwhile by another delivery rolls back all three.
      const claims = this.decisions.claimsOf(delivery);
      const outcome = await this.db
        .transaction(async (em) => {
          const decision = await this.decisions.decide(bot, delivery, em, this.callerFor(bot, job, delivery));
          if (decision.kind === 'skip') return decision;
          // Kept from a failed earlier decision: its comment may have reached Pyrus after all, and is looked for on the
          // task from this time on before posting again. The attempt counted is the one after the commit, so a crash
          // before the call still means "look first".
          const outbox = {
            startedAt: earlier?.startedAt ?? new Date(),
            attempts: attemptsBefore + 1,
            deliveredVia: apiWaits(job) ? null : ('api' as const),
          };
          return this.recordDecision(em, delivery, bot, decision, outbox, claimOf(decision.comment, claims));
        })
        .catch((err: unknown) => {
          if (!isClaimTaken(err)) throw err;
          return { kind: 'skip' as const, reason: 'another delivery took the claim of this decision meanwhile' };
        });
      if ('kind' in outcome) {
        await this.journey.finishSkipped(delivery, bot.handler, outcome.reason);
        await this.tellWaitingApi(delivery, job, 'none');
        log.info({ ...ids, reason: outcome.reason }, 'Skipped by the handler');
        return;
      }
      record = outcome;
    } else {
      // The decision was recorded by an earlier job attempt: this one is another posting attempt.
      record = earlier;
      record.attempts = attemptsBefore + 1;
      await this.processed.update({ id: record.id }, { attempts: record.attempts });
    }

    if ((await this.handOver(delivery, record, job)) === 'inline') {
      await this.finishAnsweredInline(delivery, record, bot);
      log.info(ids, "Decision answered in the webhook's answer; nothing to post");
      return;
    }

    const comment = record.comment as TaskCommentRequest;
    const caller = this.callerFor(bot, job, delivery);
    const intent = { authorId: payload.user_id, since: record.startedAt };
    if (attemptsBefore > 0) {
      // An earlier job attempt may have reached Pyrus before the worker lost it (a crash, a timeout): look first.
      const task = await this.pyrus.getTask(caller, delivery.taskId).catch((err) => {
        throw new RetryableDeliveryError(`Could not check whether the comment was already posted: ${errorMessage(err)}`);
      });
      const existing = findPostedComment(task, comment, intent);
      if (existing) {
        await this.finishPosted(delivery, record, existing.id);
        log.info({ ...ids, commentId: existing.id }, 'The comment from an earlier attempt is on the task; not posting again');
        return;
      }
    }

    try {
      const result = await this.pyrus.createComment(caller, delivery.taskId, comment, intent);
      await this.finishPosted(delivery, record, result.comment?.id ?? null);
      this.metrics.decisionsDelivered.inc({ bot: bot.name, via: 'api' });
      log.info({ ...ids, commentId: result.comment?.id, recovered: result.recovered }, 'Decision posted to Pyrus');
    } catch (err) {
      const status = err instanceof PyrusApiError ? err.status : null;
      await this.processed.update({ id: record.id }, { error: errorMessage(err), pyrusStatus: status });
      log.warn({ ...ids, err: errorMessage(err), attempt: record.attempts }, 'Posting the decision failed');
      throw err;
    }
  }

  /**
   * Who delivers a recorded decision. While an api holds the webhook open (the job's answerBy), the worker tells it
   * the decision is there and waits for it to answer, at most until answerBy; then it takes the decision for the API
   * unless the api took it first. The claim in PostgreSQL settles it, so a message lost or late, an api gone, or a
   * decision landing as the budget ends still gives one delivery. A decision of an earlier attempt keeps its claim.
   */
  private async handOver(delivery: Delivery, record: Outbox, job: ProcessDeliveryJob): Promise<DeliveredVia> {
    if (record.deliveredVia) return record.deliveredVia;
    // Without the subscription the api's word could not be heard, so the worker would only wait out the budget.
    if (apiWaits(job) && (await this.inline.listening())) {
      const answered = this.inline.expectAnswer(delivery.id, job.answerBy);
      // The api sends its word only once its claim committed: the decision is its, with no statement to confirm it.
      if (await this.tellWaitingApi(delivery, job, 'decided')) {
        if (await answered.result) return 'inline';
      } else answered.cancel();
    }
    return this.journey.claimForApi(record.id);
  }

  /** An api answered the webhook with the decision: the follow-ups it asks for, the delivery done, and the audit. */
  private async finishAnsweredInline(delivery: Delivery, record: Outbox, bot: BotConfig): Promise<void> {
    // Queued before the delivery counts as done, as after a post: a failure here retries the job, which finds the
    // decision taken inline and comes back here.
    await this.followUps.queueAfterDecision(bot, delivery.taskId, delivery.requestId);
    await this.journey.finishAnsweredInline(delivery.id, record.id);
    this.metrics.decisionsDelivered.inc({ bot: bot.name, via: 'inline' });
    // In the call log beside the API posts, so an audit of what reached Pyrus shows both ways.
    this.callLog.recordCall({
      target: 'pyrus',
      operation: WEBHOOK_ANSWER_OPERATION,
      bot: bot.name,
      taskId: delivery.taskId,
      deliveryId: delivery.id,
      paymentId: null,
      status: 200,
      outcome: 'ok',
      error: null,
      durationMs: 0,
      at: new Date(),
    });
  }

  /** Wakes the api process waiting to answer this delivery's webhook, if one may still be waiting. */
  private tellWaitingApi(delivery: Delivery, job: ProcessDeliveryJob, news: 'decided' | 'none'): Promise<boolean> {
    if (!apiWaits(job)) return Promise.resolve(false);
    return this.inline.announceDecision(inlineKey(delivery.bot, delivery.taskId, delivery.dedupeKey), news);
  }

  /**
   * The handler's own rows (its recordDecision), then the outbox row: the intent is on disk before the call, so a crash
   * cannot lead to a blind second post. Two statements, one round trip each, in the decision's transaction.
   */
  private async recordDecision(
    em: EntityManager,
    delivery: Delivery,
    bot: BotConfig,
    decision: CommentDecision,
    outbox: Pick<ProcessedTask, 'startedAt' | 'attempts' | 'deliveredVia'>,
    claimKey: string,
  ): Promise<Outbox> {
    const handler = this.bots.handlerOf(bot);
    if (handler.recordDecision) await handler.recordDecision(em, this.bots.botOf(bot), delivery.taskId, decision);
    const rows: Array<{ id: string }> = await em.query(RECORD_DECISION, [
      delivery.id,
      bot.name,
      delivery.taskId,
      bot.handler,
      decision.reason,
      JSON.stringify(decision.comment),
      delivery.receivedAt,
      outbox.startedAt,
      outbox.attempts,
      claimKey,
      outbox.deliveredVia,
    ]);
    return { id: rows[0].id, comment: decision.comment as Record<string, unknown>, ...outbox };
  }

  /** The webhook's own token while the job has it (swept deliveries have none); the client falls back to the bot's. */
  private callerFor(bot: BotConfig, job: ProcessDeliveryJob, delivery: Delivery): PyrusCaller {
    const context = { bot: bot.name, taskId: delivery.taskId, deliveryId: delivery.id };
    return { bot: botCredentials(bot), deliveryToken: job.accessToken, context };
  }

  private async finishPosted(delivery: Delivery, record: Outbox, commentId: number | null) {
    // Before the decision counts as posted: if queueing fails, the job's retry finds the comment and queues again.
    await this.followUps.queueAfterDecision(this.bots.get(delivery.bot), delivery.taskId, delivery.requestId);
    await this.journey.finishPosted(delivery.id, record.id, commentId);
  }
}

/** A delivery as the worker reads it under the task lock. */
type ReadDelivery = Delivery & { record?: ProcessedTask; heldClaims: string[] };

/** What posting a decision needs of its outbox row. */
type Outbox = Pick<ProcessedTask, 'id' | 'comment' | 'startedAt' | 'attempts' | 'deliveredVia'>;

/** True while an api process may still hold the delivery's webhook open to answer with the decision. */
function apiWaits(job: ProcessDeliveryJob): job is ProcessDeliveryJob & { answerBy: number } {
  return job.answerBy !== undefined && Date.now() < job.answerBy;
}

/** A failure no retry can fix (the bot was removed from the bots file, say). */
export class PermanentDeliveryError extends Error {
  readonly retryable = false;
}

export class RetryableDeliveryError extends Error {
  readonly retryable = true;
}

function isClaimTaken(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { constraint?: string } };
  return e.code === '23505' && (e.constraint ?? e.driverError?.constraint) === CLAIM_INDEX;
}

/** Retry network errors, 5xx, 429 and our own transient failures; never a 4xx. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof PyrusApiError) return err.retryable;
  if (err && typeof err === 'object' && 'retryable' in err) return Boolean(err.retryable);
  return true;
}
