import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Response } from 'express';
import { AuditLogService } from '../audit/audit-log.service';
import { auditEntryOf } from '../audit/audit-entry';
import { ADMIN_ACCESS, AdminAccess } from './admin-access.metadata';
import { AdminRequest } from './admin-request';
import { AdminTokenVerifier, roleAllows, tokenFromAuthorization } from './admin-token.verifier';

/** A route that forgot to say who may call it is treated as a change only an operator may make. */
const UNDECLARED: AdminAccess = { role: 'operator', audit: 'undeclared' };

/**
 * Bearer token → actor; 401 without a valid token, 403 when its role is short. A refused attempt at a change is
 * itself written to the audit log.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AdminTokenVerifier,
    private readonly audit: AuditLogService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<AdminAccess>(ADMIN_ACCESS, [context.getHandler(), context.getClass()]) ?? UNDECLARED;
    const req = context.switchToHttp().getRequest<AdminRequest>();
    const token = tokenFromAuthorization(req.headers.authorization);
    const actor = token ? this.verifier.verify(token) : undefined;
    if (!actor) {
      const message = token ? 'The admin token is not valid' : 'An admin token is required: Authorization: Bearer <token>';
      if (access.audit) await this.audit.record(auditEntryOf(req, access.audit, { status: 401, outcome: 'denied', error: message }));
      context.switchToHttp().getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer realm="admin"');
      throw new UnauthorizedException({ code: 'UNAUTHORIZED', message });
    }
    req.adminActor = actor;
    if (!roleAllows(actor.role, access.role)) {
      const message = `This needs the ${access.role} role; token "${actor.name}" has the ${actor.role} role`;
      if (access.audit) await this.audit.record(auditEntryOf(req, access.audit, { status: 403, outcome: 'denied', error: message }));
      throw new ForbiddenException({ code: 'FORBIDDEN', message });
    }
    return true;
  }
}
