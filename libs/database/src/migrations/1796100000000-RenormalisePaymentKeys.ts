import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Re-keys the payment history with the normalisation of libs/bots/src/payments/normalise.ts: supplier names and
 * invoice numbers now compare with quotes of every kind (“ ” „ ‘ ’ …), dashes of every kind (– — ‑ −) and
 * zero-width characters set aside, as the bot computes them for new requests. Rows keyed by the earlier rules would
 * not match a new request for the same supplier or invoice typed another way.
 *
 * The rules are copied here, as they are at this migration, rather than imported: a migration keeps doing what it did
 * when it landed, and a later change of the rules gets a migration of its own. The e2e test
 * test/payment-normalisation.e2e-spec.ts checks that this copy and the bot's rules agree.
 *
 * Only `name:` supplier keys change (a `tax:` key is the tax id's digits, as before), recomputed from the stored
 * supplier name. Rows are read in pages by id and only the changed ones are written, so the monthly-totals trigger
 * moves only their totals.
 */
export class RenormalisePaymentKeys1796100000000 implements MigrationInterface {
  name = 'RenormalisePaymentKeys1796100000000';

  async up(q: QueryRunner): Promise<void> {
    const rules = { name: normaliseName, invoiceNumber: normaliseInvoiceNumber };
    await rekey(q, rules);
    await rekeyBudgetLimits(q, rules);
  }

  /** Back to the rules before this migration. */
  async down(q: QueryRunner): Promise<void> {
    const rules = { name: earlierNormaliseName, invoiceNumber: earlierNormaliseInvoiceNumber };
    await rekey(q, rules);
    await rekeyBudgetLimits(q, rules);
  }
}

const PAGE = 5000;

interface Rules {
  name(value: string): string;
  invoiceNumber(value: string): string;
}

interface PaymentKeys {
  id: string;
  supplier_key: string;
  supplier_name: string | null;
  invoice_number: string | null;
  invoice_number_norm: string | null;
}

async function rekey(q: QueryRunner, rules: Rules): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const rows: PaymentKeys[] = await q.query(
      `SELECT id, supplier_key, supplier_name, invoice_number, invoice_number_norm FROM payments
       WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT ${PAGE}`,
      [after],
    );
    if (rows.length === 0) return;
    after = rows[rows.length - 1].id;
    const changed = rows
      .map((row) => ({
        id: row.id,
        supplierKey: row.supplier_key.startsWith('name:') && row.supplier_name ? `name:${rules.name(row.supplier_name)}` : row.supplier_key,
        invoiceNumberNorm: row.invoice_number === null ? row.invoice_number_norm : rules.invoiceNumber(row.invoice_number),
        row,
      }))
      .filter((c) => c.supplierKey !== c.row.supplier_key || c.invoiceNumberNorm !== c.row.invoice_number_norm);
    if (changed.length > 0) {
      await q.query(
        `UPDATE payments p SET supplier_key = c.supplier_key, invoice_number_norm = c.invoice_number_norm
         FROM unnest($1::uuid[], $2::text[], $3::text[]) AS c(id, supplier_key, invoice_number_norm) WHERE p.id = c.id`,
        [changed.map((c) => c.id), changed.map((c) => c.supplierKey), changed.map((c) => c.invoiceNumberNorm)],
      );
    }
  }
}

/**
 * A supplier's budget limit is keyed like its payments (`name:` + the normalised name), or it would stop matching them
 * and the limit would silently go unenforced. Only the key is stored, so the rules are applied to the earlier key's
 * name, which they leave as they would the name itself (the earlier rules did a part of what these do). A limit whose
 * new key another limit of the same period and currency already has keeps its old key, with a warning in the
 * migration's log: two limits for one supplier are the operator's to merge.
 */
async function rekeyBudgetLimits(q: QueryRunner, rules: Rules): Promise<void> {
  const limits: Array<{ id: string; scope_key: string }> = await q.query(
    `SELECT id, scope_key FROM budget_limits WHERE scope = 'supplier' AND scope_key LIKE 'name:%' ORDER BY id`,
  );
  for (const limit of limits) {
    const key = `name:${rules.name(limit.scope_key.slice('name:'.length))}`;
    if (key === limit.scope_key) continue;
    const [, moved] = (await q.query(
      `UPDATE budget_limits b SET scope_key = $2, updated_at = now() WHERE b.id = $1
         AND NOT EXISTS (SELECT 1 FROM budget_limits o WHERE o.scope = b.scope AND o.scope_key = $2 AND o.period = b.period AND o.currency = b.currency)`,
      [limit.id, key],
    )) as [unknown, number];
    if (!moved)
      q.connection.logger.log('warn', `budget limit ${limit.id} keeps its key ${limit.scope_key}: another limit already has ${key}`);
  }
}

// The rules of libs/bots/src/payments/normalise.ts at this migration.
const QUOTES = /["'`´«»‹›“”„‟‘’‚‛″′〝〞＂＇]/g;
const DASHES = /[\p{Pd}\u2212\uFE63\uFF0D]/gu;
const SPACES = /[\s\u200B-\u200D\u2060\uFEFF]+/gu;

function normaliseName(value: string): string {
  return value.toLowerCase().replace(QUOTES, ' ').replace(DASHES, ' ').replace(/[.,]/g, ' ').replace(SPACES, ' ').trim();
}

function normaliseInvoiceNumber(value: string): string {
  return value
    .toUpperCase()
    .replace(QUOTES, '')
    .replace(DASHES, '')
    .replace(SPACES, '')
    .replace(/[_/\\.#№]/g, '');
}

// The rules before it.
function earlierNormaliseName(value: string): string {
  return value
    .toLowerCase()
    .replace(/["«»'`.,]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function earlierNormaliseInvoiceNumber(value: string): string {
  return value.toUpperCase().replace(/[\s\-_/\\.#№]/g, '');
}
