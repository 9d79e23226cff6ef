import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration } from '@app/config';
import { AuditLogService } from '../audit/audit-log.service';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminTokenVerifier } from './admin-token.verifier';

/** Tokens, roles and the audit log: shared by the admin controllers and the Bull Board pages. */
@Module({
  providers: [
    {
      provide: AdminTokenVerifier,
      inject: [ConfigService],
      useFactory: (config: ConfigService<AppConfiguration, true>) => new AdminTokenVerifier(config.get('admin', { infer: true }).tokens),
    },
    AuditLogService,
    AdminAuthGuard,
  ],
  exports: [AdminTokenVerifier, AuditLogService, AdminAuthGuard],
})
export class AdminAuthModule {}
