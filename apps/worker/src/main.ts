import 'reflect-metadata';
import { INestApplication, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfiguration, limitHeapGrowth } from '@app/config';
import { exitAfterBootFailure } from '@app/observability';
import { createWorkerApp } from './bootstrap';

let app: INestApplication | undefined;

async function main() {
  limitHeapGrowth();
  app = await createWorkerApp();
  const config = app.get<ConfigService<AppConfiguration, true>>(ConfigService);
  const { workerPort } = config.get('app', { infer: true });
  await app.listen(workerPort);
  new Logger('worker').log(`worker running; health and metrics on port ${workerPort}`);
}

// listen() starts the job processors before it binds the port: a worker that fails there closes first, which lets a job
// it took finish rather than stall.
main().catch((err) => exitAfterBootFailure({ name: 'worker', portVariable: 'WORKER_PORT' }, err, app));
