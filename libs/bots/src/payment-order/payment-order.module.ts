import { Module } from '@nestjs/common';
import { IntegrationsModule } from '@app/integrations';
import { PaymentsModule } from '../payments/payments.module';
import { PaymentOrderFollowUps } from './payment-order.follow-ups';
import { PaymentOrderHandler } from './payment-order.handler';

/** The payment order bot: its handler and what it uses (the payment history, the ERP and the notifiers). */
@Module({
  imports: [PaymentsModule, IntegrationsModule],
  providers: [PaymentOrderHandler, PaymentOrderFollowUps],
  exports: [PaymentOrderHandler],
})
export class PaymentOrderModule {
  static readonly handler = PaymentOrderHandler;
}
