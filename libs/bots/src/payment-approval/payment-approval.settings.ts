import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import type { FieldSelector } from '@app/pyrus';
import { PaymentBudgetSettings } from '../payments/budget';
import { CheckSettings } from '../payments/send-back';
import { IsFieldSelector, Requires } from '../settings-validation';

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

/**
 * The settings of a `payment-approval` bot, validated at boot (docs/configuration.md lists each): the duplicate check
 * and the budget check of one stage, in one vote.
 */
export class PaymentApprovalSettings extends CheckSettings {
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
