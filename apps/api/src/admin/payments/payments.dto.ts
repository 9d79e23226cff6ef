import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PaymentStatus } from '@app/database';
import { BOT_NAME, PageQuery } from '../common.dto';

export const PAYMENT_STATUSES: PaymentStatus[] = ['pending', 'approved', 'rejected', 'paid', 'cancelled'];

/** The filters of the list and of the CSV export. */
export class PaymentFilter {
  @ApiPropertyOptional({ description: 'bot name' })
  @IsOptional()
  @Matches(BOT_NAME, { message: 'bot must be a bot name (a-z, 0-9, -)' })
  bot?: string;

  @ApiPropertyOptional({ description: 'supplier key ("tax:7701234567", "name:acme ltd"), tax id, or name' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  supplier?: string;

  @ApiPropertyOptional({ description: 'invoice number; spaces, dashes, slashes, dots and case do not matter' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  invoiceNumber?: string;

  @ApiPropertyOptional({ enum: PAYMENT_STATUSES })
  @IsOptional()
  @IsIn(PAYMENT_STATUSES, { message: `status must be one of ${PAYMENT_STATUSES.join(', ')}` })
  status?: PaymentStatus;

  @ApiPropertyOptional({ description: 'decided at or after (ISO 8601)', example: '2026-07-01' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'decided before (ISO 8601)', example: '2026-10-01' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class ListPaymentsQuery extends IntersectionType(PaymentFilter, PageQuery) {}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
export const TOTAL_PERIODS = ['month', 'quarter', 'year'] as const;

export class PaymentTotalsQuery extends PageQuery {
  @ApiProperty({ description: 'first month, inclusive (UTC months of the decision)', example: '2026-07' })
  @Matches(MONTH, { message: 'from must be a month, YYYY-MM' })
  from: string;

  @ApiProperty({ description: 'last month, inclusive', example: '2026-09' })
  @Matches(MONTH, { message: 'to must be a month, YYYY-MM' })
  to: string;

  @ApiPropertyOptional({ enum: TOTAL_PERIODS, default: 'month' })
  @IsOptional()
  @IsIn(TOTAL_PERIODS, { message: `groupBy must be one of ${TOTAL_PERIODS.join(', ')}` })
  groupBy: (typeof TOTAL_PERIODS)[number] = 'month';

  @ApiPropertyOptional({ description: 'as in the list' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  supplier?: string;

  @ApiPropertyOptional({ enum: PAYMENT_STATUSES })
  @IsOptional()
  @IsIn(PAYMENT_STATUSES, { message: `status must be one of ${PAYMENT_STATUSES.join(', ')}` })
  status?: PaymentStatus;
}
