import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One decision per (bot, task, claim): the claim names the step and the round that brought the task there, or the
 * event a commenting bot answers. The partial unique index is what a second webhook, the inbox sweep, a replay or
 * a second worker runs into; a decision that failed for good (outcome 'failed') or was skipped holds no claim.
 * A delivery whose text PostgreSQL could not hold keeps the SHA-256 of the body as received and how many characters
 * were replaced.
 */
export class DecisionClaims1796500000000 implements MigrationInterface {
  name = 'DecisionClaims1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE processed_tasks ADD COLUMN claim_key text`);
    await q.query(
      `CREATE UNIQUE INDEX uq_processed_tasks_claim ON processed_tasks (bot, task_id, claim_key)
       WHERE claim_key IS NOT NULL AND outcome IN ('posting', 'posted')`,
    );
    await q.query(`ALTER TABLE deliveries ADD COLUMN body_sha256 text, ADD COLUMN replaced_chars int NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries DROP COLUMN body_sha256, DROP COLUMN replaced_chars`);
    await q.query(`DROP INDEX uq_processed_tasks_claim`);
    await q.query(`ALTER TABLE processed_tasks DROP COLUMN claim_key`);
  }
}
