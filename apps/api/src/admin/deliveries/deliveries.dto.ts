import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsEnum, IsInt, IsISO8601, IsOptional, Matches, Min } from 'class-validator';
import { DeliveryStatus } from '@app/database';
import { BOT_NAME, PageQuery } from '../common.dto';

export class ListDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'bot name' })
  @IsOptional()
  @Matches(BOT_NAME, { message: 'bot must be a bot name (a-z, 0-9, -)' })
  bot?: string;

  @ApiPropertyOptional({ description: 'Pyrus task id' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  taskId?: number;

  @ApiPropertyOptional({ enum: DeliveryStatus })
  @IsOptional()
  @IsEnum(DeliveryStatus)
  status?: DeliveryStatus;

  @ApiPropertyOptional({ description: 'ISO 8601, inclusive', example: '2026-07-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true })
  receivedFrom?: string;

  @ApiPropertyOptional({ description: 'ISO 8601, exclusive', example: '2026-10-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true })
  receivedTo?: string;
}

export class ReplayQuery {
  @ApiPropertyOptional({ description: 'true: return the decision it would make, and write nothing anywhere', default: false })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun = false;
}
