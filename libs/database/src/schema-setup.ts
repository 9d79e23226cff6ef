import { Client } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './database-options';

/** Arbitrary, fixed: every replica asks for the same Postgres advisory lock before migrating. */
const MIGRATION_LOCK_ID = 727_001;

/** Creates the database named in the URL when it is missing (two replicas racing is fine). */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  // pg's own parser rather than WHATWG URL: a Unix socket (postgres://user@/db?host=/var/run/postgresql) has no host.
  const target = parseIntoClientConfig(url);
  const name = target.database;
  if (!name) throw new Error('DATABASE_URL names no database');
  const client = new Client({ ...target, database: 'postgres', connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (err) {
    // Another replica created it a moment ago: 42P04 if its commit came first, 23505 if both raced inside
    // pg_database's unique index.
    const code = (err as { code?: string }).code;
    if (code === '42P04' || code === '23505') return false;
    throw err;
  } finally {
    await client.end();
  }
}

/** Applies pending migrations while holding an advisory lock, so replicas starting together migrate once. */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await lockRunner.release();
  }
}

/** Creates the database if needed and migrates it; used at boot and by `npm run migration:run`. */
export async function prepareDatabase(url: string): Promise<{ created: boolean; applied: string[] }> {
  const created = await ensureDatabaseExists(url);
  const dataSource = new DataSource(buildDataSourceOptions(url, {}, 2));
  await dataSource.initialize();
  try {
    return { created, applied: await runMigrationsLocked(dataSource) };
  } finally {
    await dataSource.destroy();
  }
}
