import 'reflect-metadata';
import { INestApplication, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration, limitHeapGrowth } from '@app/config';
import { exitAfterBootFailure } from '@app/observability';
import { createApiApp } from './bootstrap';

let app: INestApplication | undefined;

async function main() {
  limitHeapGrowth();
  app = await createApiApp();
  const logger = new Logger('api');
  const config = app.get<ConfigService<AppConfiguration, true>>(ConfigService);
  const { port } = config.get('app', { infer: true });
  const { isExample, path } = config.get('bots', { infer: true });
  if (isExample) logger.warn(`No config/bots.json: using the example bots file ${path}`);
  if (config.get('admin', { infer: true }).tokens.length === 0) {
    logger.warn('ADMIN_TOKENS is not set: the admin API (/admin) refuses every request (npm run admin:token makes one)');
  }
  await app.listen(port);
  logger.log(`api listening on port ${port}`);
}

main().catch((err) => exitAfterBootFailure({ name: 'api', portVariable: 'PORT' }, err, app));
