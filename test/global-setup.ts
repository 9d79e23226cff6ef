import { prepareDatabase } from '../libs/database/src/schema-setup';
import { TEST_DATABASE_URL } from './support/test-env';

/** Migrates the test database once per run; refuses any database whose name does not say it is for tests. */
export default async function globalSetup(): Promise<void> {
  const name = new URL(TEST_DATABASE_URL).pathname.slice(1);
  if (!name.includes('test')) {
    throw new Error(`Refusing to run e2e tests against database "${name}": its name must contain "test"`);
  }
  await prepareDatabase(TEST_DATABASE_URL);
}
