import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { BudgetPeriod, BudgetScope } from '@app/database';

const SCOPES: BudgetScope[] = ['supplier', 'cost_centre'];
const PERIODS: BudgetPeriod[] = ['month', 'quarter', 'year'];
const AMOUNT = /^\d{1,16}(\.\d{1,2})?$/;
const upper = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value);
/** Amounts as decimal strings (or JSON numbers), never floats in the database. */
const decimal = ({ value }: { value: unknown }) => (typeof value === 'number' ? String(value) : value);

export class CreateBudgetLimitBody {
  @ApiProperty({ enum: SCOPES })
  @IsIn(SCOPES, { message: `scope must be one of ${SCOPES.join(', ')}` })
  scope: BudgetScope;

  @ApiProperty({ description: 'supplier: "tax:<tax id>" or "name:<normalised name>"; cost_centre: its code', example: 'tax:7701234567' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  scopeKey: string;

  @ApiProperty({ enum: PERIODS })
  @IsIn(PERIODS, { message: `period must be one of ${PERIODS.join(', ')}` })
  period: BudgetPeriod;

  @ApiProperty({ example: 'RUB' })
  @Transform(upper)
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a three-letter code' })
  currency: string;

  @ApiProperty({ example: '1500000.00', description: 'decimal, at most two places' })
  @Transform(decimal)
  @Matches(AMOUNT, { message: 'amount must be a non-negative decimal with at most two places' })
  amount: string;
}

export class UpdateBudgetLimitBody {
  @ApiPropertyOptional({ enum: PERIODS })
  @IsOptional()
  @IsIn(PERIODS, { message: `period must be one of ${PERIODS.join(', ')}` })
  period?: BudgetPeriod;

  @ApiPropertyOptional({ example: 'RUB' })
  @IsOptional()
  @Transform(upper)
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a three-letter code' })
  currency?: string;

  @ApiPropertyOptional({ example: '2000000.00' })
  @IsOptional()
  @Transform(decimal)
  @Matches(AMOUNT, { message: 'amount must be a non-negative decimal with at most two places' })
  amount?: string;
}
