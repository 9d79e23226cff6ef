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
  const logger = new Logger('worker');
  const retired = RETIRED_VARIABLES.filter(([name]) => process.env[name] !== undefined);
  for (const [name, instead] of retired) logger.warn(`${name} is no longer read: set ${instead} instead`);
  logger.log(`worker running; health and metrics on port ${workerPort}`);
}

/** Variables an earlier version read, and what replaced them: a deployment that still sets one is told. */
const RETIRED_VARIABLES: Array<[string, string]> = [
  ['SWEEP_INTERVAL_MS', 'RECONCILE_INTERVAL_MS'],
  ['SWEEP_MIN_AGE_MS', 'RECONCILE_MIN_AGE_MS'],
];

// listen() starts the job processors before it binds the port: a worker that fails there closes first, which lets a job
// it took finish rather than stall.
main().catch((err) => exitAfterBootFailure({ name: 'worker', portVariable: 'WORKER_PORT' }, err, app));
