import { ConflictException, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { botCredentials, BotDecision, BotRegistry, DecisionMaker } from '@app/bots';
import { BotConfig } from '@app/config';
import { DeliveryJourney } from '@app/deliveries';
import { Delivery, DeliveryStatus } from '@app/database';
import { errorMessage } from '@app/observability';

export interface DryRunResult {
  dryRun: true;
  deliveryId: string;
  decision: BotDecision;
}

export interface ReplayResult {
  dryRun: false;
  deliveryId: string;
  previousStatus: DeliveryStatus;
  jobId: string;
}

/** Thrown inside the dry run's transaction so that nothing a handler did in it is kept. */
class DryRunRollback extends Error {
  constructor(readonly decision: BotDecision) {
    super('dry run');
  }
}

/**
 * Runs a stored delivery through its bot's handler again. The dry run shows the decision and keeps nothing: the
 * handler reads (the history, the form register) inside a transaction that is rolled back, and nothing is posted.
 * A real replay hands the delivery back to the worker through the delivery journey, under its own job id.
 */
@Injectable()
export class ReplayService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly journey: DeliveryJourney,
    private readonly bots: BotRegistry,
    private readonly decisions: DecisionMaker,
  ) {}

  async dryRun(id: string): Promise<DryRunResult> {
    const delivery = await this.delivery(id);
    const bot = this.configuredBot(delivery);
    const skip = await this.decisions.reasonToSkip(delivery);
    if (skip) return { dryRun: true, deliveryId: id, decision: { kind: 'skip', reason: skip } };
    try {
      await this.db.transaction(async (em) => {
        const caller = { bot: botCredentials(bot) };
        throw new DryRunRollback(await this.decisions.decide(bot, delivery, em, caller, { dryRun: true }));
      });
    } catch (err) {
      if (err instanceof DryRunRollback) return { dryRun: true, deliveryId: id, decision: err.decision };
      throw err;
    }
    throw new Error('unreachable: the dry run transaction always rolls back');
  }

  async replay(id: string): Promise<ReplayResult> {
    const delivery = await this.delivery(id);
    this.configuredBot(delivery);
    if (delivery.status === DeliveryStatus.Received) {
      throw new ConflictException({ code: 'IN_PROGRESS', message: `Delivery ${id} is still queued or being processed` });
    }
    if (delivery.status === DeliveryStatus.Processed) {
      throw new ConflictException({
        code: 'ALREADY_POSTED',
        message: `Delivery ${id} was processed and its decision is on the task; replaying it would post a second time (use ?dryRun=true to see the decision)`,
      });
    }
    // Neither received nor processed: failed or skipped.
    const previous = delivery.status;
    let reopened: boolean;
    try {
      reopened = await this.journey.reopen(
        { deliveryId: id, requestId: delivery.requestId, bot: delivery.bot, taskId: delivery.taskId },
        previous,
      );
    } catch (err) {
      throw new ServiceUnavailableException({
        code: 'QUEUE_UNAVAILABLE',
        message: `The queue did not take the job in time (${errorMessage(err)}); the delivery keeps its status, but the job may still be queued: look at it again before retrying`,
      });
    }
    if (!reopened) throw new ConflictException({ code: 'IN_PROGRESS', message: `Delivery ${id} changed meanwhile; look again` });
    return { dryRun: false, deliveryId: id, previousStatus: previous, jobId: id };
  }

  private configuredBot(delivery: Delivery): BotConfig {
    const bot = this.bots.find(delivery.bot);
    if (!bot) throw new ConflictException({ code: 'BOT_UNKNOWN', message: `Bot "${delivery.bot}" is no longer configured` });
    return bot;
  }

  private async delivery(id: string): Promise<Delivery> {
    const delivery = await this.db.getRepository(Delivery).findOneBy({ id });
    if (!delivery) throw new NotFoundException({ code: 'NOT_FOUND', message: `No delivery ${id}` });
    return delivery;
  }
}
