import { NextFunction, Request, Response } from 'express';
import { auditEntryOf } from '../audit/audit-entry';
import { AuditLogService } from '../audit/audit-log.service';
import { AdminRequest } from '../auth/admin-request';
import { AdminTokenVerifier, roleAllows, tokenFromAuthorization } from '../auth/admin-token.verifier';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Guards the Bull Board pages: operator tokens only, as Bearer or, so a browser can open the page, as the password of
 * HTTP Basic. What the board changes (retry, clean, promote, remove) goes to the admin audit log like any other change.
 */
export function bullBoardAccess(verifier: AdminTokenVerifier, audit: AuditLogService) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = tokenFromAuthorization(req.headers.authorization, true);
    const actor = token ? verifier.verify(token) : undefined;
    const changes = !READS.has(req.method);
    const refuse = async (status: number, code: string, message: string) => {
      if (changes) await audit.record(auditEntryOf(req, 'bull-board', { status, outcome: 'denied', error: message }));
      res.status(status).json({ statusCode: status, error: code, message, requestId: (req as Request & { id?: string }).id });
    };
    if (!actor) {
      res.setHeader('WWW-Authenticate', 'Basic realm="pyrus-bots queues", charset="UTF-8"');
      return refuse(401, 'UNAUTHORIZED', 'An operator token is required (Bearer, or as the Basic password)');
    }
    (req as AdminRequest).adminActor = actor;
    if (!roleAllows(actor.role, 'operator')) {
      return refuse(403, 'FORBIDDEN', `The queue board needs the operator role; token "${actor.name}" has the ${actor.role} role`);
    }
    if (changes) {
      res.on('finish', () => {
        const outcome = res.statusCode < 400 ? 'succeeded' : 'failed';
        void audit.record(auditEntryOf(req, 'bull-board', { status: res.statusCode, outcome }));
      });
    }
    next();
  };
}
