import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { buildConfiguration } from '@app/config';
import { prepareDatabase } from './schema-setup';

/** `npm run migration:run`: create the database if missing and apply pending migrations. */
async function main() {
  const logger = new Logger('Migrations');
  const { database } = buildConfiguration(process.env);
  const { created, applied } = await prepareDatabase(database.url);
  if (created) logger.log('Created the database');
  logger.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Schema is up to date');
}

main().catch((err) => {
  new Logger('Migrations').error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
