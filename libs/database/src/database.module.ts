import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfiguration } from '@app/config';
import { buildDataSourceOptions } from './database-options';
import { entities } from './entities';
import { prepareDatabase } from './schema-setup';

/**
 * TypeORM for the api and the worker. At boot it creates the database if missing and migrates it under an
 * advisory lock; it does not retry for long, so an orchestrator sees a failed start and restarts the process.
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: async (config: ConfigService<AppConfiguration, true>) => {
        const { url, preparedStatements } = config.get('database', { infer: true });
        await prepareDatabase(url);
        // A worker job holds up to three connections at once (its task lock, its decision's transaction, and a handler's
        // own statement committed apart, as the payment order bot's row): size for that.
        const poolSize = Math.max(20, 3 * config.get('queue', { infer: true }).concurrency + 5);
        return { ...buildDataSourceOptions(url, {}, poolSize, preparedStatements), retryAttempts: 2, retryDelay: 1000 };
      },
    }),
    TypeOrmModule.forFeature(entities),
  ],
  exports: [TypeOrmModule],
})
export class DatabaseModule {}
