import { Module } from '@nestjs/common';
import { IntegrationsModule } from '@app/integrations';
import { PyrusModule } from '@app/pyrus';
import { FormRegisterSearch } from './form-register-search';
import { PaymentApprovalHandler } from './payment-approval.handler';
import { PaymentFollowUps } from './payment-follow-ups';

/** The payment bot: its handler and what the handler uses (the register search, the ERP and the notifiers). */
@Module({
  imports: [PyrusModule, IntegrationsModule],
  providers: [PaymentApprovalHandler, FormRegisterSearch, PaymentFollowUps],
  exports: [PaymentApprovalHandler],
})
export class PaymentApprovalModule {
  static readonly handler = PaymentApprovalHandler;
}
