import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A local copy of the payment forms' registers, so the duplicate check reads PostgreSQL instead of searching Pyrus on
 * every decision. `register_syncs`: one row per form, what the worker's sync last did (the moment the copy is complete
 * up to, which the next incremental read asks from; the last full pass; the last error). `register_invoices`: the
 * register's invoice tasks as the duplicate check compares them (normalised supplier and invoice number, date, amount,
 * currency, whether anyone rejected it), with an index for each of its two questions.
 */
export class RegisterCopy1796900000000 implements MigrationInterface {
  name = 'RegisterCopy1796900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE register_syncs (
        form_id bigint PRIMARY KEY,
        bot text NOT NULL,
        synced_as_of timestamptz,
        full_pass_at timestamptz,
        succeeded_at timestamptz,
        tasks_read integer NOT NULL DEFAULT 0,
        last_error text,
        last_error_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE register_invoices (
        form_id bigint NOT NULL,
        task_id bigint NOT NULL,
        supplier_key text NOT NULL,
        invoice_number text NOT NULL,
        invoice_number_norm text NOT NULL,
        invoice_date date NOT NULL,
        amount numeric(18, 2) NOT NULL,
        currency text NOT NULL,
        rejected boolean NOT NULL,
        last_modified_date timestamptz,
        synced_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (form_id, task_id)
      )`);
    // Exact duplicates: same supplier and invoice number.
    await q.query(`CREATE INDEX ix_register_invoices_invoice ON register_invoices (form_id, supplier_key, invoice_number_norm)
                   WHERE NOT rejected`);
    // Probable duplicates: same supplier, amount and currency, invoice dates close together.
    await q.query(`CREATE INDEX ix_register_invoices_amount ON register_invoices (form_id, supplier_key, amount, currency, invoice_date)
                   WHERE NOT rejected`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE register_invoices`);
    await q.query(`DROP TABLE register_syncs`);
  }
}
