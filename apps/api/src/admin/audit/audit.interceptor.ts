import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Request } from 'express';
import { catchError, concatMap, from, Observable } from 'rxjs';
import { errorMessage } from '@app/observability';
import { ADMIN_ACCESS, AdminAccess } from '../auth/admin-access.metadata';
import { auditEntryOf } from './audit-entry';
import { AuditLogService } from './audit-log.service';

/** Routes that change something are written to the audit log with their outcome, before the answer goes out. */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditLogService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler<unknown>): Observable<unknown> {
    const access = this.reflector.getAllAndOverride<AdminAccess>(ADMIN_ACCESS, [context.getHandler(), context.getClass()]);
    if (!access?.audit) return next.handle();
    const action = access.audit;
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    // Nest sets the status after the interceptors: take it from where Nest will.
    const status = this.reflector.get<number>(HTTP_CODE_METADATA, context.getHandler()) ?? (req.method === 'POST' ? 201 : 200);
    return next.handle().pipe(
      concatMap((value) => from(this.audit.record(auditEntryOf(req, action, { status, outcome: 'succeeded' })).then(() => value))),
      catchError((err: unknown) =>
        from(
          this.audit
            .record(
              auditEntryOf(req, action, {
                status: err instanceof HttpException ? err.getStatus() : 500,
                outcome: 'failed',
                error: messageOf(err),
              }),
            )
            .then(() => {
              throw err;
            }),
        ),
      ),
    );
  }
}

function messageOf(err: unknown): string {
  if (!(err instanceof HttpException)) return errorMessage(err);
  const body = err.getResponse();
  const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
  // Nest's bodies carry a string, or a validation pipe's list of strings.
  return Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : err.message;
}
