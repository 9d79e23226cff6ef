import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the workers did, call by call, for a task's audit timeline: each job attempt, and each call to Pyrus or the
 * ERP with its status. Notifications already have their own table.
 */
export class CreateCallLog1795300000000 implements MigrationInterface {
  name = 'CreateCallLog1795300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE job_attempts (
        id bigserial PRIMARY KEY,
        queue text NOT NULL,
        job_id text NOT NULL,
        job_name text NOT NULL,
        attempt int NOT NULL,
        bot text,
        task_id bigint,
        delivery_id uuid,
        payment_id uuid,
        started_at timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('completed', 'failed')),
        error text
      )`);
    await q.query(`CREATE INDEX ix_job_attempts_task ON job_attempts (bot, task_id, started_at)`);
    await q.query(`
      CREATE TABLE outbound_calls (
        id bigserial PRIMARY KEY,
        target text NOT NULL CHECK (target IN ('pyrus', 'erp')),
        operation text NOT NULL,
        bot text,
        task_id bigint,
        delivery_id uuid,
        payment_id uuid,
        status int,
        outcome text NOT NULL CHECK (outcome IN ('ok', 'error')),
        error text,
        duration_ms int NOT NULL,
        at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX ix_outbound_calls_task ON outbound_calls (bot, task_id, at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE outbound_calls`);
    await q.query(`DROP TABLE job_attempts`);
  }
}
