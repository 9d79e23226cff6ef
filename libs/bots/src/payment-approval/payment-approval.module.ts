import { Module } from '@nestjs/common';
import { IntegrationsModule } from '@app/integrations';
import { PaymentsModule } from '../payments/payments.module';
import { PaymentApprovalHandler } from './payment-approval.handler';
import { PaymentFollowUps } from './payment-follow-ups';

/** The payment-approval preset: its handler and what the handler uses (the register search, the ERP and the notifiers). */
@Module({
  imports: [PaymentsModule, IntegrationsModule],
  providers: [PaymentApprovalHandler, PaymentFollowUps],
  exports: [PaymentApprovalHandler],
})
export class PaymentApprovalModule {
  static readonly handler = PaymentApprovalHandler;
}
