import { applyDecorators, Controller, UseGuards, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ThrottlerGuard } from '@nestjs/throttler';
import { adminValidationPipe } from './admin-validation.pipe';
import { AdminAuthGuard } from './auth/admin-auth.guard';

/**
 * Everything an /admin controller needs, in one place so none can be forgotten: the rate limit (before the token
 * check, so guessing tokens is throttled too), the token and role check, and DTO validation. The audit log comes with
 * each change's @OperatorAction.
 */
export function AdminController(path: string, tag: string) {
  return applyDecorators(
    Controller(`admin/${path}`),
    ApiTags(tag),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'no valid admin token' }),
    ApiTooManyRequestsResponse({ description: 'over ADMIN_RATE_LIMIT requests per minute' }),
    UseGuards(ThrottlerGuard, AdminAuthGuard),
    UsePipes(adminValidationPipe),
  );
}
