export * from './erp/circuit-breaker';
export * from './erp/erp.client';
export * from './erp/erp.errors';
export * from './erp/erp.types';
