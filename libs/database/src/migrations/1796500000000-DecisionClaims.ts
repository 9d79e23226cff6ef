import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Decisions of the last 30 days made before claims existed get the claim the worker would have taken (see
 * libs/bots/src/decision-claim.ts), so a late delivery of a version decided just before the upgrade still finds it
 * taken. Of two such decisions on one claim (the doubles claims prevent), the first keeps it.
 */
export const BACKFILL_RECENT_CLAIMS = `
  WITH computed AS (
    SELECT p.id, p.bot, p.task_id, p.started_at,
           CASE WHEN p.comment ? 'approval_choice' OR p.comment ? 'approvals_rerequested'
                THEN 'step:' || s.step || ':round:' || coalesce(r.round, 0)
                ELSE 'event:' || d.event || ':' || coalesce('c' || n.newest, 'none') END AS claim_key
      FROM processed_tasks p
      JOIN deliveries d ON d.id = p.delivery_id
      CROSS JOIN LATERAL (
        SELECT coalesce(nullif(d.payload->'task'->>'current_step', ''), '1') AS step,
               CASE WHEN jsonb_typeof(d.payload->'task'->'comments') = 'array' THEN d.payload->'task'->'comments' ELSE '[]'::jsonb END AS comments) s
      CROSS JOIN LATERAL (
        SELECT max((c->>'id')::bigint) AS newest FROM jsonb_array_elements(s.comments) c WHERE c->>'id' ~ '^[0-9]{1,18}$') n
      CROSS JOIN LATERAL (
        SELECT max((c->>'id')::bigint) AS round FROM jsonb_array_elements(s.comments) c
         WHERE c->>'id' ~ '^[0-9]{1,18}$' AND c->>'changed_step' = s.step) r
     WHERE p.claim_key IS NULL AND p.outcome IN ('posting', 'posted') AND p.started_at > now() - interval '30 days'),
  first AS (
    SELECT DISTINCT ON (c.bot, c.task_id, c.claim_key) c.id, c.claim_key
      FROM computed c
     WHERE NOT EXISTS (SELECT 1 FROM processed_tasks o WHERE o.bot = c.bot AND o.task_id = c.task_id AND o.claim_key = c.claim_key
                         AND o.outcome IN ('posting', 'posted'))
     ORDER BY c.bot, c.task_id, c.claim_key, c.started_at)
  UPDATE processed_tasks p SET claim_key = f.claim_key FROM first f WHERE p.id = f.id`;

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
    await q.query(BACKFILL_RECENT_CLAIMS);
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
