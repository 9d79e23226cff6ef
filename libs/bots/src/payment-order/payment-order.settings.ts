import { Type } from 'class-transformer';
import { IsNotEmpty, IsOptional, IsString, ValidateNested } from 'class-validator';
import type { FieldSelector } from '@app/pyrus';
import { InvoiceSettings } from '../payments/invoice';
import { IsFieldSelector, Requires } from '../settings-validation';

export class PaymentOrderErpSettings {
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

export class VendorEmailSettings {
  @IsString()
  @IsNotEmpty()
  subject!: string;

  @IsString()
  @IsNotEmpty()
  text!: string;
}

export class VendorSmsSettings {
  @IsString()
  @IsNotEmpty()
  text!: string;
}

export class VendorNotifySettings {
  @IsOptional()
  @ValidateNested()
  @Type(() => VendorEmailSettings)
  email?: VendorEmailSettings;

  @IsOptional()
  @ValidateNested()
  @Type(() => VendorSmsSettings)
  sms?: VendorSmsSettings;
}

export class PaymentOrderTexts {
  @IsOptional()
  @IsString()
  missingFields?: string;
}

/**
 * The settings of a `payment-order` bot, validated at boot (docs/configuration.md lists each): the invoice's fields,
 * and what the bot says and sends around the ERP order.
 */
export class PaymentOrderSettings extends InvoiceSettings {
  /** The comments around the ERP order, and the form field that receives its document id. */
  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentOrderErpSettings)
  erp?: PaymentOrderErpSettings;

  /** After the approval reached Pyrus: tell the vendor. Templates take {supplierName} {invoiceNumber} {invoiceDate} {amount} {currency} {taskId}. */
  @IsOptional()
  @ValidateNested()
  @Type(() => VendorNotifySettings)
  @Requires<PaymentOrderSettings>((s) => !s.notify?.email || s.fields?.vendorEmail !== undefined, {
    message: 'fields.vendorEmail is required for e-mail notifications',
  })
  @Requires<PaymentOrderSettings>((s) => !s.notify?.sms || s.fields?.vendorPhone !== undefined, {
    message: 'fields.vendorPhone is required for SMS notifications',
  })
  notify?: VendorNotifySettings;

  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentOrderTexts)
  texts?: PaymentOrderTexts;
}
