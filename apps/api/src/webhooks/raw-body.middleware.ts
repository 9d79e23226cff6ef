import { BadRequestException, Injectable, NestMiddleware, PayloadTooLargeException } from '@nestjs/common';
import { raw } from 'express';
import { NextFunction, Request, Response } from 'express';

/** Real deliveries exceed 2 MB; Express's 100 kB default would turn them into 413s. */
export const WEBHOOK_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

const readRawBody = raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES });

/**
 * Keeps the webhook body as the exact bytes received, whatever the Content-Type, because the signature is over
 * those bytes. Parser errors become Nest exceptions so they get the service's error body.
 */
@Injectable()
export class RawBodyMiddleware implements NestMiddleware {
  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      readRawBody(req, res, (err?: unknown) => (err ? reject(toHttpError(err)) : resolve()));
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
