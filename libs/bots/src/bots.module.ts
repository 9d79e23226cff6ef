import { Module, Type } from '@nestjs/common';
import { AutoReplyModule } from './auto-reply/auto-reply.module';
import { BOT_HANDLERS, BotHandler } from './bot-handler';
import { BotRegistry } from './bot-registry.service';
import { BudgetCheckModule } from './budget-check/budget-check.module';
import { DecisionMaker } from './decision-maker';
import { DuplicateCheckModule } from './duplicate-check/duplicate-check.module';
import { PaymentApprovalModule } from './payment-approval/payment-approval.module';
import { PaymentOrderModule } from './payment-order/payment-order.module';

/** A bot's module: it provides and exports its handler, and names the handler's class here. */
interface BotModule {
  readonly handler: Type<BotHandler>;
}

/** Every kind of bot: a new one is one folder under libs/bots/src and one line here. */
const BOT_MODULES = [
  AutoReplyModule,
  DuplicateCheckModule,
  BudgetCheckModule,
  PaymentApprovalModule,
  PaymentOrderModule,
] satisfies BotModule[];

@Module({
  imports: BOT_MODULES,
  providers: [
    { provide: BOT_HANDLERS, useFactory: (...handlers: BotHandler[]) => handlers, inject: BOT_MODULES.map((m) => m.handler) },
    BotRegistry,
    DecisionMaker,
  ],
  exports: [BotRegistry, DecisionMaker],
})
export class BotsModule {}
