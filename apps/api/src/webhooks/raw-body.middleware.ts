import { BadRequestException, Injectable, NestMiddleware, PayloadTooLargeException } from '@nestjs/common';
import { raw } from 'express';
import { NextFunction, Request, Response } from 'express';
import { BotRegistry } from '@app/bots';
import { MetricsService, UNKNOWN_BOT_LABEL } from '@app/observability';

/** Real deliveries exceed 2 MB; Express's 100 kB default would turn them into 413s. */
export const WEBHOOK_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const readRawBody = raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES });

/** When the webhook request reached the service (performance.now()), for the ack latency histogram. */
export const RECEIVED_AT = Symbol('webhookReceivedAt');
export type TimedRequest = Request & { [RECEIVED_AT]?: number };

/**
 * Keeps the webhook body as the exact bytes received, whatever the Content-Type, because the signature is over
 * those bytes. Parser errors become Nest exceptions so they get the service's error body.
 */
@Injectable()
export class RawBodyMiddleware implements NestMiddleware {
  constructor(
    private readonly bots: BotRegistry,
    private readonly metrics: MetricsService,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    (req as TimedRequest)[RECEIVED_AT] = performance.now();
    await new Promise<void>((resolve, reject) => {
      readRawBody(req, res, (err?: unknown) => {
        if (!err) return resolve();
        const httpError = toHttpError(err);
        const bot = this.bots.find(String(req.params?.bot)) ? String(req.params.bot) : UNKNOWN_BOT_LABEL;
        this.metrics.webhookDeliveries.inc({ bot, outcome: httpError instanceof PayloadTooLargeException ? 'too_large' : 'unreadable' });
        reject(httpError);
      });
    });
    if (!Buffer.isBuffer(req.body)) req.body = Buffer.alloc(0);
    next();
  }
}

function toHttpError(err: unknown) {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') {
    return new PayloadTooLargeException(`Body is larger than ${WEBHOOK_BODY_LIMIT_BYTES / 1024 / 1024} MB`);
  }
  return new BadRequestException(`Could not read the body: ${(err as Error).message}`);
}
