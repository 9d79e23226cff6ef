import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the admin API's lists need to stay fast over millions of rows: keyset-pagination indexes, and monthly payment
 * totals kept up to date by a trigger, so totals per supplier and period add up a few summary rows rather than scan
 * every payment.
 */
export class AdminQueries1795500000000 implements MigrationInterface {
  name = 'AdminQueries1795500000000';

  async up(q: QueryRunner): Promise<void> {
    // Deliveries, newest first, optionally by status; (received_at, id) is the page cursor.
    await q.query(`DROP INDEX ix_deliveries_received_at`);
    await q.query(`CREATE INDEX ix_deliveries_received_at ON deliveries (received_at, id)`);
    await q.query(`CREATE INDEX ix_deliveries_status ON deliveries (status, received_at, id)`);

    // Payments are listed and totalled by decision time. Backfilled history rows had none: they count from their import.
    await q.query(`UPDATE payments SET decided_at = created_at WHERE decided_at IS NULL`);
    await q.query(`CREATE INDEX ix_payments_decided ON payments (decided_at, id)`);
    await q.query(`CREATE INDEX ix_payments_supplier_decided ON payments (supplier_key, decided_at, id)`);
    await q.query(`CREATE INDEX ix_payments_status_decided ON payments (status, decided_at, id)`);
    await q.query(`CREATE INDEX ix_payments_invoice_number ON payments (invoice_number_norm, decided_at)`);

    await q.query(`
      CREATE TABLE payment_monthly_totals (
        supplier_key text NOT NULL,
        month date NOT NULL,
        currency text NOT NULL,
        status text NOT NULL,
        supplier_name text,
        payments int NOT NULL,
        amount numeric(18, 2) NOT NULL,
        PRIMARY KEY (supplier_key, month, currency, status)
      )`);
    await q.query(`CREATE INDEX ix_payment_monthly_totals_month ON payment_monthly_totals (month)`);
    // Months are UTC calendar months of decided_at.
    await q.query(`
      CREATE FUNCTION payments_track_monthly_totals() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.decided_at IS NOT NULL THEN
          UPDATE payment_monthly_totals
             SET payments = payments - 1, amount = amount - OLD.amount
           WHERE supplier_key = OLD.supplier_key AND currency = OLD.currency AND status = OLD.status
             AND month = date_trunc('month', OLD.decided_at AT TIME ZONE 'UTC')::date;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.decided_at IS NOT NULL THEN
          INSERT INTO payment_monthly_totals AS t (supplier_key, month, currency, status, supplier_name, payments, amount)
          VALUES (NEW.supplier_key, date_trunc('month', NEW.decided_at AT TIME ZONE 'UTC')::date, NEW.currency, NEW.status,
                  NEW.supplier_name, 1, NEW.amount)
          ON CONFLICT (supplier_key, month, currency, status) DO UPDATE
             SET payments = t.payments + 1, amount = t.amount + EXCLUDED.amount,
                 supplier_name = coalesce(EXCLUDED.supplier_name, t.supplier_name);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER payments_monthly_totals_insert_delete AFTER INSERT OR DELETE ON payments
                   FOR EACH ROW EXECUTE FUNCTION payments_track_monthly_totals()`);
    // ERP and notification bookkeeping updates payments too; only a change that moves money between totals counts.
    await q.query(`CREATE TRIGGER payments_monthly_totals_update AFTER UPDATE ON payments FOR EACH ROW
                   WHEN (OLD.supplier_key IS DISTINCT FROM NEW.supplier_key OR OLD.currency IS DISTINCT FROM NEW.currency
                         OR OLD.status IS DISTINCT FROM NEW.status OR OLD.amount IS DISTINCT FROM NEW.amount
                         OR OLD.decided_at IS DISTINCT FROM NEW.decided_at OR OLD.supplier_name IS DISTINCT FROM NEW.supplier_name)
                   EXECUTE FUNCTION payments_track_monthly_totals()`);
    await q.query(`
      INSERT INTO payment_monthly_totals (supplier_key, month, currency, status, supplier_name, payments, amount)
      SELECT supplier_key, date_trunc('month', decided_at AT TIME ZONE 'UTC')::date, currency, status, max(supplier_name), count(*), sum(amount)
        FROM payments WHERE decided_at IS NOT NULL GROUP BY 1, 2, 3, 4`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER payments_monthly_totals_update ON payments`);
    await q.query(`DROP TRIGGER payments_monthly_totals_insert_delete ON payments`);
    await q.query(`DROP FUNCTION payments_track_monthly_totals()`);
    await q.query(`DROP TABLE payment_monthly_totals`);
    await q.query(`DROP INDEX ix_payments_invoice_number`);
    await q.query(`DROP INDEX ix_payments_status_decided`);
    await q.query(`DROP INDEX ix_payments_supplier_decided`);
    await q.query(`DROP INDEX ix_payments_decided`);
    await q.query(`DROP INDEX ix_deliveries_status`);
    await q.query(`DROP INDEX ix_deliveries_received_at`);
    await q.query(`CREATE INDEX ix_deliveries_received_at ON deliveries (received_at)`);
  }
}
