import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BotConfig } from '@app/config';
import { Delivery, prepared } from '@app/database';
import { BotHookRequest, PyrusCaller } from '@app/pyrus';
import { BotContext, BotDecision } from './bot-handler';
import { BotRegistry } from './bot-registry.service';
import { claimTaken, DecisionClaims, decisionClaims, HELD_CLAIMS_OF_D } from './decision-claim';

/** The claims other deliveries of the task hold, for a caller that did not read them with the delivery. */
const HELD_CLAIMS = prepared(`SELECT ${HELD_CLAIMS_OF_D} AS held FROM deliveries d WHERE d.id = $1`);

/**
 * How one stored delivery is decided: the checks that make a decision unnecessary, then the bot's handler. Used by
 * the worker, which records and posts the decision, and by the admin API's dry-run replay, which only shows it.
 */
@Injectable()
export class DecisionMaker {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bots: BotRegistry,
  ) {}

  /**
   * Why this delivery needs no decision, or undefined when the handler should decide: the bot's vote is no longer
   * awaited, or another delivery of the task holds the claim this one would take. `heldClaims`, when the caller read
   * them with the delivery, spares the query.
   */
  async reasonToSkip(delivery: Delivery, known: { heldClaims?: string[] } = {}): Promise<string | undefined> {
    const claims = this.claimsOf(delivery);
    if (claims.closed) return claims.closed;
    const held = known.heldClaims ?? (await this.heldClaims(delivery));
    return claimTaken(claims, held);
  }

  /** The claims a decision on this delivery may take (see decisionClaims). */
  claimsOf(delivery: Delivery): DecisionClaims {
    const payload = delivery.payload as unknown as BotHookRequest;
    return decisionClaims(payload.task, payload.user_id, delivery.event);
  }

  /** The handler's decision, inside `em` (the caller's transaction); `dryRun` when it is only shown, never acted on. */
  async decide(
    bot: BotConfig,
    delivery: Delivery,
    em: EntityManager,
    caller: PyrusCaller,
    options: { dryRun?: boolean } = {},
  ): Promise<BotDecision> {
    return this.bots.handlerOf(bot).decide({ ...this.contextOf(bot, delivery, em, caller), ...(options.dryRun ? { dryRun: true } : {}) });
  }

  private contextOf(bot: BotConfig, delivery: Delivery, em: EntityManager, caller: PyrusCaller): BotContext {
    const payload = delivery.payload as unknown as BotHookRequest;
    return {
      bot: { name: bot.name, login: bot.login },
      event: delivery.event,
      task: payload.task,
      botUserId: payload.user_id,
      settings: this.bots.settingsOf(bot),
      em,
      caller,
    };
  }

  private async heldClaims(delivery: Delivery): Promise<string[]> {
    const rows: Array<{ held: string[] }> = await this.db.query(HELD_CLAIMS, [delivery.id]);
    return rows[0]?.held ?? [];
  }
}
