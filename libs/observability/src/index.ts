export * from './all-exceptions.filter';
export * from './health.module';
export * from './logging.module';
export * from './redis.health';
export * from './health.controller';
export * from './error-message';
export * from './dependency-failure';
export * from './metrics';
