export * from './field-lookup';
export * from './field-values';
export * from './field-updates';
