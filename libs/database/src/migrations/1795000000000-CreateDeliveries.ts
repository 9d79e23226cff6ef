import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateDeliveries1795000000000 implements MigrationInterface {
  name = 'CreateDeliveries1795000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bot text NOT NULL,
        task_id bigint NOT NULL,
        event text NOT NULL,
        dedupe_key text NOT NULL,
        retry_header text,
        user_agent text,
        request_id text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        queued_at timestamptz,
        status text NOT NULL DEFAULT 'received'
          CHECK (status IN ('received', 'processed', 'skipped', 'failed')),
        repeat_count int NOT NULL DEFAULT 0,
        last_error text,
        body_bytes int NOT NULL,
        payload jsonb NOT NULL
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_deliveries_natural_key ON deliveries (bot, task_id, dedupe_key)`);
    // The sweeper's query: stored but never queued.
    await q.query(`CREATE INDEX ix_deliveries_unqueued ON deliveries (received_at) WHERE queued_at IS NULL`);
    await q.query(`CREATE INDEX ix_deliveries_received_at ON deliveries (received_at)`);

    await q.query(`
      CREATE TABLE processed_tasks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        delivery_id uuid NOT NULL UNIQUE REFERENCES deliveries (id),
        bot text NOT NULL,
        task_id bigint NOT NULL,
        handler text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('posting', 'posted', 'skipped', 'failed')),
        reason text,
        comment jsonb,
        pyrus_status int,
        pyrus_comment_id bigint,
        attempts int NOT NULL DEFAULT 0,
        error text,
        received_at timestamptz NOT NULL,
        started_at timestamptz NOT NULL,
        posted_at timestamptz,
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX ix_processed_tasks_bot_task ON processed_tasks (bot, task_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE processed_tasks`);
    await q.query(`DROP TABLE deliveries`);
  }
}
