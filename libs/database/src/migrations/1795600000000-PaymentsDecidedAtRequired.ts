import { MigrationInterface, QueryRunner } from 'typeorm';

/** Every payment has a decision time: the admin API pages, filters and totals payments by it. */
export class PaymentsDecidedAtRequired1795600000000 implements MigrationInterface {
  name = 'PaymentsDecidedAtRequired1795600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE payments SET decided_at = created_at WHERE decided_at IS NULL`);
    await q.query(`ALTER TABLE payments ALTER COLUMN decided_at SET DEFAULT now(), ALTER COLUMN decided_at SET NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments ALTER COLUMN decided_at DROP NOT NULL, ALTER COLUMN decided_at DROP DEFAULT`);
  }
}
