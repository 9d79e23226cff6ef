import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every admin request that changes something (or tries to): who, what, when, from where, and the outcome. Rows can be
 * added, never changed or removed: a trigger refuses UPDATE, DELETE and TRUNCATE for every role the service uses.
 */
export class CreateAdminAuditLog1795400000000 implements MigrationInterface {
  name = 'CreateAdminAuditLog1795400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE admin_audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text,
        role text,
        client_ip text,
        method text NOT NULL,
        path text NOT NULL,
        action text NOT NULL,
        target text,
        details jsonb,
        status int NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'denied')),
        error text,
        request_id text
      )`);
    await q.query(`CREATE INDEX ix_admin_audit_log_at ON admin_audit_log (at, id)`);
    await q.query(`
      CREATE FUNCTION admin_audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'admin_audit_log is append-only: % is not allowed', TG_OP;
      END $$`);
    await q.query(`CREATE TRIGGER admin_audit_log_no_update_delete BEFORE UPDATE OR DELETE ON admin_audit_log
                   FOR EACH ROW EXECUTE FUNCTION admin_audit_log_is_append_only()`);
    await q.query(`CREATE TRIGGER admin_audit_log_no_truncate BEFORE TRUNCATE ON admin_audit_log
                   FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_log_is_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE admin_audit_log`);
    await q.query(`DROP FUNCTION admin_audit_log_is_append_only()`);
  }
}
