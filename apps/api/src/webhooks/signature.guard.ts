import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Request } from 'express';
import { BotRegistry, UnknownBotError } from '@app/bots';
import { MetricsService, UNKNOWN_BOT_LABEL } from '@app/observability';
import { verifyPyrusSignature } from '@app/pyrus';

export const SIGNATURE_HEADER = 'x-pyrus-sig';

/**
 * Lets a webhook through only when X-Pyrus-Sig is the HMAC-SHA1 of the raw body under one of the bot's keys.
 * Runs before anything parses the body. Unknown bot: 404; missing or wrong signature: 401, saying only that.
 */
@Injectable()
export class SignatureGuard implements CanActivate {
  constructor(
    private readonly bots: BotRegistry,
    private readonly metrics: MetricsService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const name = String(req.params.bot);
    const bot = this.bots.find(name);
    if (!bot) {
      this.metrics.webhookSignatureRejections.inc({ bot: UNKNOWN_BOT_LABEL, reason: 'unknown_bot' });
      throw new UnknownBotError(name);
    }
    const header = req.headers[SIGNATURE_HEADER];
    const signature = Array.isArray(header) ? header[0] : header;
    if (!verifyPyrusSignature(req.body as Buffer, signature, bot.securityKeys)) {
      this.metrics.webhookSignatureRejections.inc({ bot: bot.name, reason: signature ? 'invalid' : 'missing' });
      throw new UnauthorizedException({ code: 'SIGNATURE_INVALID', message: 'Invalid signature' });
    }
    return true;
  }
}
