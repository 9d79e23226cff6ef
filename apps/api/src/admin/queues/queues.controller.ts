import { Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiForbiddenResponse, ApiNotFoundResponse, ApiOperation, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { AdminController } from '../admin-controller.decorator';
import { AuditorAccess, OperatorAction } from '../auth/admin-access.decorator';
import { QueuesService } from './queues.service';

export class FailedJobsQuery {
  @ApiPropertyOptional({ minimum: 0, default: 0, description: 'offset in the failed list, newest first' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  start = 0;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit = 50;
}

@AdminController('queues', 'queues')
export class QueuesController {
  constructor(private readonly queues: QueuesService) {}

  @Get()
  @AuditorAccess()
  @ApiOperation({ summary: 'Job counts per state for each queue' })
  counts() {
    return this.queues.counts();
  }

  @Get(':name/failed')
  @AuditorAccess()
  @ApiOperation({ summary: 'Failed jobs of a queue with their reasons' })
  @ApiNotFoundResponse({ description: 'unknown queue' })
  failed(@Param('name') name: string, @Query() query: FailedJobsQuery) {
    return this.queues.failed(name, query.start, query.limit);
  }

  @Post(':name/failed/retry')
  @HttpCode(202)
  @OperatorAction('retry-all-failed-jobs')
  @ApiOperation({ summary: 'Retries every failed job of a queue' })
  @ApiForbiddenResponse({ description: 'needs the operator role' })
  retryAll(@Param('name') name: string) {
    return this.queues.retryAll(name);
  }

  @Post(':name/failed/:jobId/retry')
  @HttpCode(202)
  @OperatorAction('retry-failed-job')
  @ApiOperation({ summary: 'Retries one failed job' })
  @ApiForbiddenResponse({ description: 'needs the operator role' })
  @ApiNotFoundResponse({ description: 'unknown queue, or no failed job of that id' })
  retry(@Param('name') name: string, @Param('jobId') jobId: string) {
    return this.queues.retry(name, jobId);
  }
}
