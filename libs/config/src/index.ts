export * from './admin-tokens';
export * from './app-config.module';
export * from './bots-file';
export * from './config.error';
export * from './configuration';
export * from './env.validation';
export * from './heap-growth';
