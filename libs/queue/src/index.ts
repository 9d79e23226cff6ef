export * from './queue.constants';
export * from './patient-retry';
export * from './queue.module';
export * from './redis.service';
export * from './redis-connection.monitor';
