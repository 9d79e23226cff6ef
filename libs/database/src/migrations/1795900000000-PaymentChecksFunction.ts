import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A decision's locks and checks in one round trip. The function takes the transaction-scoped advisory locks of the
 * supplier (and cost centre), in one order, then reads the duplicates and the budget standing. It must be a VOLATILE
 * PL/pgSQL function: each of its queries takes a fresh snapshot, so the checks see what the previous holder of a lock
 * committed. In one plain statement they would not: its snapshot is taken before the lock is granted.
 *
 * Exact duplicates: the supplier's live requests (not rejected or cancelled) with the same normalised invoice number.
 * Probable ones: the same amount and currency, invoice dates within the window, another invoice number. The budget
 * (when a scope is given): the limit of the period containing the invoice date, and what is approved or paid in it.
 * Other tasks only, at most 20 of each kind.
 */
export class PaymentChecksFunction1795900000000 implements MigrationInterface {
  name = 'PaymentChecksFunction1795900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION payment_checks(
        p_lock_keys text[], p_supplier_key text, p_invoice_number_norm text, p_task_id bigint, p_amount numeric,
        p_currency text, p_invoice_date date, p_window_days int, p_budget_scope text, p_budget_key text, p_budget_period text)
      RETURNS TABLE (exact json, probable json, budget json)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        lock_key text;
      BEGIN
        -- Always in one order, so two deciders never wait on each other's second lock.
        FOR lock_key IN SELECT DISTINCT k FROM unnest(p_lock_keys) AS k ORDER BY k LOOP
          PERFORM pg_advisory_xact_lock(hashtextextended(lock_key, 0));
        END LOOP;
        RETURN QUERY SELECT
          (SELECT coalesce(json_agg(e ORDER BY e."taskId"), '[]') FROM (
             SELECT pay.task_id AS "taskId", pay.invoice_number AS "invoiceNumber", to_char(pay.invoice_date, 'YYYY-MM-DD') AS "invoiceDate",
                    pay.amount::text AS amount, pay.currency, pay.status
             FROM payments pay
             WHERE pay.supplier_key = p_supplier_key AND pay.invoice_number_norm = p_invoice_number_norm AND pay.task_id <> p_task_id
               AND pay.status NOT IN ('rejected', 'cancelled')
             ORDER BY pay.task_id LIMIT 20) e),
          (SELECT coalesce(json_agg(pr ORDER BY pr."taskId"), '[]') FROM (
             SELECT pay.task_id AS "taskId", pay.invoice_number AS "invoiceNumber", to_char(pay.invoice_date, 'YYYY-MM-DD') AS "invoiceDate",
                    pay.amount::text AS amount, pay.currency, pay.status
             FROM payments pay
             WHERE pay.supplier_key = p_supplier_key AND pay.amount = p_amount AND pay.currency = p_currency
               AND pay.invoice_date BETWEEN p_invoice_date - p_window_days AND p_invoice_date + p_window_days
               AND pay.task_id <> p_task_id AND pay.status NOT IN ('rejected', 'cancelled')
               AND pay.invoice_number_norm IS DISTINCT FROM p_invoice_number_norm
             ORDER BY pay.task_id LIMIT 20) pr),
          -- One branch per scope rather than a column chosen in the condition, so each reads its own index.
          CASE p_budget_scope
            WHEN 'supplier' THEN (
              SELECT json_build_object('limit', lim.amount::text, 'used', u.used::text,
                       'over', CASE WHEN u.used + p_amount > lim.amount THEN (u.used + p_amount - lim.amount)::text END)
              FROM budget_limits lim,
                   (SELECT coalesce(sum(pay.amount), 0) AS used FROM payments pay
                    WHERE pay.supplier_key = p_budget_key AND pay.currency = p_currency AND pay.status IN ('approved', 'paid')
                      AND pay.task_id <> p_task_id AND pay.invoice_date >= date_trunc(p_budget_period, p_invoice_date)
                      AND pay.invoice_date < date_trunc(p_budget_period, p_invoice_date) + ('1 ' || p_budget_period)::interval) u
              WHERE lim.scope = p_budget_scope AND lim.scope_key = p_budget_key AND lim.period = p_budget_period AND lim.currency = p_currency)
            WHEN 'cost_centre' THEN (
              SELECT json_build_object('limit', lim.amount::text, 'used', u.used::text,
                       'over', CASE WHEN u.used + p_amount > lim.amount THEN (u.used + p_amount - lim.amount)::text END)
              FROM budget_limits lim,
                   (SELECT coalesce(sum(pay.amount), 0) AS used FROM payments pay
                    WHERE pay.cost_centre = p_budget_key AND pay.currency = p_currency AND pay.status IN ('approved', 'paid')
                      AND pay.task_id <> p_task_id AND pay.invoice_date >= date_trunc(p_budget_period, p_invoice_date)
                      AND pay.invoice_date < date_trunc(p_budget_period, p_invoice_date) + ('1 ' || p_budget_period)::interval) u
              WHERE lim.scope = p_budget_scope AND lim.scope_key = p_budget_key AND lim.period = p_budget_period AND lim.currency = p_currency)
          END;
      END
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION payment_checks(text[], text, text, bigint, numeric, text, date, int, text, text, text)`);
  }
}
