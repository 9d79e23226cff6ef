import { DataSourceOptions } from 'typeorm';
import { entities } from './entities';
import { migrations } from './migrations';
import { PreparingClient } from './prepared-statements';

/**
 * The one options builder: used by the Nest module, the migration CLI and the tests. `preparedStatements`: false
 * behind a pooler that cannot keep named statements (PgBouncer in transaction mode before 1.21).
 */
export function buildDataSourceOptions(
  url: string,
  overrides: Partial<DataSourceOptions> = {},
  poolSize = 20,
  preparedStatements = true,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    // Fail fast when Postgres is down, so the webhook answers 503 quickly instead of hanging.
    extra: { max: poolSize, connectionTimeoutMillis: 5000, ...(preparedStatements ? { Client: PreparingClient } : {}) },
    ...overrides,
  } as DataSourceOptions;
}
