import { IsInt, IsOptional, Min } from 'class-validator';
import { CheckSettings } from '../payments/send-back';

/** The settings of a `duplicate-check` bot, validated at boot (docs/configuration.md lists each). */
export class DuplicateCheckSettings extends CheckSettings {
  /** Probable duplicates: invoice dates at most this many days apart (default 30). */
  @IsOptional()
  @IsInt({ message: 'a whole number of days is expected' })
  @Min(0, { message: 'a whole number of days is expected' })
  duplicateWindowDays?: number;
}
