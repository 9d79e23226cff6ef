import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BotConfig } from '@app/config';
import { Delivery, prepared } from '@app/database';
import { BotHookRequest, botVoteOnCurrentStep, lastCommentId, PyrusCaller, PyrusClient } from '@app/pyrus';
import { BotContext, BotDecision } from './bot-handler';
import { BotRegistry } from './bot-registry.service';
import { PaymentHistory } from './payments/payment-history';

/** Runs on every delivery: prepared, so Postgres plans it once per connection. */
const DECISION_ON_SAME_VERSION = prepared(
  `SELECT p.delivery_id FROM processed_tasks p JOIN deliveries d ON d.id = p.delivery_id
   WHERE p.bot = $1 AND p.task_id = $2 AND p.delivery_id <> $3 AND p.outcome IN ('posting', 'posted')
     AND coalesce(d.payload->'task'->>'current_step', '') = $4
     AND coalesce(d.payload->'task'->>'last_modified_date', '') = $5
     AND coalesce((SELECT max((c->>'id')::bigint) FROM jsonb_array_elements(
           CASE WHEN jsonb_typeof(d.payload->'task'->'comments') = 'array' THEN d.payload->'task'->'comments' ELSE '[]'::jsonb END) c)::text, '') = $6
   LIMIT 1`,
);

/**
 * How one stored delivery is decided: the checks that make a decision unnecessary, then the bot's handler. Used by
 * the worker, which records and posts the decision, and by the admin API's dry-run replay, which only shows it.
 */
@Injectable()
export class DecisionMaker {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bots: BotRegistry,
    private readonly pyrus: PyrusClient,
  ) {}

  /**
   * Why this delivery needs no decision, or undefined when the handler should decide. `otherDecisions: false`, when the
   * caller has read that no other delivery of the task was decided, spares the same-version query.
   */
  async reasonToSkip(delivery: Delivery, known: { otherDecisions?: boolean } = {}): Promise<string | undefined> {
    const payload = delivery.payload as unknown as BotHookRequest;
    const vote = botVoteOnCurrentStep(payload.task, payload.user_id);
    if (vote !== undefined && vote !== 'waiting') return `the bot's vote on the current step is already "${vote}"`;
    if (known.otherDecisions === false) return undefined;
    const earlier = await this.decisionOnSameVersion(delivery, payload);
    if (earlier) return `already decided on this version of the task (delivery ${earlier})`;
    return undefined;
  }

  /** The handler's decision, reading the payment history through `em` (the caller's transaction). */
  async decide(bot: BotConfig, delivery: Delivery, em: EntityManager, caller: PyrusCaller): Promise<BotDecision> {
    return this.bots.handlerOf(bot).decide(this.contextOf(bot, delivery, em, caller));
  }

  private contextOf(bot: BotConfig, delivery: Delivery, em: EntityManager, caller: PyrusCaller): BotContext {
    const payload = delivery.payload as unknown as BotHookRequest;
    const formId = payload.task.form_id;
    return {
      bot: { name: bot.name, login: bot.login },
      event: delivery.event,
      task: payload.task,
      botUserId: payload.user_id,
      settings: bot.settings,
      payments: new PaymentHistory(em),
      registerSearch: formId ? async (request) => (await this.pyrus.getFormRegister(caller, formId, request)).tasks : undefined,
    };
  }

  /**
   * Another delivery of the same version of the task (same step, same last comment, same last change) that was
   * already decided: Pyrus and the inbox sweep can both bring one version, under keys that differ when the task
   * has no comments. A later comment, or the task sent back to the bot, is a new version.
   */
  private async decisionOnSameVersion(delivery: Delivery, payload: BotHookRequest): Promise<string | undefined> {
    const task = payload.task;
    const lastComment = lastCommentId(task);
    const rows: Array<{ delivery_id: string }> = await this.db.query(
      DECISION_ON_SAME_VERSION,
      [delivery.bot, delivery.taskId, delivery.id, String(task.current_step ?? ''), task.last_modified_date ?? '', lastComment === undefined ? '' : String(lastComment)],
    );
    return rows[0]?.delivery_id;
  }
}
