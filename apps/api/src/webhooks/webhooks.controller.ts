import { BadRequestException, Body, Controller, Headers, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { Request } from 'express';
import { BotRegistry } from '@app/bots';
import { noteOnLogLine } from '@app/observability';
import { InvalidPayloadError, parseBotHookRequest } from '@app/pyrus';
import { SignatureGuard } from './signature.guard';
import { WebhookIntakeService } from './webhook-intake.service';

@Controller('bots/:bot/webhook')
export class WebhooksController {
  constructor(
    private readonly bots: BotRegistry,
    private readonly intake: WebhookIntakeService,
  ) {}

  /** Pyrus calls this each time a task reaches the bot. 200 means the delivery is stored and queued. */
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
    let payload;
    try {
      payload = parseBotHookRequest(rawBody);
    } catch (err) {
      if (err instanceof InvalidPayloadError) throw new BadRequestException({ code: 'PAYLOAD_INVALID', message: err.message });
      throw err;
    }
    const accepted = await this.intake.accept(bot.name, payload, {
      bodyBytes: rawBody.length,
      retryHeader: retryHeader ?? null,
      userAgent: userAgent ?? null,
      requestId: String(req.id ?? ''),
    });
    // Onto the request's own log line, so one line per delivery ties request, task and delivery together.
    noteOnLogLine(req, { bot: bot.name, taskId: payload.task_id, deliveryId: accepted.deliveryId, repeated: !accepted.inserted });
    return bot.ackText ? { text: bot.ackText } : {};
  }
}
