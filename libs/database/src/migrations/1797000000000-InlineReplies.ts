import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How a decision reached Pyrus: in the webhook's own answer ('inline') or posted through the API ('api'). The column
 * is the hand-over claim between an api process waiting to answer inline and the worker: NULL while neither has taken
 * the decision, and each side moves it only from NULL (see DeliveryJourney.claimInline and claimForApi), so a
 * decision is delivered one way, once. Decisions posted before this migration went through the API.
 */
export class InlineReplies1797000000000 implements MigrationInterface {
  name = 'InlineReplies1797000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE processed_tasks ADD COLUMN delivered_via text
         CONSTRAINT ck_processed_tasks_delivered_via CHECK (delivered_via IN ('inline', 'api'))`,
    );
    await q.query(
      `UPDATE processed_tasks SET delivered_via = 'api' WHERE outcome IN ('posting', 'posted', 'failed') AND comment IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE processed_tasks DROP COLUMN delivered_via`);
  }
}
