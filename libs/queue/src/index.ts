export * from './queue.constants';
export * from './queue.module';
export * from './redis.service';
export * from './redis-connection.monitor';
