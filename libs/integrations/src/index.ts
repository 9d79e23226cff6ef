export * from './erp/circuit-breaker';
export * from './erp/erp.client';
export * from './erp/erp.errors';
export * from './erp/erp.types';
export * from './notifications/email.notifier';
export * from './notifications/message-template';
export * from './notifications/notification.types';
export * from './notifications/sms.notifier';
