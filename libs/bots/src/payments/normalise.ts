/**
 * How a supplier, its tax id and an invoice number compare, in the payment history and against the form register.
 * People type the same supplier as `ООО «Луч»`, `ООО "Луч"` or `ооо „Луч“`, the same tax id as `7701000002` or
 * `7701 000 002`, the same invoice as `СЧ-15/2024`, `сч 15 2024` or `СЧ—15/2024`: each pair must come out equal.
 *
 * Stored keys (payments.supplier_key, payments.invoice_number_norm) are made with these rules. Changing a rule means
 * a migration that re-keys the stored rows, as 1796100000000-RenormalisePaymentKeys does for these.
 */

/** Straight, typographic, low-9, angle and prime quotes, the backtick and the acute accent used as a quote. */
const QUOTES = /["'`´«»‹›“”„‟‘’‚‛″′〝〞＂＇]/g;
/** Every Unicode dash (hyphen, non-breaking hyphen, figure, en, em dash, horizontal bar, …) and the minus sign. */
const DASHES = /[\p{Pd}\u2212\uFE63\uFF0D]/gu;
/** Any run of white space, the non-breaking and narrow spaces included, and the zero-width characters Word inserts. */
const SPACES = /[\s\u200B-\u200D\u2060\uFEFF]+/gu;

/** "ООО «Луч»", "ооо  \"Луч\"" and "ООО „Луч“." are one supplier: case, quotes, dashes, dots, commas and spacing aside. */
export function normaliseName(value: string): string {
  return value.toLowerCase().replace(QUOTES, ' ').replace(DASHES, ' ').replace(/[.,]/g, ' ').replace(SPACES, ' ').trim();
}

/** "INV-2024/001", "inv 2024 001", "Inv.2024—001" and "№ INV_2024_001" are one invoice number. */
export function normaliseInvoiceNumber(value: string): string {
  return value
    .toUpperCase()
    .replace(QUOTES, '')
    .replace(DASHES, '')
    .replace(SPACES, '')
    .replace(/[_/\\.#№]/g, '');
}

/** A tax id (ИНН) as its digits: "7701 000 002", "7701-000-002" and "ИНН 7701000002" are one. Empty when it has none. */
export function normaliseTaxId(value: string): string {
  return value.replace(/\D/g, '');
}
