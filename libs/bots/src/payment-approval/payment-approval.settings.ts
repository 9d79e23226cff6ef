import { Type } from 'class-transformer';
import { IsInt, IsOptional, Min, ValidateNested } from 'class-validator';
import { PaymentBudgetSettings } from '../payments/budget';
import { CheckSettings } from '../payments/send-back';
import { Requires } from '../settings-validation';

const ELSEWHERE = (what: string) =>
  `${what} to a "payment-order" bot on its own stage after the people's approval; move this setting there`;

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

  /** Refused: the ERP order is a `payment-order` bot's, on its own stage after the people's approval. */
  @Requires<PaymentApprovalSettings>((s) => s.erp === undefined, { message: ELSEWHERE('the ERP order belongs') })
  erp?: never;

  /** Refused: the vendor notifications are a `payment-order` bot's. */
  @Requires<PaymentApprovalSettings>((s) => s.notify === undefined, { message: ELSEWHERE('the vendor notifications belong') })
  notify?: never;
}
