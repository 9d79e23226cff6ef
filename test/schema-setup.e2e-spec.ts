import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { ensureDatabaseExists, prepareDatabase } from '@app/database';
import { TEST_DATABASE_URL } from './support/test-env';

describe('database creation and migrations at boot', () => {
  const scratch = new URL(TEST_DATABASE_URL);
  scratch.pathname = `/pyrus_bots_test_boot_${process.pid}`;
  const admin = new URL(TEST_DATABASE_URL);
  admin.pathname = '/postgres';

  async function dropScratch() {
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${scratch.pathname.slice(1)}" WITH (FORCE)`);
    await client.end();
  }

  beforeEach(dropScratch);
  afterAll(dropScratch);

  it('lets several replicas create the same missing database at once', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureDatabaseExists(scratch.toString())));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  // PostgreSQL on the same machine, through its Unix socket: a libpq-style URL with no host, which WHATWG URL rejects.
  const socketDir = process.env.TEST_PG_SOCKET_DIR ?? '/var/run/postgresql';
  (existsSync(socketDir) ? it : it.skip)('creates a missing database named in a Unix-socket URL', async () => {
    const url = `postgres://${encodeURIComponent(scratch.username)}@/${scratch.pathname.slice(1)}?host=${encodeURIComponent(socketDir)}`;
    expect(await ensureDatabaseExists(url)).toBe(true);
    expect(await ensureDatabaseExists(url)).toBe(false);
    const client = new Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('SELECT current_database() AS db');
    await client.end();
    expect(rows[0].db).toBe(scratch.pathname.slice(1));
  });

  it('migrates once when several replicas start together, and a second start applies nothing', async () => {
    const runs = await Promise.all(Array.from({ length: 4 }, () => prepareDatabase(scratch.toString())));
    const applied = runs.flatMap((r) => r.applied);
    expect(applied.length).toBeGreaterThan(0);
    expect(new Set(applied).size).toBe(applied.length);
    expect((await prepareDatabase(scratch.toString())).applied).toEqual([]);
    const client = new Client({ connectionString: scratch.toString() });
    await client.connect();
    const { rows } = await client.query(`SELECT to_regclass('deliveries') AS t`);
    await client.end();
    expect(rows[0].t).toBe('deliveries');
  });
});
