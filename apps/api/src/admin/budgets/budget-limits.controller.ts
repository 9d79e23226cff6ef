import { Body, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiForbiddenResponse, ApiNotFoundResponse, ApiOperation } from '@nestjs/swagger';
import { AdminController } from '../admin-controller.decorator';
import { AuditorAccess, OperatorAction } from '../auth/admin-access.decorator';
import { CreateBudgetLimitBody, UpdateBudgetLimitBody } from './budget-limits.dto';
import { BudgetLimitsService } from './budget-limits.service';

const uuid = new ParseUUIDPipe({ errorHttpStatusCode: 400 });

@AdminController('budget-limits', 'budget limits')
export class BudgetLimitsController {
  constructor(private readonly limits: BudgetLimitsService) {}

  @Get()
  @AuditorAccess()
  @ApiOperation({ summary: 'Every budget limit' })
  list() {
    return this.limits.list();
  }

  @Post()
  @HttpCode(201)
  @OperatorAction('create-budget-limit')
  @ApiOperation({ summary: 'A new limit for a supplier or cost centre, period and currency' })
  @ApiForbiddenResponse({ description: 'needs the operator role' })
  @ApiConflictResponse({ description: 'that scope, key, period and currency already has a limit' })
  create(@Body() body: CreateBudgetLimitBody) {
    return this.limits.create(body);
  }

  @Patch(':id')
  @HttpCode(200)
  @OperatorAction('update-budget-limit')
  @ApiOperation({ summary: 'Changes the amount, period or currency of a limit' })
  @ApiForbiddenResponse({ description: 'needs the operator role' })
  @ApiNotFoundResponse({ description: 'unknown limit id' })
  update(@Param('id', uuid) id: string, @Body() body: UpdateBudgetLimitBody) {
    return this.limits.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @OperatorAction('delete-budget-limit')
  @ApiOperation({ summary: 'Removes a limit' })
  @ApiForbiddenResponse({ description: 'needs the operator role' })
  @ApiNotFoundResponse({ description: 'unknown limit id' })
  async remove(@Param('id', uuid) id: string): Promise<void> {
    await this.limits.remove(id);
  }
}
