import { Get, Query } from '@nestjs/common';
import { ApiOperation, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import { AdminController } from '../admin-controller.decorator';
import { AuditorAccess } from '../auth/admin-access.decorator';
import { PageQuery } from '../common.dto';
import { AuditLogService, AuditOutcome } from './audit-log.service';

const OUTCOMES: AuditOutcome[] = ['succeeded', 'failed', 'denied'];

export class AuditLogQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'token name' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  actor?: string;

  @ApiPropertyOptional({ example: 'replay-delivery' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  action?: string;

  @ApiPropertyOptional({ enum: OUTCOMES })
  @IsOptional()
  @IsIn(OUTCOMES, { message: `outcome must be one of ${OUTCOMES.join(', ')}` })
  outcome?: AuditOutcome;

  @ApiPropertyOptional({ description: 'ISO 8601, inclusive' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'ISO 8601, exclusive' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

@AdminController('audit-log', 'audit log')
export class AuditLogController {
  constructor(private readonly audit: AuditLogService) {}

  @Get()
  @AuditorAccess()
  @ApiOperation({ summary: 'Admin changes and refused attempts, newest first; the log cannot be edited' })
  list(@Query() query: AuditLogQuery) {
    return this.audit.list({
      ...query,
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
    });
  }
}
