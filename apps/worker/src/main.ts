import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration, limitHeapGrowth } from '@app/config';
import { createWorkerApp } from './bootstrap';
import { errorMessage } from '@app/observability';

async function main() {
  limitHeapGrowth();
  const app = await createWorkerApp();
  const config = app.get<ConfigService<AppConfiguration, true>>(ConfigService);
  const { workerPort } = config.get('app', { infer: true });
  await app.listen(workerPort);
  new Logger('worker').log(`worker running; health and metrics on port ${workerPort}`);
}

main().catch((err) => {
  new Logger('worker').error(errorMessage(err));
  process.exit(1);
});
