import { BadRequestException, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { BotConfig } from '@app/config';
import { AdmissionError, Admitted, DeliveryJourney, inlineKey, InlineReplies, PendingWait, WaitResult } from '@app/deliveries';
import { errorMessage, MetricsService } from '@app/observability';
import { deliveryDedupeKey, StorablePayload, TaskCommentRequest } from '@app/pyrus';

export interface DeliveryMeta {
  bodyBytes: number;
  retryHeader: string | null;
  userAgent: string | null;
  requestId: string;
}

export interface AcceptedDelivery extends Admitted {
  /** The bot's decision, to answer the webhook with (reply `auto` or `inline`, when it came within the budget). */
  answer?: TaskCommentRequest;
}

/**
 * Persist first, acknowledge after: a verified webhook goes through the delivery journey (stored, then queued), and
 * what went wrong becomes the answer Pyrus acts on: 503 for what its retry can fix, 400 for what it never can. For a
 * bot whose reply is `auto` or `inline`, the answer then waits up to the bot's inline budget for the decision.
 */
@Injectable()
export class WebhookIntakeService {
  constructor(
    private readonly journey: DeliveryJourney,
    private readonly inline: InlineReplies,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(WebhookIntakeService.name) private readonly logger: PinoLogger,
  ) {}

  async accept(bot: BotConfig, storable: StorablePayload, meta: DeliveryMeta): Promise<AcceptedDelivery> {
    if (bot.reply === 'api') return this.admit(bot, storable, meta);
    const startedAt = Date.now();
    const answerBy = startedAt + bot.inlineBudgetMs;
    const payload = storable.payload;
    // Listening before the job exists, so no decision can come before the wait.
    const wait = this.inline.expectDecision(inlineKey(bot.name, payload.task_id, deliveryDedupeKey(payload)), answerBy);
    let admitted: Admitted;
    try {
      admitted = await this.admit(bot, storable, meta, answerBy);
    } catch (err) {
      wait.cancel();
      throw err;
    }
    const answer = await this.decisionToAnswerWith(bot, admitted, wait, startedAt);
    return answer ? { ...admitted, answer } : admitted;
  }

  /**
   * The decision, when this api may answer with it: a repeat of a delivery answered inline before gets the same
   * answer at once; otherwise the api waits for the worker's word, then takes the decision in the hand-over claim.
   * Nothing (the default acknowledgement) when the budget runs out, the worker took the decision for the API, or the
   * claim cannot be read: the delivery is stored and queued, so the worker posts it.
   */
  private async decisionToAnswerWith(
    bot: BotConfig,
    admitted: Admitted,
    wait: PendingWait<WaitResult>,
    startedAt: number,
  ): Promise<TaskCommentRequest | undefined> {
    let result: WaitResult | 'repeat' | 'error' = 'repeat';
    let comment: TaskCommentRequest | undefined;
    try {
      const earlier = admitted.inserted ? { decided: false } : await this.journey.claimInline(admitted.deliveryId);
      comment = earlier.comment;
      if (!earlier.decided) {
        result = await wait.result;
        if (result === 'decided') comment = (await this.journey.claimInline(admitted.deliveryId)).comment;
      }
    } catch (err) {
      result = 'error';
      this.logger.warn(
        { bot: bot.name, deliveryId: admitted.deliveryId, err: errorMessage(err) },
        'Could not take the decision for the webhook answer; the worker posts it',
      );
    } finally {
      wait.cancel();
    }
    const outcome = comment ? 'inline' : result === 'decided' ? 'taken_for_api' : result;
    this.metrics.inlineWait.observe({ bot: bot.name, result: outcome }, (Date.now() - startedAt) / 1000);
    // The worker waits for this word (or its deadline) before it finishes the delivery.
    if (comment) void this.inline.announceAnswered(admitted.deliveryId);
    return comment;
  }

  private async admit(bot: BotConfig, storable: StorablePayload, meta: DeliveryMeta, answerBy?: number): Promise<Admitted> {
    try {
      return await this.journey.admit({ bot: bot.name, storable, ...meta, ...(answerBy !== undefined ? { answerBy } : {}) });
    } catch (err) {
      if (!(err instanceof AdmissionError)) throw err;
      const body = { code: err.code, message: err.message };
      throw err.retryable ? new ServiceUnavailableException(body) : new BadRequestException(body);
    }
  }
}
