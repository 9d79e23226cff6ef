import { DataSourceOptions } from 'typeorm';
import { entities } from './entities';
import { migrations } from './migrations';

/** The one options builder: used by the Nest module, the migration CLI and the tests. */
export function buildDataSourceOptions(url: string, overrides: Partial<DataSourceOptions> = {}, poolSize = 20): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    // Fail fast when Postgres is down, so the webhook answers 503 quickly instead of hanging.
    extra: { max: poolSize, connectionTimeoutMillis: 5000 },
    ...overrides,
  } as DataSourceOptions;
}
