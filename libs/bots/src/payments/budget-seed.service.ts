import { readFileSync } from 'node:fs';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

const SCOPES = ['supplier', 'cost_centre'];
const PERIODS = ['month', 'quarter', 'year'];

/**
 * Loads budget limits from JSON until the admin API edits them: `[{"scope", "scopeKey", "period", "currency",
 * "amount"}]`. A supplier's scopeKey is "tax:<tax id>" or "name:<normalised name>", as the payment bot keys them.
 */
@Injectable()
export class BudgetSeedService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Upserts every limit of the file in one transaction; a bad entry stops it, naming the entry. */
  async seedFile(path: string): Promise<number> {
    let entries: unknown;
    try {
      entries = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    }
    if (!Array.isArray(entries)) throw new Error(`${path}: expected a JSON array of limits`);
    entries.forEach((entry, i) => {
      const e = entry as Record<string, unknown>;
      const bad = (what: string) => new Error(`${path}: entry ${i}: ${what}`);
      if (!SCOPES.includes(e.scope as string)) throw bad(`"scope" must be one of ${SCOPES.join(', ')}`);
      if (typeof e.scopeKey !== 'string' || !e.scopeKey) throw bad('"scopeKey" is required');
      if (!PERIODS.includes(e.period as string)) throw bad(`"period" must be one of ${PERIODS.join(', ')}`);
      if (typeof e.currency !== 'string' || !/^[A-Za-z]{3}$/.test(e.currency)) throw bad('"currency" must be a three-letter code');
      if (!/^\d+(\.\d{1,2})?$/.test(String(e.amount))) throw bad('"amount" must be a non-negative number with at most two decimals');
    });
    await this.db.transaction(async (em) => {
      for (const e of entries as Array<Record<string, string>>) {
        await em.query(
          `INSERT INTO budget_limits (scope, scope_key, period, currency, amount) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (scope, scope_key, period, currency) DO UPDATE SET amount = EXCLUDED.amount, updated_at = now()`,
          [e.scope, e.scopeKey, e.period, e.currency.toUpperCase(), String(e.amount)],
        );
      }
    });
    return (entries as unknown[]).length;
  }
}
