import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { AuditInterceptor } from '../audit/audit.interceptor';
import { ADMIN_ACCESS, AdminAccess } from './admin-access.metadata';

/** Reading: any valid token. */
export const AuditorAccess = () => SetMetadata(ADMIN_ACCESS, { role: 'auditor' } satisfies AdminAccess);

/** A change, by an operator, recorded in the audit log under `action` (the interceptor only where there is a change). */
export const OperatorAction = (action: string) =>
  applyDecorators(SetMetadata(ADMIN_ACCESS, { role: 'operator', audit: action } satisfies AdminAccess), UseInterceptors(AuditInterceptor));
