import { Module } from '@nestjs/common';
import { PyrusModule } from '@app/pyrus';
import { FormRegisterSearch } from './form-register-search';
import { PaymentApprovalHandler } from './payment-approval.handler';

/** The payment bot: its handler and what the handler uses. */
@Module({
  imports: [PyrusModule],
  providers: [PaymentApprovalHandler, FormRegisterSearch],
  exports: [PaymentApprovalHandler],
})
export class PaymentApprovalModule {
  static readonly handler = PaymentApprovalHandler;
}
