import { Type } from 'class-transformer';
import { IsDefined, IsInt, IsOptional, IsString, ValidateNested } from 'class-validator';
import { FieldSelector, findField, PyrusField, PyrusTask, readDate, readFieldValue, readMoney } from '@app/pyrus';
import { IsFieldSelector, Requires } from '../settings-validation';
import { normaliseInvoiceNumber, normaliseName, normaliseTaxId } from './normalise';

/** Form fields the payment bots read, each by code (preferred), id or name. */
export class PaymentFieldMap {
  @IsFieldSelector()
  supplier!: FieldSelector;

  @IsOptional()
  @IsFieldSelector()
  supplierTaxId?: FieldSelector;

  @IsFieldSelector()
  invoiceNumber!: FieldSelector;

  @IsFieldSelector()
  invoiceDate!: FieldSelector;

  @IsFieldSelector()
  amount!: FieldSelector;

  @IsOptional()
  @IsFieldSelector()
  currency?: FieldSelector;

  @IsOptional()
  @IsFieldSelector()
  costCentre?: FieldSelector;

  @IsOptional()
  @IsFieldSelector()
  vendorEmail?: FieldSelector;

  @IsOptional()
  @IsFieldSelector()
  vendorPhone?: FieldSelector;
}

/** What every payment bot reads of an invoice task: its fields, the currency when the form has none, the form. */
export class InvoiceSettings {
  @IsDefined({ message: 'an object naming the form fields is expected' })
  @Requires<InvoiceSettings>((s) => s.fields?.currency !== undefined || s.defaultCurrency !== undefined, {
    message: 'fields.currency or defaultCurrency is required',
  })
  @ValidateNested()
  @Type(() => PaymentFieldMap)
  fields!: PaymentFieldMap;

  /**
   * The invoice form: its register's local copy for the bots that check duplicates (BotHandler.registerCopyOf), and the
   * form of `npm run backfill`. The bot itself reads each task's own form.
   */
  @IsOptional()
  @IsInt({ message: 'a form id (a whole number) is expected' })
  formId?: number;

  /** When the form has no currency field. */
  @IsOptional()
  @IsString()
  defaultCurrency?: string;
}

export interface Invoice {
  supplierKey: string;
  supplierName: string;
  invoiceNumber: string;
  invoiceNumberNorm: string;
  invoiceDate: string;
  amount: string;
  currency: string;
  costCentre?: string;
  vendorEmail?: string;
  vendorPhone?: string;
}

const REQUIRED: Array<[keyof PaymentFieldMap, string]> = [
  ['supplier', 'supplier'],
  ['invoiceNumber', 'invoice number'],
  ['invoiceDate', 'invoice date'],
  ['amount', 'amount'],
];

/** Reads the invoice of a payment request; `missing` names the required fields that are empty. */
export function readInvoice(task: PyrusTask, settings: InvoiceSettings): { invoice?: Invoice; missing: string[] } {
  const field = (key: keyof PaymentFieldMap) =>
    settings.fields[key] === undefined ? undefined : findField(task, settings.fields[key])?.field;
  const missing = REQUIRED.filter(([key]) => isEmpty(key === 'amount' ? readMoney(field(key)) : readLabel(field(key)))).map(
    ([, label]) => label,
  );
  if (missing.length) return { missing };
  const supplierName = readLabel(field('supplier'))!;
  const taxId = normaliseTaxId(readLabel(field('supplierTaxId')) ?? '');
  const invoiceNumber = readLabel(field('invoiceNumber'))!;
  return {
    missing,
    invoice: {
      supplierKey: taxId ? `tax:${taxId}` : `name:${normaliseName(supplierName)}`,
      supplierName,
      invoiceNumber,
      invoiceNumberNorm: normaliseInvoiceNumber(invoiceNumber),
      invoiceDate: readDate(field('invoiceDate')) as string,
      amount: Number(readMoney(field('amount'))).toFixed(2),
      currency: (readLabel(field('currency')) ?? settings.defaultCurrency!).toUpperCase(),
      costCentre: readLabel(field('costCentre')),
      vendorEmail: readLabel(field('vendorEmail')),
      vendorPhone: readLabel(field('vendorPhone')),
    },
  };
}

/** A field's value as one line of text: text as is, a catalog item's first column, a choice's name, a number. */
export function readLabel(field: PyrusField | undefined): string | undefined {
  if (!field || field.value === undefined || field.value === null) return undefined;
  const value: unknown = readFieldValue(field);
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number') return String(value);
  const catalog = value as { rows?: string[][] };
  if (Array.isArray(catalog?.rows) && catalog.rows[0]?.length) return catalog.rows[0][0];
  const choice = value as { choiceNames?: string[] };
  if (Array.isArray(choice?.choiceNames) && choice.choiceNames.length) return choice.choiceNames[0];
  return undefined;
}

/** The one-row-per-task history locks on the supplier (and cost centre): deciders for one of them take turns. */
export function paymentLockKeys(invoice: Invoice): string[] {
  return [`payments:${invoice.supplierKey}`, ...(invoice.costCentre ? [`payments:cc:${invoice.costCentre}`] : [])];
}

export const taskLink = (id: number) => `https://pyrus.com/t#id${id}`;

/** 1234567.5 -> "1 234 567.50" */
export function money(value: string): string {
  const [whole, cents = '00'] = Number(value).toFixed(2).split('.');
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ' ')}.${cents}`;
}

const isEmpty = (v: unknown) => v === undefined || v === null || v === '';
