import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource, QueryRunner } from 'typeorm';
import { botCredentials, BotRegistry } from '@app/bots';
import { AppConfiguration, BotConfig } from '@app/config';
import { DeliveryStatus, withTryAdvisoryLock } from '@app/database';
import { DeliveryJourney } from '@app/deliveries';
import {
  BotHookRequest,
  botVoteOnCurrentStep,
  findPostedComment,
  lastCommentId,
  PyrusCaller,
  PyrusClient,
  PyrusTask,
  StorablePayload,
  TaskCommentRequest,
  taskAwayFromBot,
  toStorablePayload,
  UnstorablePayloadError,
} from '@app/pyrus';
import { PeriodicRun } from '../periodic-run';
import { commentIdOfKey, LatestDelivery, needsFullRead, reasonToLeave, StoredFacts } from './inbox-candidates';
import { errorMessage, MetricsService } from '@app/observability';

/**
 * SQL over processed_tasks `p` ($3: INLINE_ANSWER_GRACE_MS): a decision answered in the webhook's answer long enough
 * ago that Pyrus's retries are over, whose comment no sweep has seen on the task yet.
 */
const UNCONFIRMED_INLINE_ANSWER = `p.outcome = 'posted' AND p.delivered_via = 'inline' AND p.pyrus_comment_id IS NULL
  AND p.finished_at < now() - make_interval(secs => $3::float8 / 1000)`;

/** Pyrus's last attempt of a webhook starts 122 s after the first and waits 60 s for the answer. */
const PYRUS_RETRIES_END_MS = 182_000;

/** One inbox sweep at a time across all workers; a fixed arbitrary advisory-lock id (the reconciliation has 727_002). */
const INBOX_SWEEP_LOCK_ID = 727_003;
/** Pyrus's default is 50; a bot with a long backlog must not lose the tail. */
const INBOX_ITEM_COUNT = 1000;
export const INBOX_SWEEP_USER_AGENT = 'inbox-sweep';
/**
 * The event and user agent of a delivery a bot's follow-up asked for (decideAgain). Its own event gives it a natural
 * key no webhook has, so a webhook of the same comment decided earlier (skipped: the order was not there yet) does not
 * swallow it.
 */
export const DECIDE_AGAIN_EVENT = 'follow-up';
export const DECIDE_AGAIN_USER_AGENT = 'follow-up';

export interface BotSweepResult {
  bot: string;
  /** Tasks in the bot's inbox. */
  found: number;
  /** Tasks read in full because they might hold something undecided. */
  read: number;
  /** New deliveries stored and queued. */
  queued: number;
  /** Tasks whose read or store failed; the next sweep tries them again. */
  failed: number;
  error?: string;
}

export interface InboxSweepResult {
  /** False when another worker (or another call here) held the sweep lock, so nothing was done. */
  ran: boolean;
  bots: BotSweepResult[];
}

/**
 * Catch-up for lost webhooks: Pyrus gives up after three attempts (about two minutes), so at start and every
 * INBOX_SWEEP_INTERVAL_MS the worker reads each bot's inbox and stores, as if delivered, each task it holds no
 * current decision for. One inbox call per bot, and a task read only when it may have changed since the last
 * decision. Deliveries share the webhooks' natural key, so a webhook arriving before or after is the same row.
 */
@Injectable()
export class InboxSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly periodic: PeriodicRun;
  private readonly intervalMs: number;
  private readonly inlineAnswerGraceMs: number;
  /** Bot name → its Pyrus person id (GET /profile once per process). */
  private readonly botUserIds = new Map<string, number>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly journey: DeliveryJourney,
    private readonly bots: BotRegistry,
    private readonly pyrus: PyrusClient,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(InboxSweeper.name) private readonly logger: PinoLogger,
    config: ConfigService<AppConfiguration, true>,
  ) {
    this.intervalMs = config.get('queue', { infer: true }).inboxSweepIntervalMs;
    this.inlineAnswerGraceMs = config.get('queue', { infer: true }).inlineAnswerGraceMs;
    this.periodic = new PeriodicRun(
      () => this.sweep(),
      this.intervalMs,
      (err) => this.logger.warn({ err: errorMessage(err) }, 'Inbox sweep failed; will try again'),
    );
  }

  get enabled(): boolean {
    return this.intervalMs > 0;
  }

  onApplicationBootstrap(): void {
    this.warnOfUncaughtInlineAnswers();
    if (!this.enabled) {
      this.logger.info('Inbox sweep is off (INBOX_SWEEP_INTERVAL_MS=0)');
      return;
    }
    this.periodic.start({ runNow: true });
  }

  /**
   * The sweep is what catches a decision answered inline that Pyrus never applied (its every attempt lost the answer,
   * or an api lost its own word of the claim): without it, or checking before Pyrus's retries end, that is at risk.
   */
  private warnOfUncaughtInlineAnswers(): void {
    const inline = this.bots
      .all()
      .filter((b) => b.reply !== 'api')
      .map((b) => b.name);
    if (inline.length === 0) return;
    if (!this.enabled) {
      this.logger.warn(
        { bots: inline },
        'Bots answer inline but the inbox sweep is off: a decision whose answer never reached Pyrus is not sent again',
      );
    } else if (this.inlineAnswerGraceMs < PYRUS_RETRIES_END_MS) {
      this.logger.warn(
        { bots: inline, inlineAnswerGraceMs: this.inlineAnswerGraceMs },
        "INLINE_ANSWER_GRACE_MS is shorter than Pyrus's retries of a webhook: a retry's answer may be applied after the sweep sent it again",
      );
    }
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.periodic.stop();
  }

  /** Reads every bot's inbox and queues what has no current decision; a bot's failure does not stop the others. */
  async sweep(): Promise<InboxSweepResult> {
    const swept = await withTryAdvisoryLock(this.db, INBOX_SWEEP_LOCK_ID, async (runner) => {
      const results: BotSweepResult[] = [];
      for (const bot of this.bots.all()) results.push(await this.sweepBot(runner, bot));
      return results;
    });
    if (!swept) {
      this.logger.debug('Another worker is sweeping the inboxes');
      return { ran: false, bots: [] };
    }
    return { ran: true, bots: swept.value };
  }

  private async sweepBot(runner: QueryRunner, bot: BotConfig): Promise<BotSweepResult> {
    const result: BotSweepResult = { bot: bot.name, found: 0, read: 0, queued: 0, failed: 0 };
    const caller: PyrusCaller = { bot: botCredentials(bot), context: { bot: bot.name } };
    try {
      const userId = await this.botUserId(bot, caller);
      // Without the bot's person id its vote cannot be read, and a task is not decided on a guess.
      if (userId === undefined) throw new Error("the bot's Pyrus profile could not be read, so its votes cannot be checked");
      const inbox = (await this.pyrus.getInbox(caller, { itemCount: INBOX_ITEM_COUNT })).tasks ?? [];
      result.found = inbox.length;
      if (inbox.length >= INBOX_ITEM_COUNT)
        this.logger.warn({ bot: bot.name, found: inbox.length }, 'The inbox may hold more tasks than one read returns');
      const latest = await this.latestDeliveries(
        runner,
        bot.name,
        inbox.map((t) => t.id),
      );
      for (const header of inbox.filter((t) => needsFullRead(t, latest.get(t.id), userId))) {
        result.read += 1;
        try {
          const inlineToCheck = latest.get(header.id)?.inlineToCheck ?? false;
          if (await this.catchUp(runner, bot, caller, header.id, userId, inlineToCheck)) result.queued += 1;
        } catch (err) {
          result.failed += 1;
          this.logger.warn(
            { bot: bot.name, taskId: header.id, err: errorMessage(err) },
            'Inbox sweep could not catch up a task; the next sweep tries again',
          );
        }
      }
    } catch (err) {
      result.error = errorMessage(err);
      this.logger.warn({ bot: bot.name, err: result.error }, "Inbox sweep could not read the bot's inbox; the next sweep tries again");
    }
    const { bot: name, ...counts } = result;
    if (result.queued > 0) this.metrics.inboxSweepQueued.inc({ bot: name }, result.queued);
    const failures = result.failed + (result.error ? 1 : 0);
    if (failures > 0) this.metrics.inboxSweepFailures.inc({ bot: name }, failures);
    if (result.queued > 0) this.logger.warn({ bot: name, ...counts }, 'Inbox sweep queued tasks whose webhook never arrived');
    else this.logger.info({ bot: name, ...counts }, 'Inbox sweep done');
    return result;
  }

  /**
   * A bot's follow-up asks for the task to be decided again (what the bot waited for is there now, so it can vote):
   * reads the task and, while the bot's vote on the current step is awaited, stores and queues a delivery of it as it
   * stands, to be decided through the normal path. Unlike the sweep, the bot's own comment without a vote (one that
   * said the bot is waiting) is no reason to leave the task. The decision's claim makes this delivery and a webhook
   * meanwhile vote once between them. Throws when Pyrus cannot be read, so the follow-up's retry asks again.
   */
  async decideAgain(bot: BotConfig, taskId: number): Promise<boolean> {
    const caller: PyrusCaller = { bot: botCredentials(bot), context: { bot: bot.name, taskId } };
    const userId = await this.botUserId(bot, caller);
    if (userId === undefined) throw new Error("the bot's Pyrus profile could not be read, so its vote cannot be checked");
    const task = await this.pyrus.getTask(caller, taskId);
    const vote = botVoteOnCurrentStep(task, userId);
    if (vote !== 'waiting') {
      this.logger.info({ bot: bot.name, taskId, vote: vote ?? 'none' }, 'Not deciding the task again: its vote is not awaited');
      return false;
    }
    return this.store(bot, task, { ...syntheticPayload(task, userId), event: DECIDE_AGAIN_EVENT }, DECIDE_AGAIN_USER_AGENT);
  }

  /**
   * Reads the task and, when the bot has something to decide that no delivery covers, stores and queues it through
   * the delivery journey, as a webhook would be. A task whose payload can never be stored is recorded as a failed
   * delivery, so later sweeps leave it until it changes.
   */
  private async catchUp(
    runner: QueryRunner,
    bot: BotConfig,
    caller: PyrusCaller,
    taskId: number,
    userId: number,
    inlineToCheck: boolean,
  ): Promise<boolean> {
    const task = await this.pyrus.getTask(caller, taskId);
    // Only the task's newest delivery matters: an older one's answer was followed by something newer on the task.
    if (inlineToCheck && (await this.resendUnappliedInlineAnswers(runner, bot, task, userId))) return true;
    const reason = reasonToLeave(task, userId, await this.storedFacts(runner, bot.name, taskId));
    if (reason) {
      this.logger.debug({ bot: bot.name, taskId, reason }, 'Inbox sweep leaves the task');
      return false;
    }
    return this.store(bot, task, syntheticPayload(task, userId), INBOX_SWEEP_USER_AGENT);
  }

  /**
   * Decisions answered in the webhook's answer, old enough that Pyrus's retries are over, whose comment no sweep has
   * seen yet: found on the task, the record keeps the comment's id (so the task is not read for it again); missing
   * while the task still waits on the bot with nothing newer than what the decision answered, Pyrus never applied it,
   * and the delivery is decided again, to be posted through the API. True when one was sent back to the worker.
   */
  private async resendUnappliedInlineAnswers(runner: QueryRunner, bot: BotConfig, task: PyrusTask, userId: number): Promise<boolean> {
    const answers = (await runner.query(
      `SELECT p.id, p.delivery_id, p.comment, p.started_at, d.dedupe_key, d.request_id
       FROM processed_tasks p JOIN deliveries d ON d.id = p.delivery_id
       WHERE p.bot = $1 AND p.task_id = $2 AND ${UNCONFIRMED_INLINE_ANSWER}`,
      [bot.name, task.id, this.inlineAnswerGraceMs],
    )) as Array<{ id: string; delivery_id: string; comment: TaskCommentRequest; started_at: Date; dedupe_key: string; request_id: string }>;
    const vote = botVoteOnCurrentStep(task, userId);
    const stillWaiting = (vote === undefined || vote === 'waiting') && !taskAwayFromBot(task, userId);
    for (const answer of answers) {
      const applied = findPostedComment(task, answer.comment, { authorId: userId, since: answer.started_at });
      if (applied) {
        await this.journey.confirmAnsweredInline(answer.id, applied.id);
        continue;
      }
      if (!stillWaiting || lastCommentId(task) !== commentIdOfKey(answer.dedupe_key)) continue;
      const job = { deliveryId: answer.delivery_id, bot: bot.name, taskId: task.id, requestId: answer.request_id };
      if (await this.journey.reopenUnappliedInline(job, answer.id)) {
        // What the decision held (a budget approval) is let go, as for any decision that never reached Pyrus; the
        // decision made again holds it anew.
        await this.bots.handlerOf(bot).onDecisionFailed?.(this.bots.botOf(bot), task.id, 'Pyrus never applied the inline answer');
        this.logger.warn(
          { bot: bot.name, taskId: task.id, deliveryId: answer.delivery_id },
          "Pyrus never applied a decision answered in its webhook's answer; deciding again, to post through the API",
        );
        return true;
      }
    }
    return false;
  }

  /** Stores and queues a delivery made up from the task; false when it was stored before (or can never be). */
  private async store(bot: BotConfig, task: PyrusTask, payload: BotHookRequest, userAgent: string): Promise<boolean> {
    const taskId = task.id;
    const requestId = randomUUID();
    const meta = { retryHeader: null, userAgent, requestId, bodyBytes: 0 };
    let storable: StorablePayload;
    try {
      storable = toStorablePayload(payload);
    } catch (err) {
      if (!(err instanceof UnstorablePayloadError)) throw err;
      await this.journey.recordRefused({ bot: bot.name, payload, ...meta }, err.message);
      this.logger.warn({ bot: bot.name, taskId, userAgent, err: err.message }, 'Cannot handle the task; recorded it and goes on');
      return false;
    }
    const admitted = await this.journey.admit({ bot: bot.name, storable, ...meta }, { countRepeats: false });
    // A webhook (or an earlier call) stored the same event meanwhile: it is that delivery's to decide.
    if (!admitted.inserted) return false;
    this.logger.info({ bot: bot.name, taskId, deliveryId: admitted.deliveryId, requestId, userAgent }, 'Queued a task to decide');
    return true;
  }

  private async latestDeliveries(runner: QueryRunner, bot: string, taskIds: number[]): Promise<Map<number, LatestDelivery>> {
    if (taskIds.length === 0) return new Map();
    const rows = (await runner.query(
      `SELECT DISTINCT ON (d.task_id) d.task_id, d.status, d.received_at, p.finished_at,
              (p.outcome = 'posted' AND p.comment ? 'approval_choice') IS TRUE AS posted_vote,
              (${UNCONFIRMED_INLINE_ANSWER}) IS TRUE AS inline_to_check
       FROM deliveries d LEFT JOIN processed_tasks p ON p.delivery_id = d.id
       WHERE d.bot = $1 AND d.task_id = ANY($2::bigint[])
       ORDER BY d.task_id, d.received_at DESC`,
      [bot, taskIds, this.inlineAnswerGraceMs],
    )) as Array<{
      task_id: string;
      status: DeliveryStatus;
      received_at: Date;
      finished_at: Date | null;
      posted_vote: boolean;
      inline_to_check: boolean;
    }>;
    return new Map(
      rows.map((r) => [
        Number(r.task_id),
        {
          status: r.status,
          receivedAt: r.received_at,
          finishedAt: r.finished_at,
          postedVote: r.posted_vote,
          inlineToCheck: r.inline_to_check,
        },
      ]),
    );
  }

  private async storedFacts(runner: QueryRunner, bot: string, taskId: number): Promise<StoredFacts> {
    const keys = (await runner.query('SELECT dedupe_key FROM deliveries WHERE bot = $1 AND task_id = $2', [bot, taskId])) as Array<{
      dedupe_key: string;
    }>;
    const posted = (await runner.query(
      'SELECT pyrus_comment_id FROM processed_tasks WHERE bot = $1 AND task_id = $2 AND pyrus_comment_id IS NOT NULL',
      [bot, taskId],
    )) as Array<{ pyrus_comment_id: string }>;
    return {
      deliveredCommentIds: new Set(keys.map((k) => commentIdOfKey(k.dedupe_key)).filter((id): id is number => id !== undefined)),
      postedCommentIds: new Set(posted.map((p) => Number(p.pyrus_comment_id))),
    };
  }

  /** The bot's person id, which the worker needs to see its vote; without it the payload omits user_id. */
  private async botUserId(bot: BotConfig, caller: PyrusCaller): Promise<number | undefined> {
    const known = this.botUserIds.get(bot.name);
    if (known !== undefined) return known;
    try {
      const { person_id } = await this.pyrus.getProfile(caller);
      if (Number.isSafeInteger(person_id)) this.botUserIds.set(bot.name, person_id);
      return this.botUserIds.get(bot.name);
    } catch (err) {
      this.logger.warn({ bot: bot.name, err: errorMessage(err) }, "Could not read the bot's profile; its vote cannot be checked");
      return undefined;
    }
  }
}

/** What Pyrus would have POSTed: no access token (the worker signs in as the bot), no bot_settings. */
export function syntheticPayload(task: PyrusTask, userId: number | undefined): BotHookRequest {
  return { event: 'comment', task_id: task.id, ...(userId !== undefined ? { user_id: userId } : {}), task };
}
