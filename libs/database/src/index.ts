export * from './database.module';
export * from './database-options';
export * from './delivery-insert';
export * from './entities';
export * from './entity-rows';
export * from './prepared-statements';
export * from './schema-setup';
export { migrations } from './migrations';
export * from './advisory-lock';
