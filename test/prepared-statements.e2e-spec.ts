import { DataSource, QueryFailedError } from 'typeorm';
import { buildDataSourceOptions, prepared } from '@app/database';
import { TEST_DATABASE_URL } from './support/test-env';

/** Statements marked with `prepared` become named prepared statements on the service's pooled connections. */
describe('prepared statements', () => {
  const PLUS_ONE = prepared('SELECT $1::int + 1 AS n -- prepared-statements e2e');
  const DIVIDE = prepared('SELECT 100 / $1::int AS n -- prepared-statements e2e');
  const NOT_MARKED = 'SELECT $1::int * 2 AS n -- prepared-statements e2e';
  const namedOnConnection = (db: DataSource | { query: DataSource['query'] }) =>
    db.query<Array<{ statement: string }>>(`SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%prepared-statements e2e'`);

  // One connection, so every query below runs on it.
  async function openDb(preparedStatements: boolean): Promise<DataSource> {
    return new DataSource(buildDataSourceOptions(TEST_DATABASE_URL, {}, 1, preparedStatements)).initialize();
  }

  it('keeps the marked statements on the connection and runs them again with new values; other statements stay unnamed', async () => {
    const db = await openDb(true);
    try {
      expect(await db.query(PLUS_ONE, [1])).toEqual([{ n: 2 }]);
      expect(await db.query(PLUS_ONE, [41])).toEqual([{ n: 42 }]);
      expect(await db.query(DIVIDE, [4])).toEqual([{ n: 25 }]);
      expect(await db.query(NOT_MARKED, [21])).toEqual([{ n: 42 }]);
      expect((await namedOnConnection(db)).map((r) => r.statement).sort()).toEqual([DIVIDE, PLUS_ONE].sort());
    } finally {
      await db.destroy();
    }
  });

  it('works inside a transaction, and a failing statement still fails as TypeORM reports it', async () => {
    const db = await openDb(true);
    try {
      const inside = await db.transaction(async (em) => [await em.query(PLUS_ONE, [9]), await namedOnConnection(em)]);
      expect(inside).toEqual([[{ n: 10 }], [{ statement: PLUS_ONE }]]);
      const failure = await db.query(DIVIDE, [0]).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(QueryFailedError);
      expect((failure as QueryFailedError & { code?: string }).code).toBe('22012'); // division by zero
      expect(await db.query(DIVIDE, [5])).toEqual([{ n: 20 }]);
    } finally {
      await db.destroy();
    }
  });

  it('prepares nothing when turned off (DATABASE_PREPARED_STATEMENTS=false, for PgBouncer in transaction mode)', async () => {
    const db = await openDb(false);
    try {
      expect(await db.query(PLUS_ONE, [1])).toEqual([{ n: 2 }]);
      expect(await namedOnConnection(db)).toEqual([]);
    } finally {
      await db.destroy();
    }
  });
});
