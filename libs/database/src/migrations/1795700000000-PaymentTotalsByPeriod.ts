import { MigrationInterface, QueryRunner } from 'typeorm';

const UNITS = ['month', 'quarter', 'year'];

/**
 * Payment totals of every supplier, a page at a time. The totals are listed by period (month, quarter or year of the
 * decision), supplier, currency and status; without an index in that order, each page summed every monthly row of the
 * range and sorted the groups before it could return the first 500 (over 1,000,000 payments: 130 ms for a quarter and
 * 250 ms for a year on an idle machine, seconds under load). With one index per grouping, in that order, a page reads
 * its rows in order and stops when it is full, and a later page starts at its cursor.
 *
 * The index keys change only when a month gets its first payment of a supplier, currency and status: the trigger's
 * other updates change the counts and sums, which are not indexed.
 *
 * The statistics tell the planner how the month and its quarter and year go together: the query bounds both, and
 * taken for independent they would make it expect a fraction of the rows there are and choose to sum and sort the whole
 * range after all. (They cover each month while there are at most 100 months of payments, the default statistics
 * target; past that, the most frequent.)
 */
export class PaymentTotalsByPeriod1795700000000 implements MigrationInterface {
  name = 'PaymentTotalsByPeriod1795700000000';

  async up(q: QueryRunner): Promise<void> {
    for (const unit of UNITS) {
      await q.query(`CREATE INDEX ix_payment_monthly_totals_by_${unit} ON payment_monthly_totals
                     ((date_trunc('${unit}', month::timestamp)), supplier_key, currency, status)`);
    }
    await q.query(`CREATE STATISTICS payment_monthly_totals_periods (mcv) ON month,
                   ${UNITS.map((unit) => `(date_trunc('${unit}', month::timestamp))`).join(', ')} FROM payment_monthly_totals`);
    await q.query(`ANALYZE payment_monthly_totals`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP STATISTICS payment_monthly_totals_periods`);
    for (const unit of UNITS) await q.query(`DROP INDEX ix_payment_monthly_totals_by_${unit}`);
  }
}
