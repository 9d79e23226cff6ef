import { Get, Param, ParseIntPipe, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { AdminController } from '../admin-controller.decorator';
import { AuditorAccess } from '../auth/admin-access.decorator';
import { BOT_NAME } from '../common.dto';
import { TaskTimelineService } from './task-timeline.service';

export class TimelineQuery {
  @ApiPropertyOptional({ description: 'bot name; every configured bot when absent' })
  @IsOptional()
  @Matches(BOT_NAME, { message: 'bot must be a bot name (a-z, 0-9, -)' })
  bot?: string;
}

@AdminController('tasks', 'tasks')
export class TasksController {
  constructor(private readonly timelines: TaskTimelineService) {}

  @Get(':taskId/timeline')
  @AuditorAccess()
  @ApiOperation({
    summary:
      'Everything done with one task, in time order: deliveries, job attempts, decisions, Pyrus and ERP calls, payments, notifications',
  })
  @ApiNotFoundResponse({ description: 'nothing is recorded for the task' })
  timeline(@Param('taskId', new ParseIntPipe({ errorHttpStatusCode: 400 })) taskId: number, @Query() query: TimelineQuery) {
    return this.timelines.timeline(taskId, query.bot);
  }
}
