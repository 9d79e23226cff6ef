import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the payment-order bot reports to the worker's reconciliation (every RECONCILE_INTERVAL_MS) as follow-ups not
 * done: orders the task was told are delayed and that do not exist yet, and approvals that reached Pyrus recently
 * (their vendor notifications). Partial indexes, so that question reads a few rows, not the whole history.
 */
export class PaymentFollowUpIndexes1796750000000 implements MigrationInterface {
  name = 'PaymentFollowUpIndexes1796750000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX ix_payments_order_delayed ON payments (bot, erp_delay_notified_at)
                   WHERE erp_document_id IS NULL AND erp_delay_notified_at IS NOT NULL`);
    await q.query(`CREATE INDEX ix_payments_order_reported ON payments (bot, erp_reported_at) WHERE erp_reported_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_payments_order_reported`);
    await q.query(`DROP INDEX ix_payments_order_delayed`);
  }
}
