import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { Request, Response } from 'express';
import { isDependencyFailure } from './dependency-failure';
import { errorMessage } from './error-message';

/**
 * One error body for every route: { statusCode, error, message, requestId }. HTTP errors pass through as they are;
 * PostgreSQL or Redis unavailable is a 503 to retry; anything else is a 500 with an errorId, logged in full.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Exceptions');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const requestId = req?.id;
    if (res.headersSent) return;

    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const fields = typeof body === 'string' ? { message: body } : (body as Record<string, unknown>);
      res.status(status).json({
        statusCode: status,
        error: fields.code ?? fields.error ?? HttpStatus[status] ?? 'Error',
        message: fields.message ?? exception.message,
        requestId,
      });
      return;
    }

    if (isDependencyFailure(exception)) {
      this.logger.warn({ err: errorMessage(exception), requestId }, 'A dependency is unavailable');
      res.status(503).json({
        statusCode: 503,
        error: 'DEPENDENCY_UNAVAILABLE',
        message: 'PostgreSQL or Redis is unavailable; try again shortly',
        requestId,
      });
      return;
    }

    const errorId = randomUUID();
    this.logger.error({ err: exception, errorId, requestId }, 'Unhandled error');
    res.status(500).json({ statusCode: 500, error: 'INTERNAL_ERROR', message: 'Internal server error', errorId, requestId });
  }
}
