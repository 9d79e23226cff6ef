import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateFollowUps1795200000000 implements MigrationInterface {
  name = 'CreateFollowUps1795200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments ADD COLUMN vendor_email text, ADD COLUMN vendor_phone text,
                   ADD COLUMN erp_ordered_at timestamptz, ADD COLUMN erp_reported_at timestamptz,
                   ADD COLUMN erp_delay_notified_at timestamptz`);
    await q.query(`
      CREATE TABLE notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        payment_id uuid NOT NULL REFERENCES payments (id),
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        recipient text NOT NULL,
        status text NOT NULL CHECK (status IN ('sent', 'failed')),
        error text,
        provider_id text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_notifications_payment ON notifications (payment_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications`);
    await q.query(
      `ALTER TABLE payments DROP COLUMN vendor_email, DROP COLUMN vendor_phone, DROP COLUMN erp_ordered_at, DROP COLUMN erp_reported_at, DROP COLUMN erp_delay_notified_at`,
    );
  }
}
