import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePayments1795100000000 implements MigrationInterface {
  name = 'CreatePayments1795100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bot text NOT NULL,
        task_id bigint NOT NULL,
        form_id bigint,
        supplier_key text NOT NULL,
        supplier_name text,
        invoice_number text,
        invoice_number_norm text,
        invoice_date date,
        amount numeric(18, 2) NOT NULL,
        currency text NOT NULL,
        cost_centre text,
        status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'paid', 'cancelled')),
        decision_reason text,
        decided_at timestamptz,
        erp_document_id text,
        source text NOT NULL DEFAULT 'bot' CHECK (source IN ('bot', 'backfill')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (bot, task_id)
      )`);
    // Exact duplicates: same supplier and invoice number on a live request.
    await q.query(`CREATE INDEX ix_payments_invoice ON payments (supplier_key, invoice_number_norm)
                   WHERE status NOT IN ('rejected', 'cancelled')`);
    // Probable duplicates: same supplier, amount and currency, invoice dates close together.
    await q.query(`CREATE INDEX ix_payments_amount ON payments (supplier_key, amount, currency, invoice_date)
                   WHERE status NOT IN ('rejected', 'cancelled')`);
    // Budget: approved and paid amounts of a supplier or cost centre in a period.
    await q.query(`CREATE INDEX ix_payments_budget_supplier ON payments (supplier_key, currency, invoice_date) INCLUDE (amount)
                   WHERE status IN ('approved', 'paid')`);
    await q.query(`CREATE INDEX ix_payments_budget_cost_centre ON payments (cost_centre, currency, invoice_date) INCLUDE (amount)
                   WHERE status IN ('approved', 'paid')`);

    await q.query(`
      CREATE TABLE budget_limits (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        scope text NOT NULL CHECK (scope IN ('supplier', 'cost_centre')),
        scope_key text NOT NULL,
        period text NOT NULL CHECK (period IN ('month', 'quarter', 'year')),
        currency text NOT NULL,
        amount numeric(18, 2) NOT NULL CHECK (amount >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (scope, scope_key, period, currency)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE budget_limits`);
    await q.query(`DROP TABLE payments`);
  }
}
