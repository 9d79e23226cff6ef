import { Type } from 'class-transformer';
import { IsDefined, ValidateNested } from 'class-validator';
import { PaymentBudgetSettings } from '../payments/budget';
import { CheckSettings } from '../payments/send-back';
import { Requires } from '../settings-validation';

/** The settings of a `budget-check` bot, validated at boot (docs/configuration.md lists each). */
export class BudgetCheckSettings extends CheckSettings {
  @IsDefined({ message: 'an object with "scope" and "period" is expected' })
  @ValidateNested()
  @Type(() => PaymentBudgetSettings)
  @Requires<BudgetCheckSettings>((s) => s.budget?.scope !== 'cost_centre' || s.fields?.costCentre !== undefined, {
    message: 'fields.costCentre is required for a cost-centre budget',
  })
  budget!: PaymentBudgetSettings;
}
