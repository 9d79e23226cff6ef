import { Injectable, NestMiddleware } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { LoggedRequest, requestIdOf, requestSummary } from './logging.module';

/**
 * The request line pino-http would write, for a route on the hot path (the webhook): same fields, same request id
 * header, but no child logger and no async context per request, which were the largest share of the webhook's own
 * CPU after HTTP itself. The route must be left out of pino-http (`LoggingModule.forRoot({ ownAccessLog })`).
 */
@Injectable()
export class AccessLogMiddleware implements NestMiddleware {
  constructor(@InjectPinoLogger('http') private readonly logger: PinoLogger) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = performance.now();
    const id = requestIdOf(req);
    (req as Request & { id?: string }).id = id;
    res.setHeader('x-request-id', id);
    res.once('close', () => {
      const line = {
        requestId: id,
        req: requestSummary(req),
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - started),
        ...(req as LoggedRequest).logFields,
      };
      if (!res.writableFinished) this.logger.warn(line, 'request aborted');
      else if (res.statusCode >= 500) this.logger.error(line, 'request errored');
      else this.logger.info(line, 'request completed');
    });
    next();
  }
}
