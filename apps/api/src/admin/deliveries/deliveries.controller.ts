import { Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiForbiddenResponse, ApiNotFoundResponse, ApiOperation } from '@nestjs/swagger';
import { AdminController } from '../admin-controller.decorator';
import { AuditorAccess, OperatorAction } from '../auth/admin-access.decorator';
import { DeliveriesQueryService } from './deliveries-query.service';
import { ListDeliveriesQuery, ReplayQuery } from './deliveries.dto';
import { ReplayService } from './replay.service';

const uuid = new ParseUUIDPipe({ errorHttpStatusCode: 400 });

@AdminController('deliveries', 'deliveries')
export class DeliveriesController {
  constructor(
    private readonly deliveries: DeliveriesQueryService,
    private readonly replays: ReplayService,
  ) {}

  @Get()
  @AuditorAccess()
  @ApiOperation({ summary: 'Deliveries, newest first, with filters and cursor pagination' })
  list(@Query() query: ListDeliveriesQuery) {
    return this.deliveries.list(query);
  }

  @Get(':id')
  @AuditorAccess()
  @ApiOperation({ summary: 'One delivery: headers, redacted payload, decision, job attempts and outbound calls' })
  @ApiNotFoundResponse({ description: 'unknown delivery id' })
  get(@Param('id', uuid) id: string) {
    return this.deliveries.get(id);
  }

  @Post(':id/replay')
  @HttpCode(202)
  @OperatorAction('replay-delivery')
  @ApiOperation({
    summary: 'Runs a failed or skipped delivery through its handler again; ?dryRun=true returns the decision and writes nothing',
  })
  @ApiForbiddenResponse({ description: 'needs the operator role' })
  @ApiNotFoundResponse({ description: 'unknown delivery id' })
  replay(@Param('id', uuid) id: string, @Query() query: ReplayQuery) {
    return query.dryRun ? this.replays.dryRun(id) : this.replays.replay(id);
  }
}
