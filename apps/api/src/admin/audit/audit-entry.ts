import { Request } from 'express';
import { AdminRequest } from '../auth/admin-request';
import { AuditEntry } from './audit-log.service';

/** The audit log entry of a request: who (the token's name, never the token), what, from where, and the outcome. */
export function auditEntryOf(req: Request, action: string, result: Pick<AuditEntry, 'status' | 'outcome' | 'error'>): AuditEntry {
  const params = { ...(req.params ?? {}) };
  const sent: unknown = req.body;
  const body = sent && typeof sent === 'object' && Object.keys(sent).length ? sent : undefined;
  const query = Object.keys(req.query ?? {}).length ? req.query : undefined;
  return {
    actor: (req as AdminRequest).adminActor,
    clientIp: req.ip,
    method: req.method,
    path: req.originalUrl.split('?')[0],
    action,
    target: Object.values(params).join('/') || undefined,
    details: body || query ? { ...(query ? { query } : {}), ...(body ? { body } : {}) } : undefined,
    requestId: (req as Request & { id?: string }).id,
    ...result,
  };
}
