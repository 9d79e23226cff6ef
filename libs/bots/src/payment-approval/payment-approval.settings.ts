import { Type } from 'class-transformer';
import { IsBoolean, IsDefined, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import type { BudgetPeriod, BudgetScope } from '@app/database';
import type { FieldSelector } from '@app/pyrus';
import { IsFieldSelector, Requires } from '../settings-validation';

/** Form fields the handler reads, each by code (preferred), id or name. */
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

export class PaymentBudgetSettings {
  @IsIn(['supplier', 'cost_centre'], { message: '"supplier" or "cost_centre" is expected' })
  scope!: BudgetScope;

  @IsIn(['month', 'quarter', 'year'], { message: '"month", "quarter" or "year" is expected' })
  period!: BudgetPeriod;
}

export class PaymentTexts {
  @IsOptional()
  @IsString()
  approved?: string;

  @IsOptional()
  @IsString()
  returned?: string;

  @IsOptional()
  @IsString()
  missingFields?: string;
}

export class PaymentErpSettings {
  @IsBoolean({ message: 'true or false is expected' })
  enabled!: boolean;

  @IsOptional()
  @IsFieldSelector()
  documentField?: FieldSelector;

  @IsOptional()
  @IsString()
  createdText?: string;

  @IsOptional()
  @IsString()
  delayedText?: string;
}

export class PaymentEmailSettings {
  @IsString()
  @IsNotEmpty()
  subject!: string;

  @IsString()
  @IsNotEmpty()
  text!: string;
}

export class PaymentSmsSettings {
  @IsString()
  @IsNotEmpty()
  text!: string;
}

export class PaymentNotifySettings {
  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentEmailSettings)
  email?: PaymentEmailSettings;

  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentSmsSettings)
  sms?: PaymentSmsSettings;
}

/** The settings of a `payment-approval` bot, validated at boot (docs/configuration.md lists each). */
export class PaymentApprovalSettings {
  @IsDefined({ message: 'an object naming the form fields is expected' })
  @Requires<PaymentApprovalSettings>((s) => s.fields?.currency !== undefined || s.defaultCurrency !== undefined, {
    message: 'fields.currency or defaultCurrency is required',
  })
  @ValidateNested()
  @Type(() => PaymentFieldMap)
  fields!: PaymentFieldMap;

  /** The invoice form, for `npm run backfill` (the bot itself reads each task's own form). */
  @IsOptional()
  @IsInt({ message: 'a form id (a whole number) is expected' })
  formId?: number;

  /** When the form has no currency field. */
  @IsOptional()
  @IsString()
  defaultCurrency?: string;

  /** Probable duplicates: invoice dates at most this many days apart (default 30). */
  @IsOptional()
  @IsInt({ message: 'a whole number of days is expected' })
  @Min(0, { message: 'a whole number of days is expected' })
  duplicateWindowDays?: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentBudgetSettings)
  @Requires<PaymentApprovalSettings>((s) => s.budget?.scope !== 'cost_centre' || s.fields?.costCentre !== undefined, {
    message: 'fields.costCentre is required for a cost-centre budget',
  })
  budget?: PaymentBudgetSettings;

  /**
   * How a request that fails a check (a duplicate, the budget) goes back. `previous-step`, the default, asks the
   * persons of the nearest earlier step with a person on it to approve again (`approvals_rerequested`, protocol
   * section 3.1); on the first step, where there is none, the bot rejects. `reject` votes "rejected".
   * `rerequest-previous-step`, the earlier name of `previous-step`, is still accepted.
   */
  @IsOptional()
  @IsIn(['previous-step', 'reject', 'rerequest-previous-step'], { message: '"previous-step" (the default) or "reject" is expected' })
  returnTo?: 'previous-step' | 'reject' | 'rerequest-previous-step';

  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentTexts)
  texts?: PaymentTexts;

  /** After an approval: create the payment order in the ERP, then tell the task (and fill `documentField`). */
  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentErpSettings)
  erp?: PaymentErpSettings;

  /** After an approval: tell the vendor. Templates take {supplierName} {invoiceNumber} {invoiceDate} {amount} {currency} {taskId}. */
  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentNotifySettings)
  @Requires<PaymentApprovalSettings>((s) => !s.notify?.email || s.fields?.vendorEmail !== undefined, {
    message: 'fields.vendorEmail is required for e-mail notifications',
  })
  @Requires<PaymentApprovalSettings>((s) => !s.notify?.sms || s.fields?.vendorPhone !== undefined, {
    message: 'fields.vendorPhone is required for SMS notifications',
  })
  notify?: PaymentNotifySettings;
}
