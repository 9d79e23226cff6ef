import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One payment row per invoice task, shared by the payment bots of a route (duplicate-check, budget-check,
 * payment-order): whichever sees the task first inserts it, the others update it. `bot` is now the bot that last
 * wrote the row. Where two bots of the same task had a row each, the one kept is the row with an ERP order, else one
 * that holds budget, else the latest decided; the notifications and call-log rows of the others move to it.
 */
export class OnePaymentPerTask1796600000000 implements MigrationInterface {
  name = 'OnePaymentPerTask1796600000000';

  async up(q: QueryRunner): Promise<void> {
    // Two statements over the same deterministic ranking: the notifications move first, so no row they name is deleted.
    const merges = `WITH ranked AS (
      SELECT id AS dropped, first_value(id) OVER w AS kept, row_number() OVER w AS rank FROM payments
      WINDOW w AS (PARTITION BY task_id
                   ORDER BY (erp_document_id IS NOT NULL) DESC, (status IN ('approved', 'paid')) DESC, decided_at DESC, updated_at DESC, id))`;
    await q.query(`${merges} UPDATE notifications n SET payment_id = r.kept FROM ranked r WHERE r.rank > 1 AND n.payment_id = r.dropped`);
    // The call log names payments without a foreign key: its rows follow too, so a task's timeline keeps them.
    await q.query(`${merges} UPDATE outbound_calls c SET payment_id = r.kept FROM ranked r WHERE r.rank > 1 AND c.payment_id = r.dropped`);
    await q.query(`${merges} UPDATE job_attempts a SET payment_id = r.kept FROM ranked r WHERE r.rank > 1 AND a.payment_id = r.dropped`);
    await q.query(`${merges} DELETE FROM payments p USING ranked r WHERE r.rank > 1 AND p.id = r.dropped`);
    await q.query(`ALTER TABLE payments DROP CONSTRAINT payments_bot_task_id_key`);
    await q.query(`ALTER TABLE payments ADD CONSTRAINT uq_payments_task UNIQUE (task_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments DROP CONSTRAINT uq_payments_task`);
    await q.query(`ALTER TABLE payments ADD CONSTRAINT payments_bot_task_id_key UNIQUE (bot, task_id)`);
  }
}
