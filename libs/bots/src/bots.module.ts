import { Module } from '@nestjs/common';
import { PyrusModule } from '@app/pyrus';
import { BOT_HANDLERS, BotHandler } from './bot-handler';
import { BotRegistry } from './bot-registry.service';
import { DecisionMaker } from './decision-maker';
import { AutoReplyHandler } from './handlers/auto-reply.handler';
import { PaymentApprovalHandler } from './handlers/payment-approval.handler';

/** Every handler class; a new kind of bot is one file in handlers/ plus one entry here. */
const HANDLER_CLASSES = [AutoReplyHandler, PaymentApprovalHandler];

@Module({
  imports: [PyrusModule],
  providers: [
    ...HANDLER_CLASSES,
    { provide: BOT_HANDLERS, useFactory: (...handlers: BotHandler[]) => handlers, inject: HANDLER_CLASSES },
    BotRegistry,
    DecisionMaker,
  ],
  exports: [BotRegistry, DecisionMaker],
})
export class BotsModule {}
