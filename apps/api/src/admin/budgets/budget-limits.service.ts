import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import { CreateBudgetLimitBody, UpdateBudgetLimitBody } from './budget-limits.dto';

const COLUMNS = `id, scope, scope_key AS "scopeKey", period, currency, amount::text AS amount, created_at AS "createdAt", updated_at AS "updatedAt"`;
/** A row as COLUMNS reads it; the amount stays text so no digit of a large limit is lost. */
export interface BudgetLimit {
  id: string;
  scope: string;
  scopeKey: string;
  period: string;
  currency: string;
  amount: string;
  createdAt: Date;
  updatedAt: Date;
}

const UNIQUE_VIOLATION = '23505';

/** The limits the payment bot checks; a change applies to the next decision. */
@Injectable()
export class BudgetLimitsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  list() {
    return this.db.query<BudgetLimit[]>(`SELECT ${COLUMNS} FROM budget_limits ORDER BY scope, scope_key, period, currency`);
  }

  async create(body: CreateBudgetLimitBody) {
    const rows = await this.conflictsAs409(() =>
      this.db.query<BudgetLimit[]>(
        `INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [body.scope, body.scopeKey, body.period, body.currency, body.amount],
      ),
    );
    return rows[0];
  }

  async update(id: string, body: UpdateBudgetLimitBody) {
    if (body.period === undefined && body.currency === undefined && body.amount === undefined) {
      throw new BadRequestException({ code: 'INVALID_REQUEST', message: 'Nothing to change: give period, currency or amount' });
    }
    // An UPDATE through the DataSource answers [rows, count].
    const [rows] = await this.conflictsAs409(() =>
      this.db.query<[BudgetLimit[], number]>(
        `UPDATE budget_limits SET period = coalesce($2, period), currency = coalesce($3, currency), amount = coalesce($4::numeric, amount),
                updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, body.period ?? null, body.currency ?? null, body.amount ?? null],
      ),
    );
    if (!rows?.length) throw notFound(id);
    return rows[0];
  }

  async remove(id: string): Promise<void> {
    const [, count] = await this.db.query<[unknown[], number]>(`DELETE FROM budget_limits WHERE id = $1`, [id]);
    if (!count) throw notFound(id);
  }

  private async conflictsAs409<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof QueryFailedError && (err.driverError as { code?: string })?.code === UNIQUE_VIOLATION) {
        throw new ConflictException({ code: 'CONFLICT', message: 'A limit for this scope, key, period and currency already exists' });
      }
      throw err;
    }
  }
}

const notFound = (id: string) => new NotFoundException({ code: 'NOT_FOUND', message: `No budget limit ${id}` });
