import { MigrationInterface, QueryRunner } from 'typeorm';
import { PaymentChecksFunction1795900000000 } from './1795900000000-PaymentChecksFunction';

/**
 * payment_checks with budget periods that work for every period a limit may have (month, quarter, year). The earlier
 * version ended a period at its start plus `('1 ' || period)::interval`, and PostgreSQL has no "1 quarter": every check
 * of a quarterly budget failed, so its deliveries failed for good and the tasks were never decided.
 *
 * A period is now a half-open range of dates, [start, end): the start is the invoice date truncated to the period
 * (as a timestamp without time zone, so the session's time zone cannot move it), the end the start plus 1, 3 or 12
 * months. A quarter is January-March, April-June, July-September or October-December. An unknown period raises an
 * error naming it, rather than a cast error about intervals. The rest is as in 1795900000000.
 */
export class PaymentChecksBudgetPeriods1796000000000 implements MigrationInterface {
  name = 'PaymentChecksBudgetPeriods1796000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION payment_checks(
        p_lock_keys text[], p_supplier_key text, p_invoice_number_norm text, p_task_id bigint, p_amount numeric,
        p_currency text, p_invoice_date date, p_window_days int, p_budget_scope text, p_budget_key text, p_budget_period text)
      RETURNS TABLE (exact json, probable json, budget json)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        lock_key text;
        period_months int;
        period_start date;
        period_end date;
      BEGIN
        IF p_budget_scope IS NOT NULL THEN
          period_months := CASE p_budget_period WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 WHEN 'year' THEN 12 END;
          IF period_months IS NULL THEN
            RAISE EXCEPTION 'unknown budget period "%": it must be month, quarter or year', p_budget_period
              USING ERRCODE = 'invalid_parameter_value';
          END IF;
          period_start := date_trunc(p_budget_period, p_invoice_date::timestamp)::date;
          period_end := (period_start + make_interval(months => period_months))::date;
        END IF;
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
                      AND pay.task_id <> p_task_id AND pay.invoice_date >= period_start AND pay.invoice_date < period_end) u
              WHERE lim.scope = p_budget_scope AND lim.scope_key = p_budget_key AND lim.period = p_budget_period AND lim.currency = p_currency)
            WHEN 'cost_centre' THEN (
              SELECT json_build_object('limit', lim.amount::text, 'used', u.used::text,
                       'over', CASE WHEN u.used + p_amount > lim.amount THEN (u.used + p_amount - lim.amount)::text END)
              FROM budget_limits lim,
                   (SELECT coalesce(sum(pay.amount), 0) AS used FROM payments pay
                    WHERE pay.cost_centre = p_budget_key AND pay.currency = p_currency AND pay.status IN ('approved', 'paid')
                      AND pay.task_id <> p_task_id AND pay.invoice_date >= period_start AND pay.invoice_date < period_end) u
              WHERE lim.scope = p_budget_scope AND lim.scope_key = p_budget_key AND lim.period = p_budget_period AND lim.currency = p_currency)
          END;
      END
      $fn$`);
  }

  /** Back to the function of 1795900000000, quarters failing as they did. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION payment_checks(text[], text, text, bigint, numeric, text, date, int, text, text, text)`);
    await new PaymentChecksFunction1795900000000().up(q);
  }
}
