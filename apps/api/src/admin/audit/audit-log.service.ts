import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { errorMessage } from '@app/observability';
import { AdminActor } from '../auth/admin-token.verifier';
import { CURSOR_PART, decodeCursor, Page, pageOf } from '../pagination';

export type AuditOutcome = 'succeeded' | 'failed' | 'denied';

export interface AuditEntry {
  actor?: AdminActor;
  clientIp?: string;
  method: string;
  path: string;
  action: string;
  target?: string;
  details?: Record<string, unknown>;
  status: number;
  outcome: AuditOutcome;
  error?: string;
  requestId?: string;
}

export interface AuditLogFilter {
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  from?: Date;
  to?: Date;
  limit: number;
  cursor?: string;
}

export interface AuditLogRow {
  id: number;
  at: string;
  actor: string | null;
  role: string | null;
  clientIp: string | null;
  method: string;
  path: string;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
  status: number;
  outcome: AuditOutcome;
  error: string | null;
  requestId: string | null;
}

/** The admin audit log: append-only in the database itself (a trigger refuses UPDATE, DELETE and TRUNCATE). */
@Injectable()
export class AuditLogService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectPinoLogger(AuditLogService.name) private readonly logger: PinoLogger,
  ) {}

  /**
   * Written before the response leaves. Should Postgres refuse it, the entry goes to the log in full instead, so the
   * action is still on record somewhere.
   */
  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO admin_audit_log (actor, role, client_ip, method, path, action, target, details, status, outcome, error, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          entry.actor?.name ?? null,
          entry.actor?.role ?? null,
          entry.clientIp ?? null,
          entry.method,
          entry.path,
          entry.action,
          entry.target ?? null,
          entry.details ?? null,
          entry.status,
          entry.outcome,
          entry.error ?? null,
          entry.requestId ?? null,
        ],
      );
    } catch (err) {
      this.logger.error(
        { audit: { ...entry, actor: entry.actor?.name }, err: errorMessage(err) },
        'Could not write the admin audit log entry',
      );
    }
  }

  /** Newest first. */
  async list(filter: AuditLogFilter): Promise<Page<AuditLogRow>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.actor) add('actor = ?', filter.actor);
    if (filter.action) add('action = ?', filter.action);
    if (filter.outcome) add('outcome = ?', filter.outcome);
    if (filter.from) add('at >= ?', filter.from);
    if (filter.to) add('at < ?', filter.to);
    if (filter.cursor) add('id < ?', decodeCursor(filter.cursor, [CURSOR_PART.id])[0]);
    params.push(filter.limit + 1);
    const rows: AuditLogRow[] = await this.db.query(
      `SELECT id::int AS id, at, actor, role, client_ip AS "clientIp", method, path, action, target, details, status, outcome,
              error, request_id AS "requestId"
         FROM admin_audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return pageOf(rows, filter.limit, (row) => [String(row.id)]);
  }
}
