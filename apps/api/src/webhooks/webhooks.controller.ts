import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  Param,
  Post,
  Req,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import { Request } from 'express';
import { BotRegistry } from '@app/bots';
import { MetricsService, noteOnLogLine, WebhookOutcome } from '@app/observability';
import { InvalidPayloadError, parseBotHookRequest, StorablePayload, toStorablePayload, UnstorablePayloadError } from '@app/pyrus';
import { RECEIVED_AT, TimedRequest } from './raw-body.middleware';
import { SignatureGuard } from './signature.guard';
import { WebhookIntakeService } from './webhook-intake.service';

@Controller('bots/:bot/webhook')
export class WebhooksController {
  constructor(
    private readonly bots: BotRegistry,
    private readonly intake: WebhookIntakeService,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Pyrus calls this each time a task reaches the bot. 200 means the delivery is stored and queued; its body is the
   * bot's decision when the bot answers inline and the decision came in time, else `{}` (or the bot's ackText).
   */
  @Post()
  @HttpCode(200)
  @UseGuards(SignatureGuard)
  async receive(
    @Param('bot') botName: string,
    @Body() rawBody: Buffer,
    @Headers('x-pyrus-retry') retryHeader: string | undefined,
    @Headers('user-agent') userAgent: string | undefined,
    @Req() req: Request & { id?: string },
  ) {
    const bot = this.bots.get(botName);
    try {
      const storable = this.storablePayload(bot.name, rawBody, req);
      const payload = storable.payload;
      const accepted = await this.intake.accept(bot, storable, {
        bodyBytes: rawBody.length,
        retryHeader: retryHeader ?? null,
        userAgent: userAgent ?? null,
        requestId: String(req.id ?? ''),
      });
      // A repeat whose delivery was queued before is dropped here: 200, and no job.
      if (!accepted.inserted && !accepted.queuedNow) this.metrics.webhookDuplicates.inc({ bot: bot.name });
      this.count(req, bot.name, accepted.inserted ? 'accepted' : 'duplicate');
      // Onto the request's own log line, so one line per delivery ties request, task and delivery together.
      noteOnLogLine(req, {
        bot: bot.name,
        taskId: payload.task_id,
        deliveryId: accepted.deliveryId,
        repeated: !accepted.inserted,
        ...(accepted.answer ? { answeredInline: true } : {}),
      });
      // The decision itself when it came within the bot's inline budget: Pyrus adds it as the bot's comment.
      if (accepted.answer) return accepted.answer;
      return bot.ackText ? { text: bot.ackText } : {};
    } catch (err) {
      this.count(req, bot.name, outcomeOf(err));
      throw err;
    }
  }

  /**
   * The payload as PostgreSQL can hold it. What never can (nesting too deep) is refused with a 400 and one log line,
   * since Pyrus's retries would only bring the same bytes again.
   */
  private storablePayload(bot: string, rawBody: Buffer, req: Request & { id?: string }): StorablePayload {
    const text = rawBody.toString('utf8');
    const payload = parsePayload(text);
    try {
      const storable = toStorablePayload(payload, { text, bytes: rawBody });
      if (storable.replacedChars > 0) {
        this.metrics.webhookPayloadsRepaired.inc({ bot });
        noteOnLogLine(req, { replacedChars: storable.replacedChars, bodySha256: storable.rawSha256 });
      }
      return storable;
    } catch (err) {
      if (!(err instanceof UnstorablePayloadError)) throw err;
      noteOnLogLine(req, { bot, taskId: payload.task_id, refused: err.code });
      throw new BadRequestException({ code: err.code, message: err.message });
    }
  }

  /** In memory only: no await and no I/O added to the answer. */
  private count(req: Request, bot: string, outcome: WebhookOutcome): void {
    const labels = { bot, outcome };
    this.metrics.webhookDeliveries.inc(labels);
    const receivedAt = (req as TimedRequest)[RECEIVED_AT];
    if (receivedAt !== undefined) this.metrics.webhookAckDuration.observe(labels, (performance.now() - receivedAt) / 1000);
  }
}

function outcomeOf(err: unknown): WebhookOutcome {
  if (err instanceof ServiceUnavailableException) return 'unavailable';
  if (!(err instanceof BadRequestException)) return 'error';
  const code = (err.getResponse() as { code?: string }).code;
  return code === 'PAYLOAD_TOO_DEEP' || code === 'PAYLOAD_REFUSED' ? 'refused' : 'invalid_payload';
}

function parsePayload(text: string) {
  try {
    return parseBotHookRequest(text);
  } catch (err) {
    if (err instanceof InvalidPayloadError) throw new BadRequestException({ code: 'PAYLOAD_INVALID', message: err.message });
    throw err;
  }
}
