export * from './bot-handler';
export * from './bot-registry.service';
export * from './bots.module';
export * from './decision-claim';
export * from './decision-maker';
export * from './handlers/auto-reply.handler';
export * from './handlers/payment-approval.handler';
export * from './payments/payment-history';
