import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module';
import { PaymentApprovalHandler } from './payment-approval.handler';

/** The payment-approval preset: its handler and what the handler uses (the register search). */
@Module({
  imports: [PaymentsModule],
  providers: [PaymentApprovalHandler],
  exports: [PaymentApprovalHandler],
})
export class PaymentApprovalModule {
  static readonly handler = PaymentApprovalHandler;
}
