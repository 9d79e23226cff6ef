import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recording that a delivery was queued (queued_at) becomes a HOT update: no index names queued_at any more, and
 * pages keep room for the new row version. Before, that UPDATE wrote a new entry in every index of the table and
 * cost PostgreSQL as much as storing the delivery. The unqueued-delivery sweep finds its rows through
 * ix_deliveries_status (status 'received', oldest first) instead of the partial index.
 */
export class DeliveriesQueuedInPlace1795800000000 implements MigrationInterface {
  name = 'DeliveriesQueuedInPlace1795800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS ix_deliveries_unqueued`);
    await q.query(`ALTER TABLE deliveries SET (fillfactor = 80)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries RESET (fillfactor)`);
    await q.query(`CREATE INDEX ix_deliveries_unqueued ON deliveries (received_at) WHERE queued_at IS NULL`);
  }
}
